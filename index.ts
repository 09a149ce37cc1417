/// <reference types="@webgpu/types" preserve="true" />
/**
 * thbspline: a differentiable THB-spline geometry engine. This entry is the curated, browser-safe public API
 * (what the README documents): B-splines, THB spaces and fields, refinement, compile, the autodiff API and
 * its primitives, fitting, backend selection, file formats that need no file system, and the named errors.
 * Node-only file access is under `thbspline/node`, WebGPU internals under `thbspline/webgpu`.
 */

// ---- autodiff: tensors, ops, gradients, custom primitives, optimisers ----------------------------------
export {
  abs,
  add,
  broadcastTo,
  clamp,
  concat,
  div,
  dot,
  exp,
  gather,
  log,
  matmul,
  maximum,
  mean,
  minimum,
  mul,
  neg,
  pow,
  reshape,
  scatterAdd,
  slice,
  sqrt,
  square,
  sub,
  sum,
  type TensorLike,
  transpose,
  where,
} from "./autodiff/api.js";
export { defineOp, type OpDefinition, type OpImplementation } from "./autodiff/customOp.js";
export {
  backward,
  grad,
  hessianVectorProduct,
  stopGradient,
  type Tree,
  valueAndGrad,
} from "./autodiff/grad.js";
export { type GradcheckOptions, type GradcheckResult, gradcheck } from "./autodiff/gradcheck.js";
export {
  type IterationEntry,
  type MinimizeOptions,
  type MinimizeResult,
  minimize,
  minimizeAsync,
  OptimizationError,
} from "./autodiff/optimize.js";
export {
  DeviceTensorError,
  type DType,
  dispose,
  scalar,
  scope,
  Tensor,
  tensor,
  type Values,
  zeros,
} from "./autodiff/tensor.js";
// ---- fields: the one way to evaluate a field is `field.evaluate(params, order)` -----------------------
export {
  DisplacementTransform,
  type InverseOptions,
  identityAffine,
} from "./fields/displacementTransform.js";
export {
  createImage,
  type Image,
  type ImageGeometry,
  indexToPhysical,
  type PixelData,
  physicalToIndex,
} from "./fields/image.js";
export { THBField } from "./fields/thbField.js";
export { checkerboard, displacementMap, jacobianPreview } from "./fields/transformMaps.js";
export {
  type InitialAlignment,
  type InitialAlignmentOptions,
  type InitialAlignmentReport,
  type InitialKind,
  initialAlignment,
} from "./fitting/registration/initialAlignment.js";
export {
  type LevelReport,
  type RefineSchedule,
  type RegistrationOptions,
  type RegistrationProgress,
  type RegistrationReport,
  type RegistrationResult,
  registerImages,
} from "./fitting/registration/registerImages.js";
// ---- fitting ---------------------------------------------------------------------------------------------
export {
  DEFAULT_REGULARIZATION,
  type FitIteration,
  type FitOptions,
  type FitResult,
  fitSurface,
  fitSurfaceAsync,
} from "./fitting/surface/fitSurface.js";
export type { FitLoss } from "./fitting/surface/gradientFit.js";
export { projectOntoBestFitPlane } from "./fitting/surface/parametrize.js";
// ---- THB spaces, refinement, compile ---------------------------------------------------------------------
export { HierarchyError } from "./hierarchy/errors.js";
export { compile, type EvaluationPlan } from "./hierarchy/plan.js";
export type { CompiledSpace } from "./hierarchy/planReuse.js";
export {
  type Box,
  type CoarsenResult,
  coarsenElements,
  type ElementRequest,
  type RefineOptions,
  refineAtPoints,
  refineBoxes,
  refineElements,
} from "./hierarchy/refinement.js";
export { type ElementRef, THBSpace, type THBSpaceOptions } from "./hierarchy/thbSpace.js";
// ---- file formats (no file system: strings and bytes) ----------------------------------------------------
export { FormatError } from "./io/errors.js";
export { parseGismoHierarchy, writeGismoHierarchy } from "./io/gismoXml.js";
export type { FieldDescription, HierarchyDescription } from "./io/hierarchyDescription.js";
export { meshToObj, meshToPly, meshToStl, type TriangleMesh } from "./io/mesh.js";
export { type DecodedImage, decodePngImage, encodePngImage } from "./io/png.js";
export { type PointCloud, parseGismoPointCloud, parsePly, parseXyz } from "./io/pointCloud.js";
export { fieldFromDescription, fieldFromJson, fieldToJson } from "./io/serialization.js";
export { transformFromJson, transformToJson } from "./io/transformJson.js";
export type { Interpolation, ScalarImage } from "./kernels/cpu/imageKernels.js";
// ---- backends --------------------------------------------------------------------------------------------
export { type Backend, type BackendKind, cpuBackend, selectBackend } from "./primitives/backend.js";
// ---- differentiable primitives ---------------------------------------------------------------------------
export {
  type HistogramSpec,
  imageSampler,
  jointHistogram,
  mutualInformation,
  normalizedCrossCorrelation,
} from "./primitives/imagePrimitives.js";
export {
  PointSetError,
  pointSetFits,
  type ResidualLossOptions,
  type ThbPointSet,
} from "./primitives/thbPointSet.js";
export { type ThbGrid, type ThbOps, thbGrid, thbOps } from "./primitives/thbPrimitive.js";
// ---- B-splines -------------------------------------------------------------------------------------------
export { basisFunctionDerivatives, basisFunctions } from "./splines/basis.js";
export { BSpline, type BSplineDescription } from "./splines/bspline.js";
export { ArgumentError, DegreeError, KnotVectorError, NumericalError } from "./splines/errors.js";
export { insertKnot, refineBSpline } from "./splines/knotInsertion.js";
export {
  dyadicRefine,
  findSpan,
  grevilleAbscissae,
  knotDomain,
  uniformKnotVector,
  validateKnotVector,
} from "./splines/knotVector.js";
export { Nurbs, type NurbsDescription } from "./splines/nurbs.js";
export { refinementMatrix } from "./splines/refinement.js";
export { SpanLocator } from "./splines/spanLocator.js";
export { type SurfaceMesh, tessellateSurface } from "./splines/tessellation.js";
