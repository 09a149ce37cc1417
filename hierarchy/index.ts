/** hierarchy/: THB spaces — levels, domains, active functions, truncation, refinement, compile() to a flat plan. */
export * from "./admissibility.js";
export * from "./cellTree.js";
export * from "./errors.js";
export * from "./extraction.js";
export * from "./levelGrid.js";
export * from "./plan.js";
export * from "./refinement.js";
export * from "./thbSpace.js";
