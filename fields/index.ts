/** fields/: THB fields — a space plus coefficients, evaluated on the CPU, carried over exactly through refinement. */
export * from "./thbField.js";
