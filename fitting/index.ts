/** fitting/: objectives and drivers for adaptive surface fitting (image registration will join them). */
export * from "./fitSurface.js";
export * from "./gradientFit.js";
export * from "./normalEquations.js";
export * from "./parametrize.js";
export * from "./thbPrimitive.js";
