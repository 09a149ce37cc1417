/** fitting/: objectives and drivers, one room each — surface/ (point clouds); image registration will join them. */
export * from "./surface/fitSurface.js";
export * from "./surface/gradientFit.js";
export * from "./surface/normalEquations.js";
export * from "./surface/parametrize.js";
