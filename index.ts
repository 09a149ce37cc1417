/** thbspline: a differentiable THB-spline geometry engine; this entry re-exports the public layers. */

export * from "./hierarchy/index.js";
export * from "./splines/index.js";
