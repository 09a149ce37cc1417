/**
 * Least squares on a compiled THB plan: min_C Σ_k ‖S(x_k; C) − f_k‖² + λ ∫ (S_uu² + 2 S_uv² + S_vv²),
 * assembled as sparse normal equations in f64 (per-element local Gram blocks, then E_e M_e E_eᵀ) and solved
 * exactly by an envelope Cholesky factorisation after RCM ordering (one factor for every output component),
 * or — for systems too large to factor, or singular ones — by Jacobi-preconditioned conjugate gradients.
 * Shapes: `params  #points by 2`, `values  #points by dim`, solution `#functions by dim`.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { LocalBasisScratch, localTensorBasis, locatePoint } from "../../kernels/cpu/planEvaluate.js";
import { conjugateGradient } from "../../linalg/conjugateGradient.js";
import { EnvelopeCholesky } from "../../linalg/envelopeCholesky.js";
import { NumericalError } from "../../linalg/errors.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";
import { SparseMatrix } from "../../linalg/sparseMatrix.js";

/** Normal equations A C = R. */
export interface NormalEquations {
  matrix: SparseMatrix;
  /** `#functions by dim`. */
  rhs: Float64Array;
  dim: number;
}

/** Assembles the normal equations of the data term plus λ times the thin-plate energy (2D plans). */
export function assembleNormalEquations(
  plan: EvaluationPlan,
  params: ArrayLike<number>,
  values: ArrayLike<number>,
  dim: number,
  smoothing = 0,
): NormalEquations {
  const d = plan.dimension;
  const B = plan.localSize;
  const nE = plan.elementCount;
  const gram = new Float64Array(nE * B * B);
  const right = new Float64Array(nE * B * dim);
  const scratch = new LocalBasisScratch(plan, 0);
  const count = params.length / d;
  for (let i = 0; i < count; i++) {
    const e = locatePoint(plan, params, i * d);
    localTensorBasis(plan, e, params, i * d, scratch);
    const b = scratch.values;
    const g = e * B * B;
    for (let j = 0; j < B; j++) {
      const bj = b[j];
      if (bj === 0) continue;
      for (let k = 0; k < B; k++) gram[g + j * B + k] += bj * b[k];
      for (let c = 0; c < dim; c++) right[(e * B + j) * dim + c] += bj * values[i * dim + c];
    }
  }
  if (smoothing > 0) addThinPlate(plan, gram, smoothing);
  // A = Σ_e E_e M_e E_eᵀ, R = Σ_e E_e r_e
  const rows: number[] = [];
  const cols: number[] = [];
  const entries: number[] = [];
  const rhs = new Float64Array(plan.functionCount * dim);
  const E = plan.extractionCoefficients;
  let maxRows = 0;
  for (let e = 0; e < nE; e++)
    maxRows = Math.max(maxRows, plan.extractionStart[e + 1] - plan.extractionStart[e]);
  const EM = new Float64Array(maxRows * B);
  for (let e = 0; e < nE; e++) {
    const start = plan.extractionStart[e];
    const k = plan.extractionStart[e + 1] - start;
    const g = e * B * B;
    // EM = E_e M_e (k × B)
    for (let a = 0; a < k; a++) {
      for (let j = 0; j < B; j++) {
        let s = 0;
        for (let t = 0; t < B; t++) s += E[(start + a) * B + t] * gram[g + t * B + j];
        EM[a * B + j] = s;
      }
    }
    for (let a = 0; a < k; a++) {
      const fa = plan.extractionFunctions[start + a];
      for (let c = 0; c < dim; c++) {
        let s = 0;
        for (let t = 0; t < B; t++) s += E[(start + a) * B + t] * right[(e * B + t) * dim + c];
        rhs[fa * dim + c] += s;
      }
      for (let bIndex = 0; bIndex < k; bIndex++) {
        let s = 0;
        for (let j = 0; j < B; j++) s += EM[a * B + j] * E[(start + bIndex) * B + j];
        if (s === 0) continue;
        rows.push(fa);
        cols.push(plan.extractionFunctions[start + bIndex]);
        entries.push(s);
      }
    }
  }
  return {
    matrix: SparseMatrix.fromTriplets(plan.functionCount, plan.functionCount, rows, cols, entries),
    rhs,
    dim,
  };
}

