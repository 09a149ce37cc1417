/** Jacobi-preconditioned conjugate gradients for sparse symmetric positive definite systems, in f64. */
import type { SparseMatrix } from "./sparseMatrix.js";

/** Outcome of a CG solve. */
export interface ConjugateGradientResult {
  iterations: number;
  /** Final ‖r‖ / ‖b‖. */
  relativeResidual: number;
  converged: boolean;
}

/**
 * Solves A x = b for one right-hand side; x holds the initial guess and receives the solution.
 * Stops at ‖r‖ ≤ tolerance·‖b‖ or after maxIterations.
 */
export function conjugateGradient(
  A: SparseMatrix,
  b: Float64Array,
  x: Float64Array,
  tolerance = 1e-12,
  maxIterations = 10 * A.rows + 100,
): ConjugateGradientResult {
  const n = A.rows;
  const inverseDiagonal = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    const a = A.get(r, r);
    inverseDiagonal[r] = a > 0 ? 1 / a : 1;
  }
  const r = new Float64Array(n);
  const z = new Float64Array(n);
  const p = new Float64Array(n);
  const Ap = new Float64Array(n);
  A.multiply(x, 1, Ap);
  let bNorm = 0;
  for (let i = 0; i < n; i++) {
    r[i] = b[i] - Ap[i];
    bNorm += b[i] * b[i];
  }
  bNorm = Math.sqrt(bNorm);
  if (bNorm === 0) {
    x.fill(0);
    return { iterations: 0, relativeResidual: 0, converged: true };
  }
  let rz = 0;
  for (let i = 0; i < n; i++) {
    z[i] = inverseDiagonal[i] * r[i];
    p[i] = z[i];
    rz += r[i] * z[i];
  }
  let iterations = 0;
  let residual = 0;
  for (; iterations < maxIterations; iterations++) {
    residual = 0;
    for (let i = 0; i < n; i++) residual += r[i] * r[i];
    residual = Math.sqrt(residual) / bNorm;
    if (residual <= tolerance) return { iterations, relativeResidual: residual, converged: true };
    A.multiply(p, 1, Ap);
    let pAp = 0;
    for (let i = 0; i < n; i++) pAp += p[i] * Ap[i];
    if (!(pAp > 0)) break; // breakdown: A is not positive definite along p
    const alpha = rz / pAp;
    let rzNext = 0;
    for (let i = 0; i < n; i++) {
      x[i] += alpha * p[i];
      r[i] -= alpha * Ap[i];
      z[i] = inverseDiagonal[i] * r[i];
      rzNext += r[i] * z[i];
    }
    const beta = rzNext / rz;
    rz = rzNext;
    for (let i = 0; i < n; i++) p[i] = z[i] + beta * p[i];
  }
  return { iterations, relativeResidual: residual, converged: residual <= tolerance };
}
