/** fitting/: objectives and drivers for surface fitting and image registration with adaptive refinement. */
export * from "./fitSurface.js";
export * from "./normalEquations.js";
export * from "./parametrize.js";
export * from "./thbPrimitive.js";
