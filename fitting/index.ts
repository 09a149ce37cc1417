/** fitting/: objectives and drivers for surface fitting and image registration with adaptive refinement. */
export * from "./thbPrimitive.js";
