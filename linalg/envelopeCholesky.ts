/**
 * Direct solves of sparse symmetric positive definite systems: reverse Cuthill–McKee ordering, then an
 * envelope (skyline) Cholesky factorisation A = L Lᵀ in f64. Spline normal equations have a small envelope
 * after RCM (their graph is a grid of overlapping supports), so the factor stays compact and the solve is
 * exact, where conjugate gradients slow down on ill-conditioned, nearly interpolating fits.
 * Each row i of L is stored dense from its first non-zero column first[i] to the diagonal.
 */
import type { SparseMatrix } from "./sparseMatrix.js";

/** A factorisation, or why there is none. */
export type CholeskyResult =
  | { ok: true; factor: EnvelopeCholesky }
  | { ok: false; reason: "notPositiveDefinite" | "tooLarge"; row?: number };

/** Reverse Cuthill–McKee ordering of the symmetric sparsity pattern: `order[k]` is the k-th unknown. */
export function reverseCuthillMcKee(matrix: SparseMatrix): Int32Array {
  const n = matrix.rows;
  const degree = new Int32Array(n);
  for (let r = 0; r < n; r++) degree[r] = matrix.rowStart[r + 1] - matrix.rowStart[r];
  const order = new Int32Array(n);
  const visited = new Uint8Array(n);
  let filled = 0;
  const neighbours: number[] = [];
  // one BFS per connected component, started from a node of lowest degree (a cheap pseudo-peripheral choice)
  const byDegree = Array.from({ length: n }, (_, i) => i).sort((a, b) => degree[a] - degree[b]);
  for (const start of byDegree) {
    if (visited[start]) continue;
    visited[start] = 1;
    let head = filled;
    order[filled++] = start;
    while (head < filled) {
      const node = order[head++];
      neighbours.length = 0;
      for (let k = matrix.rowStart[node]; k < matrix.rowStart[node + 1]; k++) {
        const c = matrix.columns[k];
        if (!visited[c]) {
          visited[c] = 1;
          neighbours.push(c);
        }
      }
      neighbours.sort((a, b) => degree[a] - degree[b]);
      for (const c of neighbours) order[filled++] = c;
    }
  }
  return order.reverse();
}

/** L of A = L Lᵀ for the permuted matrix P A Pᵀ, stored by envelope rows. */
export class EnvelopeCholesky {
  constructor(
    readonly order: Int32Array,
    /** position[unknown] = its row in the permuted system. */
    readonly position: Int32Array,
    readonly first: Int32Array,
    /** Row i of L occupies rowStart[i] … rowStart[i+1]−1, columns first[i] … i. */
    readonly rowStart: Float64Array,
    readonly entries: Float64Array,
    /** Unknowns whose pivot was replaced by pivot + ridge: the factor is of A + ridge Σ e_r e_rᵀ over these. */
    readonly perturbed: Int32Array = new Int32Array(0),
  ) {}

  /**
   * Factorises a symmetric positive definite matrix (both triangles stored). Refuses (ok: false) when a pivot
   * is not clearly positive — singular or indefinite systems are left to an iterative solver — or when the
   * envelope would exceed `maxEntries` numbers or the factorisation `maxWork` multiply-adds.
   */
  static factor(
    matrix: SparseMatrix,
    options: { maxEntries?: number; maxWork?: number; ridge?: number } = {},
  ): CholeskyResult {
    const maxEntries = options.maxEntries ?? 40_000_000;
    const maxWork = options.maxWork ?? 4e9;
    const perturbed: number[] = [];
    const n = matrix.rows;
    const order = reverseCuthillMcKee(matrix);
    const position = new Int32Array(n);
    for (let k = 0; k < n; k++) position[order[k]] = k;
    const first = new Int32Array(n);
    const rowStart = new Float64Array(n + 1);
    for (let i = 0; i < n; i++) {
      const r = order[i];
      let f = i;
      for (let k = matrix.rowStart[r]; k < matrix.rowStart[r + 1]; k++)
        f = Math.min(f, position[matrix.columns[k]]);
      first[i] = f;
      rowStart[i + 1] = rowStart[i] + (i - f + 1);
    }
    let work = 0;
    for (let i = 0; i < n; i++) work += 0.5 * (i - first[i] + 1) ** 2;
    if (rowStart[n] > maxEntries || work > maxWork) return { ok: false, reason: "tooLarge" };
    const L = new Float64Array(rowStart[n]);
    // scatter the lower triangle of P A Pᵀ into the envelope
    for (let i = 0; i < n; i++) {
      const r = order[i];
      for (let k = matrix.rowStart[r]; k < matrix.rowStart[r + 1]; k++) {
        const j = position[matrix.columns[k]];
        if (j <= i) L[rowStart[i] + (j - first[i])] += matrix.values[k];
      }
    }
    for (let i = 0; i < n; i++) {
      const fi = first[i];
      const ri = rowStart[i] - fi; // L[i][j] = L[ri + j]
      const diagonal = L[ri + i];
      for (let j = fi; j < i; j++) {
        const fj = first[j];
        const rj = rowStart[j] - fj;
        let s = L[ri + j];
        for (let k = Math.max(fi, fj); k < j; k++) s -= L[ri + k] * L[rj + k];
        L[ri + j] = s / L[rj + j];
      }
      let s = diagonal;
      for (let k = fi; k < i; k++) s -= L[ri + k] * L[ri + k];
      // a pivot lost to cancellation means a direction the matrix (numerically) does not determine: refuse,
      // or with a ridge factor A + ridge·e_r e_rᵀ instead (minimal regularisation, reported in `perturbed`)
      if (!(s > 1e-12 * Math.abs(diagonal)) || !(s > 0)) {
        if (options.ridge === undefined || !(diagonal >= 0))
          return { ok: false, reason: "notPositiveDefinite", row: order[i] };
        s = Math.max(s, 0) + options.ridge;
        perturbed.push(order[i]);
      }
      L[ri + i] = Math.sqrt(s);
    }
    return {
      ok: true,
      factor: new EnvelopeCholesky(order, position, first, rowStart, L, Int32Array.from(perturbed)),
    };
  }

  /** Numbers stored in the factor. */
  get size(): number {
    return this.entries.length;
  }

  /** Solves A x = b for one right-hand side (in the original numbering); `x` may alias `b`. */
  solve(b: ArrayLike<number>, x: Float64Array): Float64Array {
    const n = this.order.length;
    const { first, rowStart, entries: L, order } = this;
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) y[i] = b[order[i]];
    // L y' = y, row by row
    for (let i = 0; i < n; i++) {
      const ri = rowStart[i] - first[i];
      let s = y[i];
      for (let k = first[i]; k < i; k++) s -= L[ri + k] * y[k];
      y[i] = s / L[ri + i];
    }
    // Lᵀ z = y': column-oriented sweep over the rows of L from the bottom
    for (let i = n - 1; i >= 0; i--) {
      const ri = rowStart[i] - first[i];
      y[i] /= L[ri + i];
      const yi = y[i];
      for (let k = first[i]; k < i; k++) y[k] -= L[ri + k] * yi;
    }
    for (let i = 0; i < n; i++) x[order[i]] = y[i];
    return x;
  }
}
