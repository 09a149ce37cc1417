/**
 * Tensor-product B-spline functions from 1, 2 or 3 parameters to R^dim: curves, surfaces and volumes.
 * `control  #functions by dim`, rows in TensorBasis order (first direction fastest).
 */
import { evaluateBicubicValues } from "./bicubicEvaluate.js";
import { ArgumentError } from "./errors.js";
import { derivativeCount, TensorBasis, validateDerivativeOrder } from "./tensorBasis.js";
import { evaluateSurfaceValues, evaluateTensorDerivatives } from "./tensorEvaluate.js";

/** Plain description of a B-spline, as users write it. */
export interface BSplineDescription {
  /** Degree per parametric direction (one entry: curve; two: surface; three: volume). */
  degrees: readonly number[];
  /** Knot vector per parametric direction. */
  knots: readonly ArrayLike<number>[];
  /** `#functions by dim`, first direction fastest. */
  control: ArrayLike<number>;
  /** Output dimension; inferred from the control length when omitted. */
  dim?: number;
}

/** A tensor-product B-spline curve, surface or volume with control points in R^dim. */
export class BSpline {
  readonly basis: TensorBasis;
  readonly control: Float64Array;
  readonly dim: number;

  constructor(basis: TensorBasis, control: ArrayLike<number>) {
    this.basis = basis;
    this.dim = basis.validateControl(control);
    this.control = Float64Array.from(control);
  }

  /** Builds a B-spline from degrees, knots and control points, validating all of them. */
  static create(description: BSplineDescription): BSpline {
    const basis = new TensorBasis(description.degrees, description.knots);
    const spline = new BSpline(basis, description.control);
    if (description.dim !== undefined && description.dim !== spline.dim) {
      throw new ArgumentError(
        `control holds ${spline.dim} numbers per function but dim is ${description.dim} (expected ${basis.size} × ${description.dim} numbers)`,
      );
    }
    return spline;
  }

  /** Number of parametric directions (1 curve, 2 surface, 3 volume). */
  get parametricDimension(): number {
    return this.basis.dimension;
  }

  /** Points `#points by dim` at `params  #points by d`. */
  evaluate(params: ArrayLike<number>, out?: Float64Array): Float64Array {
    const count = this.basis.validateParameters(params);
    const target = checkOut(out, count * this.dim);
    const { dimension, degrees } = this.basis;
    if (dimension === 2 && degrees[0] === 3 && degrees[1] === 3) {
      return evaluateBicubicValues(this.basis, this.control, this.dim, params, target);
    }
    if (dimension === 2) return evaluateSurfaceValues(this.basis, this.control, this.dim, params, target);
    return evaluateTensorDerivatives(this.basis, this.control, this.dim, params, 0, target);
  }

  /**
   * Values and derivatives up to `order` (0–2), `out  #points by blocks by dim` with blocks in
   * derivativeMultiIndices order: S, S_u, S_v, S_uu, S_vv, S_uv for surfaces.
   */
  derivatives(params: ArrayLike<number>, order: number, out?: Float64Array): Float64Array {
    validateDerivativeOrder(order);
    const count = this.basis.validateParameters(params);
    const blocks = derivativeCount(this.basis.dimension, order);
    const target = checkOut(out, count * blocks * this.dim);
    return evaluateTensorDerivatives(this.basis, this.control, this.dim, params, order, target);
  }
}

/** Returns out, or a new array, after checking its length. */
export function checkOut(out: Float64Array | undefined, length: number): Float64Array {
  if (out === undefined) return new Float64Array(length);
  if (!(out instanceof Float64Array) || out.length < length) {
    throw new ArgumentError(`out must be a Float64Array of at least ${length} numbers, got ${out?.length}`);
  }
  return out;
}