/** Adds λ ∫_e (b_uu b_uuᵀ + 2 b_uv b_uvᵀ + b_vv b_vvᵀ) to each element's local Gram block (Gauss quadrature). */
function addThinPlate(plan: EvaluationPlan, gram: Float64Array, smoothing: number): void {
  const B = plan.localSize;
  const rules = Array.from(plan.degrees, (p) => gaussLegendre(p + 1, 0, 1));
  const scratch = new LocalBasisScratch(plan, 2);
  const x = new Float64Array(2);
  for (let e = 0; e < plan.elementCount; e++) {
    const lo0 = plan.elementBox[e * 4];
    const lo1 = plan.elementBox[e * 4 + 1];
    const w0 = plan.elementBox[e * 4 + 2] - lo0;
    const w1 = plan.elementBox[e * 4 + 3] - lo1;
    for (let i = 0; i < rules[0].nodes.length; i++) {
      for (let j = 0; j < rules[1].nodes.length; j++) {
        x[0] = lo0 + w0 * rules[0].nodes[i];
        x[1] = lo1 + w1 * rules[1].nodes[j];
        const weight = smoothing * w0 * w1 * rules[0].weights[i] * rules[1].weights[j];
        localTensorBasis(plan, e, x, 0, scratch);
        const v = scratch.values; // blocks: value, u, v, uu, vv, uv
        const g = e * B * B;
        for (let a = 0; a < B; a++) {
          const uu = v[3 * B + a];
          const vv = v[4 * B + a];
          const uv = v[5 * B + a];
          for (let b = 0; b < B; b++)
            gram[g + a * B + b] += weight * (uu * v[3 * B + b] + 2 * uv * v[5 * B + b] + vv * v[4 * B + b]);
        }
      }
    }
  }
}

/** Result of a solve: the coefficients and what was done to make the system solvable. */
export interface LeastSquaresSolution {
  control: Float64Array;
  /** Functions that no data point and no smoothing reached, pinned by a tiny ridge term. */
  regularised: number;
  /** "cholesky" (direct, exact up to rounding) or "cg" (iterative). */
  solver: "cholesky" | "cg";
  /** CG iterations (0 for Cholesky). */
  iterations: number;
  /** ‖A x − b‖ / ‖b‖ of the system solved (regularisation included), worst output component. */
  relativeResidual: number;
  /**
   * Weight of the recovery ridge relative to each row's diagonal (0 when the first solve was accurate): when
   * a factorisation loses accuracy, every coefficient is pulled toward the initial guess by this much.
   */
  recoveryRidge: number;
}

/** Relative residual a solve must reach to be accepted (after iterative refinement). */
const ACCEPTED_RESIDUAL = 1e-8;
/** Recovery ridges, relative to each row's diagonal, tried in turn when a solve is inaccurate. */
const RECOVERY_RIDGES = [1e-10, 1e-8, 1e-6, 1e-4];

/**
 * Solves the normal equations. Functions untouched by data and smoothing make A singular: those get a ridge
 * of 1e-8 × the mean diagonal pulling their coefficients to the initial guess (0 without one); so do the
 * directions the Cholesky factorisation finds undetermined (too few points on a function's support), and
 * only those. Every solve is checked: its residual after one or two steps of iterative refinement must be
 * below 1e-8 relative and every coefficient finite. A solve that fails the check is retried with a ridge on
 * every row, ε × its diagonal, pulling toward the initial guess (ε = 1e-10 … 1e-4: a Levenberg–Marquardt
 * step from the carried-over solution), then by CG; if all fail, a NumericalError says so — a NaN never
 * leaves this function. Systems too large to factor go to CG.
 */
export function solveNormalEquations(
  system: NormalEquations,
  initial?: Float64Array,
  options: { solver?: "auto" | "cg" } = {},
): LeastSquaresSolution {
  const { matrix, rhs } = system;
  const n = matrix.rows;
  for (let i = 0; i < rhs.length; i++) {
    if (!Number.isFinite(rhs[i]))
      throw new NumericalError(`the normal equations' right-hand side is not finite (entry ${i}: ${rhs[i]})`);
  }
  const diagonal = new Float64Array(n);
  let mean = 0;
  for (let r = 0; r < n; r++) {
    diagonal[r] = matrix.get(r, r);
    if (!Number.isFinite(diagonal[r]))
      throw new NumericalError(`the normal matrix is not finite (diagonal ${r}: ${diagonal[r]})`);
    mean += diagonal[r];
  }
  mean = mean / Math.max(1, n) || 1;
  const threshold = 1e-12 * mean;
  const ridgeRows: number[] = [];
  for (let r = 0; r < n; r++) if (!(diagonal[r] > threshold)) ridgeRows.push(r);
  // ridge[r]: the diagonal added to row r, pulling x[r] toward the initial guess
  const baseRidge = new Float64Array(n);
  for (const r of ridgeRows) baseRidge[r] = 1e-8 * mean;
  let last: { solution: LeastSquaresSolution; finite: boolean } | undefined;
  for (const relative of [0, ...RECOVERY_RIDGES]) {
    const ridge = Float64Array.from(baseRidge);
    if (relative > 0) for (let r = 0; r < n; r++) ridge[r] += relative * Math.max(diagonal[r], threshold);
    const attempt = solveWithRidge(system, ridge, initial, options.solver === "cg", mean);
    attempt.solution.regularised += ridgeRows.length;
    attempt.solution.recoveryRidge = relative;
    if (attempt.finite && attempt.solution.relativeResidual <= ACCEPTED_RESIDUAL) return attempt.solution;
    // CG is accepted at its own tolerance: it is the last resort for systems too large to factor
    if (attempt.finite && attempt.solution.solver === "cg" && attempt.solution.relativeResidual <= 1e-6)
      return attempt.solution;
    last = attempt;
  }
  throw new NumericalError(
    `the normal equations (${n} unknowns) could not be solved accurately: ${
      last?.finite
        ? `relative residual ${last.solution.relativeResidual.toExponential(2)}`
        : "non-finite solution"
    } even with a ridge of ${RECOVERY_RIDGES[RECOVERY_RIDGES.length - 1]} × the diagonal`,
  );
}

