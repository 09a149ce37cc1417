/**
 * Knot insertion (Boehm) for curves, and exact refinement of tensor splines through refinement matrices.
 */

import type { SparseMatrix } from "../linalg/sparseMatrix.js";
import { BSpline } from "./bspline.js";
import { ArgumentError } from "./errors.js";
import { findSpan } from "./knotVector.js";
import { refinementMatrix } from "./refinement.js";
import { TensorBasis } from "./tensorBasis.js";

/**
 * Inserts knot u `times` times into a curve (The NURBS Book, A5.1, Boehm's algorithm) and returns the
 * new, identical curve. Works on any output dimension; for a NURBS pass the homogeneous control.
 */
export function insertKnot(curve: BSpline, u: number, times = 1): BSpline {
  if (curve.basis.dimension !== 1)
    throw new ArgumentError("insertKnot needs a curve (one parametric direction)");
  const p = curve.basis.degrees[0];
  const U = curve.basis.knots[0];
  const [a, b] = [curve.basis.lower[0], curve.basis.upper[0]];
  if (!(u > a && u < b)) throw new ArgumentError(`u must lie inside the open domain (${a}, ${b}), got ${u}`);
  let s = 0;
  for (const x of U) if (x === u) s++;
  if (!Number.isInteger(times) || times < 1 || s + times > p) {
    throw new ArgumentError(
      `times must be an integer with 1 ≤ times ≤ p − multiplicity = ${p - s}, got ${times}`,
    );
  }
  const dim = curve.dim;
  const P = curve.control;
  const np = U.length - p - 2; // last control index
  const k = findSpan(U, p, u);
  const r = times;
  const UQ = new Float64Array(U.length + r);
  for (let i = 0; i <= k; i++) UQ[i] = U[i];
  for (let i = 1; i <= r; i++) UQ[k + i] = u;
  for (let i = k + 1; i < U.length; i++) UQ[i + r] = U[i];
  const Q = new Float64Array((np + 1 + r) * dim);
  for (let i = 0; i <= k - p; i++) for (let c = 0; c < dim; c++) Q[i * dim + c] = P[i * dim + c];
  for (let i = k - s; i <= np; i++) for (let c = 0; c < dim; c++) Q[(i + r) * dim + c] = P[i * dim + c];
  const R = new Float64Array((p - s + 1) * dim);
  for (let i = 0; i <= p - s; i++) for (let c = 0; c < dim; c++) R[i * dim + c] = P[(k - p + i) * dim + c];
  let L = 0;
  for (let j = 1; j <= r; j++) {
    L = k - p + j;
    for (let i = 0; i <= p - j - s; i++) {
      const alpha = (u - U[L + i]) / (U[i + k + 1] - U[L + i]);
      for (let c = 0; c < dim; c++)
        R[i * dim + c] = alpha * R[(i + 1) * dim + c] + (1 - alpha) * R[i * dim + c];
    }
    for (let c = 0; c < dim; c++) {
      Q[L * dim + c] = R[c];
      Q[(k + r - j - s) * dim + c] = R[(p - j - s) * dim + c];
    }
  }
  for (let i = L + 1; i < k - s; i++) for (let c = 0; c < dim; c++) Q[i * dim + c] = R[(i - L) * dim + c];
  return new BSpline(new TensorBasis([p], [UQ]), Q);
}

/**
 * Applies a refinement matrix along direction k of a tensor of control points
 * (`sizes` functions per direction, first fastest, `dim` numbers per function).
 */
export function refineAlongDirection(
  matrix: SparseMatrix,
  control: Float64Array,
  sizes: readonly number[],
  dim: number,
  k: number,
): Float64Array {
  let inner = dim;
  for (let l = 0; l < k; l++) inner *= sizes[l];
  let outer = 1;
  for (let l = k + 1; l < sizes.length; l++) outer *= sizes[l];
  const nOld = sizes[k];
  const nNew = matrix.rows;
  const out = new Float64Array(outer * nNew * inner);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < nNew; j++) {
      const dst = (o * nNew + j) * inner;
      for (let e = matrix.rowStart[j]; e < matrix.rowStart[j + 1]; e++) {
        const a = matrix.values[e];
        const src = (o * nOld + matrix.columns[e]) * inner;
        for (let t = 0; t < inner; t++) out[dst + t] += a * control[src + t];
      }
    }
  }
  return out;
}

/**
 * The same spline on finer knots: `fineKnots[k]` must contain the spline's knots in direction k
 * (undefined keeps a direction as it is). Exact up to rounding.
 */
export function refineBSpline(
  spline: BSpline,
  fineKnots: readonly (ArrayLike<number> | undefined)[],
): BSpline {
  const basis = spline.basis;
  if (fineKnots.length !== basis.dimension) {
    throw new ArgumentError(`fineKnots must list ${basis.dimension} entries, got ${fineKnots.length}`);
  }
  let control = spline.control;
  const sizes = basis.sizes.slice();
  const knots: ArrayLike<number>[] = [];
  for (let k = 0; k < basis.dimension; k++) {
    const fine = fineKnots[k];
    if (fine === undefined) {
      knots.push(basis.knots[k]);
      continue;
    }
    const T = refinementMatrix(basis.knots[k], fine, basis.degrees[k]);
    control = refineAlongDirection(T, control, sizes, spline.dim, k);
    sizes[k] = T.rows;
    knots.push(fine);
  }
  return new BSpline(new TensorBasis(basis.degrees, knots), control);
}
