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
  relativeResidual: number;
}

/**
 * Solves the normal equations. Functions untouched by data and smoothing make A singular: those get a ridge
 * of 1e-8 × the mean diagonal pulling their coefficients to the initial guess (0 without one); so do the
 * directions the Cholesky factorisation finds undetermined (too few points on a function's support), and
 * only those. Systems too large to factor go to CG.
 */
export function solveNormalEquations(
  system: NormalEquations,
  initial?: Float64Array,
  options: { solver?: "auto" | "cg" } = {},
): LeastSquaresSolution {
  const { matrix, rhs, dim } = system;
  const n = matrix.rows;
  let mean = 0;
  for (let r = 0; r < n; r++) mean += matrix.get(r, r);
  mean = mean / Math.max(1, n) || 1;
  const threshold = 1e-12 * mean;
  let regularised = 0;
  const ridgeRows: number[] = [];
  for (let r = 0; r < n; r++) if (!(matrix.get(r, r) > threshold)) ridgeRows.push(r);
  let A = matrix;
  if (ridgeRows.length > 0) {
    regularised = ridgeRows.length;
    const rows: number[] = [];
    const cols: number[] = [];
    const vals: number[] = [];
    for (let r = 0; r < n; r++) {
      for (let k = matrix.rowStart[r]; k < matrix.rowStart[r + 1]; k++) {
        rows.push(r);
        cols.push(matrix.columns[k]);
        vals.push(matrix.values[k]);
      }
    }
    for (const r of ridgeRows) {
      rows.push(r);
      cols.push(r);
      vals.push(1e-8 * mean);
    }
    A = SparseMatrix.fromTriplets(n, n, rows, cols, vals);
  }
  const control = new Float64Array(n * dim);
  const b = new Float64Array(n);
  const x = new Float64Array(n);
  const Ax = new Float64Array(n);
  // directions the data leave (numerically) undetermined get the same tiny ridge inside the factorisation
  const factored =
    options.solver === "cg" ? { ok: false as const } : EnvelopeCholesky.factor(A, { ridge: 1e-8 * mean });
  const pinned = factored.ok ? Array.from(factored.factor.perturbed) : [];
  regularised += pinned.length;
  let iterations = 0;
  let relativeResidual = 0;
  for (let c = 0; c < dim; c++) {
    for (let r = 0; r < n; r++) {
      b[r] = rhs[r * dim + c];
      x[r] = initial ? initial[r * dim + c] : 0;
    }
    // the ridge pulls toward the initial guess: (A + εI) x = b + ε x0 on the ridge rows
    for (const r of ridgeRows) b[r] += 1e-8 * mean * x[r];
    for (const r of pinned) b[r] += 1e-8 * mean * x[r];
    if (factored.ok) {
      factored.factor.solve(b, x);
      A.multiply(x, 1, Ax);
      let residual = 0;
      let norm = 0;
      for (let r = 0; r < n; r++) {
        residual += (Ax[r] - b[r]) ** 2;
        norm += b[r] * b[r];
      }
      relativeResidual = Math.max(relativeResidual, Math.sqrt(residual / (norm || 1)));
    } else {
      const result = conjugateGradient(A, b, x, 1e-12, Math.min(20 * n + 1000, 20000));
      iterations = Math.max(iterations, result.iterations);
      relativeResidual = Math.max(relativeResidual, result.relativeResidual);
    }
    for (let r = 0; r < n; r++) control[r * dim + c] = x[r];
  }
  return { control, regularised, solver: factored.ok ? "cholesky" : "cg", iterations, relativeResidual };
}
