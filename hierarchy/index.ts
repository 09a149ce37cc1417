/** hierarchy/: THB spaces — levels, domains, active functions, truncation, refinement, compile() to a flat plan. */

export * from "../fields/thbField.js";
export * from "../io/serialization.js";
export * from "../kernels/cpu/elementOrder.js";
export * from "../kernels/cpu/planEvaluate.js";
export * from "../kernels/cpu/surfaceEvaluate.js";
export * from "./admissibility.js";
export * from "./cellTree.js";
export * from "./errors.js";
export * from "./extraction.js";
export * from "./levelGrid.js";
export * from "./plan.js";
export * from "./refinement.js";
export * from "./thbSpace.js";
