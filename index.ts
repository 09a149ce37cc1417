/** thbspline: a differentiable THB-spline geometry engine; this entry re-exports the public layers. */
export * from "./splines/index.js";
