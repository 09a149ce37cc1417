/**
 * Tensor-product B-spline bases in 1, 2 or 3 parametric directions.
 * Functions are numbered with the first direction fastest: index = i0 + n0 * (i1 + n1 * i2),
 * the convention of G+Smo; control rows follow the same order.
 */
import { ArgumentError } from "./errors.js";
import { validateKnotVector } from "./knotVector.js";
import { SpanLocator } from "./spanLocator.js";

/** Highest derivative order the evaluators support (first and second derivatives). */
export const MAX_DERIVATIVE_ORDER = 2;

/**
 * Multi-indices of all partial derivatives up to `order`, in output order:
 * value; then ∂/∂x_k for each direction k; then pure seconds ∂²/∂x_k² for each k; then mixed
 * ∂²/∂x_i∂x_j for i < j (2D: uu, vv, uv; 3D: uu, vv, ww, uv, uw, vw).
 */
export function derivativeMultiIndices(dimension: number, order: number): number[][] {
  const list: number[][] = [new Array(dimension).fill(0)];
  if (order >= 1) {
    for (let k = 0; k < dimension; k++) {
      const m = new Array(dimension).fill(0);
      m[k] = 1;
      list.push(m);
    }
  }
  if (order >= 2) {
    for (let k = 0; k < dimension; k++) {
      const m = new Array(dimension).fill(0);
      m[k] = 2;
      list.push(m);
    }
    for (let i = 0; i < dimension; i++) {
      for (let j = i + 1; j < dimension; j++) {
        const m = new Array(dimension).fill(0);
        m[i] = 1;
        m[j] = 1;
        list.push(m);
      }
    }
  }
  return list;
}

/** Number of derivative blocks up to `order` in `dimension` directions (1, 1+d, 1+d+d(d+1)/2). */
export function derivativeCount(dimension: number, order: number): number {
  return derivativeMultiIndices(dimension, order).length;
}

/** The block of ∂²/∂x_k∂x_l in derivativeMultiIndices order (pure seconds, then mixed pairs i < j). */
export function secondDerivativeBlock(dimension: number, k: number, l: number): number {
  if (k === l) return 1 + dimension + k;
  const [a, b] = k < l ? [k, l] : [l, k];
  // mixed pairs (i, j), i < j, in order: those with i < a, then (a, a+1 … b)
  return 1 + 2 * dimension + a * dimension - (a * (a + 1)) / 2 + (b - a - 1);
}

/** Throws unless order is 0, 1 or 2. */
export function validateDerivativeOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_DERIVATIVE_ORDER) {
    throw new ArgumentError(`order must be 0, 1 or 2, got ${order}`);
  }
}

/** A tensor-product B-spline basis: one degree and one knot vector per parametric direction. */
export class TensorBasis {
  /** Number of parametric directions d (1, 2 or 3). */
  readonly dimension: number;
  readonly degrees: readonly number[];
  readonly knots: readonly Float64Array[];
  /** Functions per direction. */
  readonly sizes: readonly number[];
  /** Total number of tensor-product functions. */
  readonly size: number;
  /** Lower and upper domain bounds per direction. */
  readonly lower: Float64Array;
  readonly upper: Float64Array;
  readonly locators: readonly SpanLocator[];

  constructor(degrees: readonly number[], knots: readonly ArrayLike<number>[]) {
    if (!Array.isArray(degrees) || degrees.length < 1 || degrees.length > 3) {
      throw new ArgumentError(`degrees must list 1 to 3 degrees, got ${JSON.stringify(degrees)}`);
    }
    if (!Array.isArray(knots) || knots.length !== degrees.length) {
      throw new ArgumentError(`knots must list ${degrees.length} knot vectors, one per degree`);
    }
    this.dimension = degrees.length;
    this.degrees = degrees.slice();
    this.knots = knots.map((k, i) => validateKnotVector(k, degrees[i], { name: `knots[${i}]` }));
    this.sizes = this.knots.map((k, i) => k.length - degrees[i] - 1);
    this.size = this.sizes.reduce((a, b) => a * b, 1);
    this.lower = Float64Array.from(this.knots.map((k, i) => k[degrees[i]]));
    this.upper = Float64Array.from(this.knots.map((k, i) => k[k.length - degrees[i] - 1]));
    this.locators = this.knots.map((k, i) => new SpanLocator(k, degrees[i]));
  }

  /**
   * Checks a batch of parameters once, before any hot loop: `params  #points by d`, finite and inside
   * the domain (a relative slack of 1e-12 is clamped by evaluation). Returns the number of points.
   */
  validateParameters(params: ArrayLike<number>, name = "params"): number {
    const d = this.dimension;
    if (params == null || params.length % d !== 0) {
      throw new ArgumentError(`${name} must hold #points × ${d} numbers, got length ${params?.length}`);
    }
    // min/max per direction first (NaN propagates through Math.min/max), the offending point only on failure
    for (let k = 0; k < d; k++) {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = k; i < params.length; i += d) {
        const x = params[i];
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      const slack = 1e-12 * (this.upper[k] - this.lower[k]);
      if (lo >= this.lower[k] - slack && hi <= this.upper[k] + slack) continue;
      for (let i = k; i < params.length; i += d) {
        const x = params[i];
        if (!(x >= this.lower[k] - slack && x <= this.upper[k] + slack)) {
          throw new ArgumentError(
            `${name}: point ${(i - k) / d}, coordinate ${k} is ${x}, outside the domain [${this.lower[k]}, ${this.upper[k]}]`,
          );
        }
      }
    }
    return params.length / d;
  }

  /** Checks a control array `#functions by dim` and returns dim. */
  validateControl(control: ArrayLike<number>, name = "control"): number {
    if (control == null || control.length === 0 || control.length % this.size !== 0) {
      throw new ArgumentError(
        `${name} must hold ${this.size} rows (one per function) × dim numbers, got length ${control?.length}`,
      );
    }
    for (let i = 0; i < control.length; i++) {
      if (!Number.isFinite(control[i]))
        throw new ArgumentError(`${name}[${i}] must be finite, got ${control[i]}`);
    }
    return control.length / this.size;
  }
}
