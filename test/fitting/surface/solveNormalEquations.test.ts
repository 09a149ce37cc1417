/**
 * The least-squares solve checks itself: an inaccurate factorisation is detected by its residual and recovered
 * with a ridge toward the initial guess, and a system that cannot be solved raises a NumericalError — never a
 * NaN in the coefficients.
 */
import { describe, expect, it } from "vitest";
import { solveNormalEquations } from "../../../fitting/surface/normalEquations.js";
import { NumericalError } from "../../../linalg/errors.js";
import { SparseMatrix } from "../../../linalg/sparseMatrix.js";

/** The n × n Hilbert matrix 1 / (i + j + 1): SPD, condition number about 1e16 at n = 12. */
function hilbert(n: number): SparseMatrix {
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      rows.push(i);
      cols.push(j);
      vals.push(1 / (i + j + 1));
    }
  return SparseMatrix.fromTriplets(n, n, rows, cols, vals);
}

describe("solveNormalEquations", () => {
  it("a well-conditioned system is solved exactly on the first try (no recovery ridge)", () => {
    const A = hilbert(3); // cond ≈ 524
    const rhs = Float64Array.from([1, 2, 3]);
    const solution = solveNormalEquations({ matrix: A, rhs, dim: 1 });
    expect(solution.recoveryRidge).toBe(0);
    const Ax = A.multiply(solution.control, 1);
    for (let i = 0; i < 3; i++) expect(Ax[i]).toBeCloseTo(rhs[i], 10);
  });

  it("an ill-conditioned system fails the residual check and is recovered by a ridge toward the initial guess", () => {
    const n = 12;
    const A = hilbert(n);
    const rhs = Float64Array.from({ length: n }, (_, i) => Math.sin(i + 1));
    const initial = new Float64Array(n).fill(0.5);
    const solution = solveNormalEquations({ matrix: A, rhs, dim: 1 }, initial);
    expect(solution.recoveryRidge).toBeGreaterThan(0);
    for (const x of solution.control) expect(Number.isFinite(x)).toBe(true);
    // it solves the regularised system it reports: (A + ε diag A) x = b + ε diag(A) x0
    const eps = solution.recoveryRidge;
    const Ax = A.multiply(solution.control, 1);
    let residual = 0;
    let norm = 0;
    for (let i = 0; i < n; i++) {
      const d = A.get(i, i);
      const r = Ax[i] + eps * d * solution.control[i] - rhs[i] - eps * d * initial[i];
      residual += r * r;
      norm += (rhs[i] + eps * d * initial[i]) ** 2;
    }
    expect(Math.sqrt(residual / norm)).toBeLessThan(1e-8);
    expect(solution.relativeResidual).toBeLessThan(1e-8);
  });

  it("a non-finite system raises a NumericalError that says what was not finite", () => {
    const A = SparseMatrix.fromTriplets(2, 2, [0, 1], [0, 1], [1, Number.POSITIVE_INFINITY]);
    expect(() => solveNormalEquations({ matrix: A, rhs: Float64Array.from([1, 1]), dim: 1 })).toThrow(
      NumericalError,
    );
    const B = SparseMatrix.fromTriplets(2, 2, [0, 1], [0, 1], [1, 1]);
    expect(() =>
      solveNormalEquations({ matrix: B, rhs: Float64Array.from([1, Number.NaN]), dim: 1 }),
    ).toThrow(/right-hand side is not finite/);
  });
});
