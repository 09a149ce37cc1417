/** splines/: knot vectors, B-spline basis functions and derivatives, tensor-product and rational splines, refinement. */
export * from "./basis.js";
export * from "./bicubicEvaluate.js";
export * from "./bspline.js";
export * from "./errors.js";
export * from "./knotInsertion.js";
export * from "./knotVector.js";
export * from "./nurbs.js";
export * from "./refinement.js";
export * from "./spanLocator.js";
export * from "./tensorBasis.js";
export * from "./tensorEvaluate.js";
export * from "./tessellation.js";
