/** fitting/: objectives and drivers for adaptive surface fitting (image registration will join them). */

export * from "../primitives/thbPrimitive.js";
export * from "./surface/fitSurface.js";
export * from "./surface/gradientFit.js";
export * from "./surface/normalEquations.js";
export * from "./surface/parametrize.js";
