/**
 * Per-element extraction: on an active element e of level l, every THB (or HB) function non-zero there is
 * an exact combination of the (p+1)^d level-l B-splines local to e, T_a = Σ_j E_e[a, j] b_j.
 *
 * Built by walking e's ancestors from level 0 down: the candidate functions of each level are written in
 * the local B-splines of the ancestor cell, carried one level down through the local blocks of the
 * refinement matrices (two-scale relation, a Kronecker product of 1D blocks), then truncated (THB: the
 * terms whose level-k B-spline has support inside Ω^k are dropped), and the level's own active functions
 * join as unit rows. Rows that truncation zeroes out are functions that vanish on e and are dropped.
 */
import type { ElementExtraction, ElementRef, THBSpace } from "./thbSpace.js";

/** Reusable scratch for extraction, sized for one space. */
export class ExtractionWorkspace {
  readonly space: THBSpace;
  /** Memo of supportInDomain per level: flat index → boolean. */
  private readonly inside: Map<number, boolean>[] = [];

  constructor(space: THBSpace) {
    this.space = space;
  }

  /** supportInDomain with a memo (each element's ancestors share most functions). */
  supportInside(l: number, flat: number): boolean {
    let memo = this.inside[l];
    if (!memo) {
      memo = new Map();
      this.inside[l] = memo;
    }
    let v = memo.get(flat);
    if (v === undefined) {
      v = this.space.supportInDomain(l, flat);
      memo.set(flat, v);
    }
    return v;
  }
}

/** The extraction of one active element; rows sorted by function id. */
export function extractElement(element: ElementRef, work: ExtractionWorkspace): ElementExtraction {
  const space = work.space;
  const d = space.dimension;
  const degrees = space.degrees;
  const B = space.localSize;
  const le = element.level;
  const cell = [0, 0, 0];
  space.tree.decode(le, element.key, cell);
  const q = [1, 1, 1];
  for (let k = 0; k < d; k++) q[k] = degrees[k] + 1;

  let ids: number[] = [];
  let rows: Float64Array[] = [];
  const scratch = [0, 0, 0];
  const ancestor = [0, 0, 0];
  const previousSpan = [0, 0, 0];
  const span = [0, 0, 0];
  const blocks: Float64Array[] = [];
  const tmpA = new Float64Array(B);
  const tmpB = new Float64Array(B);

  for (let k = 0; k <= le; k++) {
    for (let dir = 0; dir < d; dir++) {
      ancestor[dir] = cell[dir] >> (le - k);
      span[dir] = space.level(k, dir).spanOfCell[ancestor[dir]];
    }
    if (k > 0) {
      localRefinementBlocks(space, k, span, previousSpan, blocks);
      const kept: number[] = [];
      const keptRows: Float64Array[] = [];
      // truncation mask of this level's local functions
      const dropped = new Uint8Array(B);
      if (space.truncated) {
        space.forEachLocalFunction(k, ancestor, scratch, (flat, local) => {
          if (work.supportInside(k, flat)) dropped[local] = 1;
        });
      }
      for (let r = 0; r < rows.length; r++) {
        const row = refineLocal(rows[r], blocks, q, d, tmpA, tmpB);
        let any = false;
        for (let j = 0; j < B; j++) {
          if (dropped[j]) row[j] = 0;
          else if (row[j] !== 0) any = true;
        }
        if (any) {
          kept.push(ids[r]);
          keptRows.push(row);
        }
      }
      ids = kept;
      rows = keptRows;
    }
    // this level's active functions on the ancestor join as unit rows
    space.forEachLocalFunction(k, ancestor, scratch, (flat, local) => {
      const id = space.functionId(k, flat);
      if (id === undefined) return;
      const row = new Float64Array(B);
      row[local] = 1;
      ids.push(id);
      rows.push(row);
    });
    for (let dir = 0; dir < d; dir++) previousSpan[dir] = span[dir];
  }

  const order = ids.map((_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const functions = Int32Array.from(order.map((i) => ids[i]));
  const coefficients = new Float64Array(functions.length * B);
  order.forEach((i, r) => {
    coefficients.set(rows[i], r * B);
  });
  return { functions, coefficients };
}

/**
 * The 1D local refinement blocks between levels k−1 and k: blocks[dir][j·q + i] = T_k[span_k − p + j,
 * previousSpan − p + i], rows the level-k B-splines on a cell, columns the level-(k−1) ones on its parent.
 */
export function localRefinementBlocks(
  space: THBSpace,
  k: number,
  span: readonly number[],
  previousSpan: readonly number[],
  blocks: Float64Array[],
): void {
  for (let dir = 0; dir < space.dimension; dir++) {
    const T = space.directions[dir].refinement(k);
    const p = space.degrees[dir];
    const q = p + 1;
    const block = new Float64Array(q * q);
    for (let j = 0; j <= p; j++) {
      for (let i = 0; i <= p; i++) block[j * q + i] = T.get(span[dir] - p + j, previousSpan[dir] - p + i);
    }
    blocks[dir] = block;
  }
}

/** Applies the Kronecker product of per-direction blocks (q×q each) to a local coefficient tensor. */
export function refineLocal(
  coarse: Float64Array,
  blocks: Float64Array[],
  q: number[],
  d: number,
  tmpA: Float64Array,
  tmpB: Float64Array,
): Float64Array {
  const B = coarse.length;
  let src = coarse;
  let dst = tmpA;
  for (let dir = 0; dir < d; dir++) {
    const block = blocks[dir];
    const n = q[dir];
    let inner = 1;
    for (let k = 0; k < dir; k++) inner *= q[k];
    const outer = B / (inner * n);
    dst.fill(0);
    for (let o = 0; o < outer; o++) {
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const a = block[j * n + i];
          if (a === 0) continue;
          const s = (o * n + i) * inner;
          const t = (o * n + j) * inner;
          for (let x = 0; x < inner; x++) dst[t + x] += a * src[s + x];
        }
      }
    }
    src = dst;
    dst = dst === tmpA ? tmpB : tmpA;
  }
  return Float64Array.from(src);
}