/** One solve of (A + diag(ridge)) x = b + ridge ⊙ x0: Cholesky with iterative refinement, or CG. */
function solveWithRidge(
  system: NormalEquations,
  ridge: Float64Array,
  initial: Float64Array | undefined,
  forceCg: boolean,
  mean: number,
): { solution: LeastSquaresSolution; finite: boolean } {
  const { matrix, rhs, dim } = system;
  const n = matrix.rows;
  const A = addDiagonal(matrix, ridge);
  const control = new Float64Array(n * dim);
  const b = new Float64Array(n);
  const x = new Float64Array(n);
  const Ax = new Float64Array(n);
  const correction = new Float64Array(n);
  // directions the data leave (numerically) undetermined get the same tiny ridge inside the factorisation
  const factored = forceCg ? { ok: false as const } : EnvelopeCholesky.factor(A, { ridge: 1e-8 * mean });
  const pinned = factored.ok ? Array.from(factored.factor.perturbed) : [];
  let iterations = 0;
  let relativeResidual = 0;
  let finite = true;
  for (let c = 0; c < dim; c++) {
    for (let r = 0; r < n; r++) {
      x[r] = initial ? initial[r * dim + c] : 0;
      b[r] = rhs[r * dim + c] + ridge[r] * x[r];
    }
    // the pivot ridge pulls toward the initial guess too: (A + εI) x = b + ε x0 on the pinned rows
    for (const r of pinned) b[r] += 1e-8 * mean * x[r];
    let residual = 0;
    if (factored.ok) {
      factored.factor.solve(b, x);
      // iterative refinement against A (the pinned pivots are part of the factor only): x += F⁻¹ (b − A x)
      // (at most three corrections; the residual of the last one is the one reported)
      for (let step = 0; ; step++) {
        residual = residualInto(A, x, b, Ax, pinned, 1e-8 * mean);
        if (!(residual > 1e-14) || step === 3) break;
        for (let r = 0; r < n; r++) Ax[r] = b[r] - Ax[r];
        factored.factor.solve(Ax, correction);
        for (let r = 0; r < n; r++) x[r] += correction[r];
      }
    } else {
      const result = conjugateGradient(A, b, x, 1e-12, Math.min(20 * n + 1000, 20000));
      iterations = Math.max(iterations, result.iterations);
      residual = result.relativeResidual;
    }
    relativeResidual = Math.max(
      relativeResidual,
      Number.isNaN(residual) ? Number.POSITIVE_INFINITY : residual,
    );
    for (let r = 0; r < n; r++) {
      if (!Number.isFinite(x[r])) finite = false;
      control[r * dim + c] = x[r];
    }
  }
  return {
    solution: {
      control,
      regularised: pinned.length,
      solver: factored.ok ? "cholesky" : "cg",
      iterations,
      relativeResidual,
      recoveryRidge: 0,
    },
    finite,
  };
}

/** Ax ← (A + pivotRidge on the pinned rows) x; returns ‖Ax − b‖ / ‖b‖. */
function residualInto(
  A: SparseMatrix,
  x: Float64Array,
  b: Float64Array,
  Ax: Float64Array<ArrayBuffer>,
  pinned: number[],
  pivotRidge: number,
): number {
  A.multiply(x, 1, Ax);
  for (const r of pinned) Ax[r] += pivotRidge * x[r];
  let residual = 0;
  let norm = 0;
  for (let r = 0; r < b.length; r++) {
    residual += (Ax[r] - b[r]) ** 2;
    norm += b[r] * b[r];
  }
  return Math.sqrt(residual / (norm || 1));
}

/** A + diag(add), as a new matrix (the same matrix when nothing is added). */
function addDiagonal(matrix: SparseMatrix, add: Float64Array): SparseMatrix {
  if (!add.some((a) => a !== 0)) return matrix;
  const n = matrix.rows;
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let k = matrix.rowStart[r]; k < matrix.rowStart[r + 1]; k++) {
      rows.push(r);
      cols.push(matrix.columns[k]);
      vals.push(matrix.values[k]);
    }
    if (add[r] !== 0) {
      rows.push(r);
      cols.push(r);
      vals.push(add[r]);
    }
  }
  return SparseMatrix.fromTriplets(n, n, rows, cols, vals);
}
