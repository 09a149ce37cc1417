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

  /** Row buffers (rows of B coefficients), swapped level by level; grown on demand. */
  current = new Float64Array(0);
  next = new Float64Array(0);
  readonly tmpA: Float64Array;
  readonly tmpB: Float64Array;

  constructor(space: THBSpace) {
    this.space = space;
    this.tmpA = new Float64Array(space.localSize);
    this.tmpB = new Float64Array(space.localSize);
  }

  /** Makes both row buffers hold at least `rows` rows. */
  reserve(rows: number): void {
    const size = rows * this.space.localSize;
    if (this.current.length >= size) return;
    const grow = (old: Float64Array) => {
      const buffer = new Float64Array(Math.max(size, 2 * old.length));
      buffer.set(old);
      return buffer;
    };
    this.current = grow(this.current);
    this.next = grow(this.next);
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

/**
 * The extraction of one active element; rows sorted by function id. `walkAlways` skips the shortcut for an
 * element deep inside its level's domain (tests compare the two).
 */
export function extractElement(
  element: ElementRef,
  work: ExtractionWorkspace,
  walkAlways = false,
): ElementExtraction {
  const space = work.space;
  if (!walkAlways) {
    const inner = interiorExtraction(element, work);
    if (inner) return inner;
  }
  const d = space.dimension;
  const degrees = space.degrees;
  const B = space.localSize;
  const le = element.level;
  const cell = [0, 0, 0];
  space.tree.decode(le, element.key, cell);
  const q = [1, 1, 1];
  for (let k = 0; k < d; k++) q[k] = degrees[k] + 1;

  let ids: number[] = [];
  let count = 0; // rows in work.current, row r at r·B
  const ancestor = [0, 0, 0];
  const first = [0, 0, 0];
  const stride = [0, 0, 0];
  const blocks: Float64Array[] = [];
  // the flat indices (on the ancestor's level) of the local B-splines, first direction fastest
  const flats = new Float64Array(B);
  const dropped = new Uint8Array(B);

  for (let k = 0; k <= le; k++) {
    let s = 1;
    for (let dir = 0; dir < d; dir++) {
      const lv = space.level(k, dir);
      ancestor[dir] = cell[dir] >> (le - k);
      first[dir] = lv.spanOfCell[ancestor[dir]] - degrees[dir];
      stride[dir] = s;
      s *= lv.functions;
    }
    let local = 0;
    for (let j2 = 0; j2 < (d > 2 ? q[2] : 1); j2++) {
      for (let j1 = 0; j1 < q[1]; j1++) {
        for (let j0 = 0; j0 < q[0]; j0++) {
          let flat = (first[0] + j0) * stride[0] + (first[1] + j1) * stride[1];
          if (d > 2) flat += (first[2] + j2) * stride[2];
          flats[local++] = flat;
        }
      }
    }
    work.reserve(count + B);
    if (k > 0) {
      for (let dir = 0; dir < d; dir++) blocks[dir] = space.directions[dir].refinementBlock(k, ancestor[dir]);
      const kept: number[] = [];
      // truncation mask of this level's local functions
      for (let j = 0; j < B; j++) dropped[j] = space.truncated && work.supportInside(k, flats[j]) ? 1 : 0;
      const next = work.next;
      for (let r = 0; r < count; r++) {
        const row = refineLocalInto(work.current, r * B, blocks, q, d, work.tmpA, work.tmpB);
        const at = kept.length * B;
        let any = false;
        for (let j = 0; j < B; j++) {
          const v = dropped[j] ? 0 : row[j];
          if (v !== 0) any = true;
          next[at + j] = v;
        }
        if (any) kept.push(ids[r]);
      }
      ids = kept;
      count = kept.length;
      work.next = work.current;
      work.current = next;
    }
    // this level's active functions on the ancestor join as unit rows
    const rows = work.current;
    for (let j = 0; j < B; j++) {
      const id = space.functionId(k, flats[j]);
      if (id === undefined) continue;
      rows.fill(0, count * B, (count + 1) * B);
      rows[count * B + j] = 1;
      ids.push(id);
      count++;
    }
  }

  const order = ids.map((_, i) => i).sort((a, b) => ids[a] - ids[b]);
  const functions = Int32Array.from(order.map((i) => ids[i]));
  const coefficients = new Float64Array(functions.length * B);
  const rows = work.current;
  for (let r = 0; r < order.length; r++) {
    const from = order[r] * B;
    for (let j = 0; j < B; j++) coefficients[r * B + j] = rows[from + j];
  }
  return { functions, coefficients };
}

/**
 * The shortcut for a THB element of level l all of whose (p+1)^d local level-l B-splines are active: their
 * supports then lie inside Ω^l, so truncation removes every one of them from each coarser function, the
 * coarser functions vanish on e, and the extraction is the identity on the level-l functions — what the
 * ancestor walk computes, without refining any row. Undefined when the element is not such (or the space is
 * not truncated).
 */
export function interiorExtraction(
  element: ElementRef,
  work: ExtractionWorkspace,
): ElementExtraction | undefined {
  const space = work.space;
  const le = element.level;
  if (!space.truncated || le === 0) return undefined;
  const d = space.dimension;
  const B = space.localSize;
  const cell = [0, 0, 0];
  space.tree.decode(le, element.key, cell);
  const first = [0, 0, 0];
  const stride = [0, 0, 0];
  let s = 1;
  for (let dir = 0; dir < d; dir++) {
    const lv = space.level(le, dir);
    first[dir] = lv.spanOfCell[cell[dir]] - space.degrees[dir];
    stride[dir] = s;
    s *= lv.functions;
  }
  const q0 = space.degrees[0] + 1;
  const q1 = space.degrees[1] + 1;
  const q2 = d > 2 ? space.degrees[2] + 1 : 1;
  const ids = new Int32Array(B);
  let local = 0;
  for (let j2 = 0; j2 < q2; j2++)
    for (let j1 = 0; j1 < q1; j1++)
      for (let j0 = 0; j0 < q0; j0++) {
        let flat = (first[0] + j0) * stride[0] + (first[1] + j1) * stride[1];
        if (d > 2) flat += (first[2] + j2) * stride[2];
        const id = space.functionId(le, flat);
        if (id === undefined) return undefined;
        ids[local++] = id;
      }
  const order = Array.from(ids.keys()).sort((a, b) => ids[a] - ids[b]);
  const functions = Int32Array.from(order, (j) => ids[j]);
  const coefficients = new Float64Array(B * B);
  for (let r = 0; r < B; r++) coefficients[r * B + order[r]] = 1;
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
  return Float64Array.from(refineLocalInto(coarse, 0, blocks, q, d, tmpA, tmpB));
}

/**
 * refineLocal for the tensor at coarse[offset …]: the result is left in tmpA or tmpB (the one returned),
 * nothing allocated.
 */
export function refineLocalInto(
  coarse: Float64Array,
  offset: number,
  blocks: Float64Array[],
  q: number[],
  d: number,
  tmpA: Float64Array,
  tmpB: Float64Array,
): Float64Array {
  const B = tmpA.length;
  let src = coarse;
  let base = offset;
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
          const s = base + (o * n + i) * inner;
          const t = (o * n + j) * inner;
          for (let x = 0; x < inner; x++) dst[t + x] += a * src[s + x];
        }
      }
    }
    src = dst;
    base = 0;
    dst = dst === tmpA ? tmpB : tmpA;
  }
  return src;
}
