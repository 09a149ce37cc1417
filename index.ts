/** thbspline: a differentiable THB-spline geometry engine; this entry re-exports the public layers. */
export * from "./autodiff/index.js";
export * from "./fitting/index.js";
export * from "./hierarchy/index.js";
export * from "./io/index.js";
export * from "./kernels/index.js";
export * from "./splines/index.js";
