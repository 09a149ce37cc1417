/**
 * Knot refinement matrices (the two-scale relation): for coarse knots τ and a refinement t ⊇ τ of the same
 * degree p, B_i^τ = Σ_j α_i(j) B_j^t. The matrix T with T[j][i] = α_i(j) maps coarse control points to
 * fine ones, Q = T P, so the refined spline is the same function.
 */

import { SparseMatrix } from "../linalg/sparseMatrix.js";
import { describeList, KnotVectorError } from "./errors.js";
import { validateKnotVector } from "./knotVector.js";

/** Throws KnotVectorError unless `fine` contains every knot of `coarse` with at least its multiplicity. */
function checkNested(coarse: Float64Array, fine: Float64Array): void {
  let j = 0;
  for (let i = 0; i < coarse.length; i++) {
    while (j < fine.length && fine[j] < coarse[i]) j++;
    if (j >= fine.length || fine[j] !== coarse[i]) {
      throw new KnotVectorError(
        `fine knots must contain every coarse knot with its multiplicity; knot ${coarse[i]} (coarse index ${i}) is missing: ${describeList(fine)}`,
      );
    }
    j++;
  }
  if (fine[0] !== coarse[0] || fine[fine.length - 1] !== coarse[coarse.length - 1]) {
    throw new KnotVectorError("fine and coarse knots must start and end at the same values");
  }
}

/** μ with τ_μ ≤ x < τ_{μ+1} over the whole knot vector; x at the last knot takes the last non-empty span. */
function spanOfKnot(tau: Float64Array, x: number): number {
  const last = tau.length - 1;
  if (x >= tau[last]) {
    let s = last - 1;
    while (s > 0 && tau[s] === tau[s + 1]) s--;
    return s;
  }
  let low = 0;
  let high = last;
  // invariant: τ[low] <= x < τ[high]
  while (high - low > 1) {
    const mid = (low + high) >>> 1;
    if (x < tau[mid]) high = mid;
    else low = mid;
  }
  return low;
}

/**
 * The refinement matrix (#fine functions × #coarse functions, CSR) by the Oslo algorithm
 * (Cohen, Lyche & Riesenfeld 1980; Lyche & Mørken, "Spline Methods", Algorithm 4.10):
 * α_{i,k}(j) = ω_{i,k}(t_{j+k}) α_{i,k-1}(j) + (1 − ω_{i+1,k}(t_{j+k})) α_{i+1,k-1}(j),
 * ω_{i,k}(x) = (x − τ_i)/(τ_{i+k} − τ_i), started from α_{μ,0}(j) = 1 where τ_μ ≤ t_j < τ_{μ+1}.
 */
export function refinementMatrix(
  coarseKnots: ArrayLike<number>,
  fineKnots: ArrayLike<number>,
  degree: number,
): SparseMatrix {
  const tau = validateKnotVector(coarseKnots, degree, { name: "coarseKnots" });
  const t = validateKnotVector(fineKnots, degree, { name: "fineKnots" });
  checkNested(tau, t);
  const p = degree;
  const nCoarse = tau.length - p - 1;
  const nFine = t.length - p - 1;
  const rowStart = new Int32Array(nFine + 1);
  const columns = new Int32Array(nFine * (p + 1));
  const values = new Float64Array(nFine * (p + 1));
  const alpha = new Float64Array(p + 1);
  let nnz = 0;
  for (let j = 0; j < nFine; j++) {
    const mu = spanOfKnot(tau, t[j]);
    // α_{μ-k..μ, k} lives in alpha[p-k .. p]
    alpha.fill(0);
    alpha[p] = 1;
    for (let k = 1; k <= p; k++) {
      const x = t[j + k];
      for (let i = mu - k; i <= mu; i++) {
        const slot = p - (mu - i);
        // term from α_{i,k-1}: ω_{i,k}(x)
        const a = i >= mu - k + 1 ? alpha[slot] : 0;
        const denomA = tau[i + k] - tau[i];
        const termA = a !== 0 && denomA > 0 ? ((x - tau[i]) / denomA) * a : 0;
        // term from α_{i+1,k-1}: 1 − ω_{i+1,k}(x)
        const b = i + 1 <= mu ? alpha[slot + 1] : 0;
        const denomB = tau[i + k + 1] - tau[i + 1];
        const termB = b !== 0 && denomB > 0 ? ((tau[i + k + 1] - x) / denomB) * b : 0;
        alpha[slot] = termA + termB;
      }
    }
    for (let i = mu - p; i <= mu; i++) {
      const v = alpha[p - (mu - i)];
      if (v !== 0 && i >= 0 && i < nCoarse) {
        columns[nnz] = i;
        values[nnz] = v;
        nnz++;
      }
    }
    rowStart[j + 1] = nnz;
  }
  return new SparseMatrix(nFine, nCoarse, rowStart, columns.slice(0, nnz), values.slice(0, nnz));
}
