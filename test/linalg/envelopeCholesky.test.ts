import { describe, expect, it } from "vitest";
import { EnvelopeCholesky, reverseCuthillMcKee } from "../../linalg/envelopeCholesky.js";
import { SparseMatrix } from "../../linalg/sparseMatrix.js";
import { seededRandom } from "../helpers/random.js";

/** The 5-point Laplacian plus `shift` on an n×n grid, unknowns numbered through `label`. */
function gridMatrix(n: number, shift: number, label: (i: number) => number): SparseMatrix {
  const rows: number[] = [];
  const cols: number[] = [];
  const vals: number[] = [];
  const add = (r: number, c: number, v: number) => {
    rows.push(label(r));
    cols.push(label(c));
    vals.push(v);
  };
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const k = i + n * j;
      add(k, k, 4 + shift);
      if (i > 0) add(k, k - 1, -1);
      if (i < n - 1) add(k, k + 1, -1);
      if (j > 0) add(k, k - n, -1);
      if (j < n - 1) add(k, k + n, -1);
    }
  }
  return SparseMatrix.fromTriplets(n * n, n * n, rows, cols, vals);
}

/** A random permutation of 0 … n−1. */
function shuffled(n: number, seed: number): Int32Array {
  const rand = seededRandom(seed);
  const p = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

describe("envelope Cholesky with RCM ordering", () => {
  it("solves a shuffled grid system for a known solution to 1e-10, with a band-sized envelope after RCM", () => {
    const n = 30;
    const perm = shuffled(n * n, 1);
    const A = gridMatrix(n, 0.01, (i) => perm[i]);
    const rand = seededRandom(2);
    const xTrue = Float64Array.from({ length: n * n }, () => rand() - 0.5);
    const b = A.multiply(xTrue, 1);
    const result = EnvelopeCholesky.factor(A);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    const x = result.factor.solve(b, new Float64Array(n * n));
    let error = 0;
    for (let i = 0; i < x.length; i++) error = Math.max(error, Math.abs(x[i] - xTrue[i]));
    expect(error).toBeLessThan(1e-10);
    // RCM undoes the shuffle: the envelope is about n per row (a band), not n² / 3 as shuffled
    expect(result.factor.size).toBeLessThan(2.5 * n * n * n);
  });

  it("RCM orders every unknown once, also over several connected components", () => {
    const rows = [0, 1, 1, 2, 3, 4, 4, 5];
    const cols = [0, 1, 2, 2, 3, 4, 5, 5];
    const A = SparseMatrix.fromTriplets(6, 6, [...rows, ...cols], [...cols, ...rows], new Array(16).fill(1));
    const order = reverseCuthillMcKee(A);
    expect(Array.from(order).sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("refuses singular and indefinite matrices (or pins singular directions with a ridge), and factors too large for its limits", () => {
    const grid = gridMatrix(6, 0, (i) => i);
    const rows: number[] = [];
    const cols: number[] = [];
    const vals: number[] = [];
    for (let r = 0; r < 3; r++)
      for (let c = 0; c < 3; c++) {
        rows.push(r);
        cols.push(c);
        vals.push(1); // rank one
      }
    const rankOne = SparseMatrix.fromTriplets(3, 3, rows, cols, vals);
    expect(EnvelopeCholesky.factor(rankOne).ok).toBe(false);
    // with a ridge, the undetermined directions are pinned: the factor is exactly that of A + ridge Σ e_r e_rᵀ
    const pinned = EnvelopeCholesky.factor(rankOne, { ridge: 1e-3 });
    expect(pinned.ok).toBe(true);
    if (pinned.ok) {
      const perturbed = Array.from(pinned.factor.perturbed);
      expect(perturbed.length).toBe(2);
      const b = Float64Array.of(1, 2, 3);
      const x = pinned.factor.solve(b, new Float64Array(3));
      const Ax = rankOne.multiply(x, 1);
      for (const r of perturbed) Ax[r] += 1e-3 * x[r];
      for (let i = 0; i < 3; i++) expect(Ax[i]).toBeCloseTo(b[i], 8);
    }
    const indefinite = SparseMatrix.fromTriplets(2, 2, [0, 0, 1, 1], [0, 1, 0, 1], [1, 2, 2, 1]);
    const refused = EnvelopeCholesky.factor(indefinite);
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.reason).toBe("notPositiveDefinite");
    const limited = EnvelopeCholesky.factor(grid, { maxEntries: 10 });
    expect(limited.ok).toBe(false);
    if (!limited.ok) expect(limited.reason).toBe("tooLarge");
  });
});
