/**
 * Rational B-splines (NURBS) in any parametric dimension 1–3: S = Σ w_i N_i P_i / Σ w_i N_i.
 * Evaluated through the homogeneous spline A = Σ N_i (w_i P_i, w_i) and the quotient rule
 * (The NURBS Book, A4.2 and A4.4, written for derivatives up to second order).
 */
import { checkOut } from "./bspline.js";
import { ArgumentError } from "./errors.js";
import {
  derivativeCount,
  derivativeMultiIndices,
  TensorBasis,
  validateDerivativeOrder,
} from "./tensorBasis.js";
import { evaluateTensorDerivatives } from "./tensorEvaluate.js";

/** Plain description of a NURBS, as users write it; control points are Cartesian, weights separate. */
export interface NurbsDescription {
  degrees: readonly number[];
  knots: readonly ArrayLike<number>[];
  /** `#functions by dim`, Cartesian coordinates (not multiplied by the weights). */
  control: ArrayLike<number>;
  /** `#functions`, positive. */
  weights: ArrayLike<number>;
}

/** A NURBS curve, surface or volume. */
export class Nurbs {
  readonly basis: TensorBasis;
  readonly dim: number;
  readonly weights: Float64Array;
  /** `#functions by (dim+1)`: (w·P, w). */
  readonly homogeneous: Float64Array;

  constructor(description: NurbsDescription) {
    this.basis = new TensorBasis(description.degrees, description.knots);
    this.dim = this.basis.validateControl(description.control);
    const n = this.basis.size;
    const w = description.weights;
    if (w == null || w.length !== n) {
      throw new ArgumentError(`weights must hold ${n} numbers (one per function), got length ${w?.length}`);
    }
    this.weights = Float64Array.from(w);
    const dim = this.dim;
    this.homogeneous = new Float64Array(n * (dim + 1));
    for (let i = 0; i < n; i++) {
      const wi = this.weights[i];
      if (!(wi > 0 && Number.isFinite(wi)))
        throw new ArgumentError(`weights[${i}] must be positive, got ${wi}`);
      for (let c = 0; c < dim; c++)
        this.homogeneous[i * (dim + 1) + c] = wi * description.control[i * dim + c];
      this.homogeneous[i * (dim + 1) + dim] = wi;
    }
  }

  /** Points `#points by dim`. */
  evaluate(params: ArrayLike<number>, out?: Float64Array): Float64Array {
    return this.derivatives(params, 0, out);
  }

  /** Values and derivatives up to `order` (0–2), laid out as BSpline.derivatives. */
  derivatives(params: ArrayLike<number>, order: number, out?: Float64Array): Float64Array {
    validateDerivativeOrder(order);
    const count = this.basis.validateParameters(params);
    const d = this.basis.dimension;
    const dim = this.dim;
    const h = dim + 1;
    const blocks = derivativeCount(d, order);
    const target = checkOut(out, count * blocks * dim);
    const homog = new Float64Array(count * blocks * h);
    evaluateTensorDerivatives(this.basis, this.homogeneous, h, params, order, homog);
    projectHomogeneous(homog, d, dim, order, count, target);
    return target;
  }
}

/**
 * Quotient rule up to second order: with A = w S, S = A/w, S_i = (A_i − w_i S)/w and
 * S_ij = (A_ij − w_ij S − w_i S_j − w_j S_i)/w. `homog  #points by blocks by (dim+1)`.
 */
export function projectHomogeneous(
  homog: Float64Array,
  d: number,
  dim: number,
  order: number,
  count: number,
  out: Float64Array,
): void {
  const multi = derivativeMultiIndices(d, order);
  const blocks = multi.length;
  const h = dim + 1;
  // block index of the first derivative along each direction, and the directions of each second block
  const firstOf = (k: number) => 1 + k;
  const pairs = multi.map((m) => {
    const dirs: number[] = [];
    m.forEach((o, k) => {
      for (let r = 0; r < o; r++) dirs.push(k);
    });
    return dirs;
  });
  for (let pt = 0; pt < count; pt++) {
    const hb = pt * blocks * h;
    const ob = pt * blocks * dim;
    const w = homog[hb + dim];
    for (let b = 0; b < blocks; b++) {
      const dirs = pairs[b];
      for (let c = 0; c < dim; c++) {
        let v = homog[hb + b * h + c] - (b > 0 ? homog[hb + b * h + dim] * out[ob + c] : 0);
        if (dirs.length === 2) {
          const [i, j] = dirs;
          v -= homog[hb + firstOf(i) * h + dim] * out[ob + firstOf(j) * dim + c];
          v -= homog[hb + firstOf(j) * h + dim] * out[ob + firstOf(i) * dim + c];
        }
        out[ob + b * dim + c] = v / w;
      }
    }
  }
}
