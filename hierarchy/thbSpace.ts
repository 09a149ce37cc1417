/**
 * THB (truncated hierarchical B-spline) spaces in 2 or 3 parametric directions, and their plain HB variant.
 *
 * Concepts (Giannelli, Jüttler & Speleers 2012; G+Smo's gsHTensorBasis):
 * - level l: the tensor B-splines on level-0 open knots halved l times (dyadic refinement);
 * - domains Ω⁰ ⊇ Ω¹ ⊇ …, kept in a CellTree; an *active element* is a level-l cell in Ω^l \ Ω^{l+1};
 * - a level-l B-spline β is *active* when supp β ⊆ Ω^l and supp β ⊄ Ω^{l+1};
 * - THB truncation: writing a coarse function in the next level's B-splines (two-scale relation), drop the
 *   terms whose support lies inside that level's domain; repeated across all finer levels;
 * - global numbering: by level, then by tensor index (first direction fastest) within a level.
 *
 * Spaces are immutable: refinement returns a new space, so a rejected request changes nothing.
 */
import { validateKnotVector } from "../splines/knotVector.js";
import { CellTree } from "./cellTree.js";
import { HierarchyError } from "./errors.js";
import { type DirectionLevel, DirectionLevels } from "./levelGrid.js";

/** Highest number of levels a space may use (keys of the finest cells must stay below 2^53). */
export const DEFAULT_MAX_LEVELS = 16;

/** How to build a THB space. */
export interface THBSpaceOptions {
  /** Degree per direction (1 to 5), 2 or 3 entries. */
  degrees: readonly number[];
  /** Level-0 knot vectors per direction: open, non-uniform allowed. */
  knots: readonly ArrayLike<number>[];
  /** THB (true, default) or plain HB (false). */
  truncated?: boolean;
  /** Number of levels allowed (default 16). */
  maxLevels?: number;
}

/** An active element: a level and the key of its cell on that level. */
export interface ElementRef {
  level: number;
  key: number;
}

/** Active functions of one level: sorted flat tensor indices, and their global ids from `offset`. */
interface LevelFunctions {
  indices: Float64Array;
  offset: number;
}

/**
 * What a space made from another by changing its tree may reuse: the other's tree and whichever of its
 * tables it had built. Dropped once this space has built its own.
 */
interface Predecessor {
  tree: CellTree;
  functions?: LevelFunctions[];
  elements?: readonly ElementRef[];
}

/** Per-element extraction: active function ids and coefficients `#functions by (p+1)^d` in level-l B-splines. */
export interface ElementExtraction {
  functions: Int32Array;
  coefficients: Float64Array;
}

/** A THB or HB spline space. */
export class THBSpace {
  readonly dimension: number;
  readonly degrees: readonly number[];
  readonly truncated: boolean;
  readonly directions: readonly DirectionLevels[];
  readonly tree: CellTree;
  /** (p+1)^d: local B-splines per element. */
  readonly localSize: number;
  private functionsCache?: LevelFunctions[];
  private elementsCache?: readonly ElementRef[];
  private predecessor?: Predecessor;

  /** A fresh single-level space; refine it with the functions of refinement.ts. */
  static create(options: THBSpaceOptions): THBSpace {
    const { degrees, knots } = options;
    if (!Array.isArray(degrees) || (degrees.length !== 2 && degrees.length !== 3)) {
      throw new HierarchyError(
        `degrees must list 2 or 3 degrees (one per direction), got ${JSON.stringify(degrees)}`,
      );
    }
    for (const [k, p] of degrees.entries()) {
      if (!Number.isInteger(p) || p < 1 || p > 5) {
        throw new HierarchyError(`degrees[${k}] must be an integer from 1 to 5, got ${p}`);
      }
    }
    if (!Array.isArray(knots) || knots.length !== degrees.length) {
      throw new HierarchyError(`knots must list ${degrees.length} knot vectors, one per direction`);
    }
    const maxLevels = options.maxLevels ?? DEFAULT_MAX_LEVELS;
    if (!Number.isInteger(maxLevels) || maxLevels < 1 || maxLevels > 30) {
      throw new HierarchyError(`maxLevels must be an integer from 1 to 30, got ${maxLevels}`);
    }
    const directions = degrees.map((p, k) => {
      const U = validateKnotVector(knots[k], p, { open: true, name: `knots[${k}]` });
      return new DirectionLevels(U, p);
    });
    const baseCells = directions.map((dir) => dir.level(0).cells);
    return new THBSpace(degrees, options.truncated ?? true, directions, new CellTree(baseCells, maxLevels));
  }

  /** Internal: a space over existing level data with a given tree. */
  constructor(
    degrees: readonly number[],
    truncated: boolean,
    directions: readonly DirectionLevels[],
    tree: CellTree,
  ) {
    this.dimension = degrees.length;
    this.degrees = degrees.slice();
    this.truncated = truncated;
    this.directions = directions;
    this.tree = tree;
    this.localSize = degrees.reduce((a, p) => a * (p + 1), 1);
  }

  /** The same level data and variant with another tree (used by refinement). */
  withTree(tree: CellTree): THBSpace {
    return new THBSpace(this.degrees, this.truncated, this.directions, tree);
  }

  /**
   * withTree for a tree that differs from this space's in a few cells (a refinement or a coarsening): the
   * new space builds its active elements and functions by updating this space's near the changed cells
   * (the same tables as from scratch, in time proportional to the change plus one pass over the lists).
   */
  withChangedTree(tree: CellTree): THBSpace {
    const next = this.withTree(tree);
    if (this.functionsCache || this.elementsCache) {
      next.predecessor = { tree: this.tree, functions: this.functionsCache, elements: this.elementsCache };
    }
    return next;
  }

  /** Level data of direction k at level l. */
  level(l: number, k: number): DirectionLevel {
    return this.directions[k].level(l);
  }

  /** Number of levels in use (1 + the finest level with active elements). */
  get levelCount(): number {
    return this.tree.levelCount;
  }

  /** Largest number of levels this space may use. */
  get maxLevels(): number {
    return this.tree.maxLevels;
  }

  /** Parametric domain: lower and upper bound per direction. */
  get lower(): Float64Array {
    return Float64Array.from(this.directions.map((d) => d.level(0).breaks[0]));
  }

  get upper(): Float64Array {
    return Float64Array.from(this.directions.map((d) => d.level(0).breaks[d.level(0).cells]));
  }

  /**
   * Checks `points  #points by d` once, at a public boundary: finite and inside the domain.
   * `fail` builds the named error to throw (the caller's error type and argument name).
   */
  checkPoints(points: ArrayLike<number>, name: string, fail: (message: string) => Error): void {
    const d = this.dimension;
    if (points == null || points.length % d !== 0)
      throw fail(`${name} must hold #points × ${d} numbers, got length ${points?.length}`);
    const lower = this.lower;
    const upper = this.upper;
    for (let i = 0; i < points.length; i++) {
      const k = i % d;
      if (!(points[i] >= lower[k] && points[i] <= upper[k])) {
        throw fail(
          `${name}: point ${(i - k) / d}, coordinate ${k} is ${points[i]}, outside the domain [${lower[k]}, ${upper[k]}]`,
        );
      }
    }
  }

  /** Tensor functions per direction at level l. */
  functionsPerDirection(l: number): number[] {
    return this.directions.map((d) => d.level(l).functions);
  }

  /** Flat tensor index at level l of a tensor multi-index. */
  flatIndex(l: number, index: ArrayLike<number>): number {
    let flat = 0;
    for (let k = this.dimension - 1; k >= 0; k--) flat = flat * this.level(l, k).functions + index[k];
    return flat;
  }

  /** Writes the tensor multi-index of a flat level-l index into out. */
  tensorIndex(l: number, flat: number, out: Int32Array | number[]): void {
    for (let k = 0; k < this.dimension; k++) {
      const n = this.level(l, k).functions;
      const i = flat % n;
      out[k] = i;
      flat = (flat - i) / n;
    }
  }

  /**
   * True when the support of level-l function `flat` lies inside Ω^l: every level-(l−1) parent of its
   * support cells is refined (Ω^l is the union of the children of refined level-(l−1) cells).
   */
  supportInDomain(l: number, flat: number): boolean {
    if (l === 0) return true;
    const d = this.dimension;
    const lo = [0, 0, 0];
    const hi = [0, 0, 0];
    let rest = flat;
    for (let k = 0; k < d; k++) {
      const lv = this.level(l, k);
      const i = rest % lv.functions;
      rest = (rest - i) / lv.functions;
      lo[k] = lv.supportStart[i] >> 1;
      hi[k] = (lv.supportEnd[i] - 1) >> 1;
    }
    const tree = this.tree;
    const refined = tree.refined[l - 1];
    const n0 = tree.cellsAt(l - 1, 0);
    const n1 = d > 1 ? tree.cellsAt(l - 1, 1) : 1;
    for (let c2 = lo[2]; c2 <= hi[2]; c2++) {
      for (let c1 = lo[1]; c1 <= hi[1]; c1++) {
        for (let c0 = lo[0]; c0 <= hi[0]; c0++) {
          if (!refined.has(c0 + n0 * (c1 + n1 * c2))) return false;
        }
      }
    }
    return true;
  }

  /** Active elements ordered by level, then by cell key. */
  get elements(): readonly ElementRef[] {
    if (!this.elementsCache) {
      const before = this.predecessor;
      this.elementsCache = before?.elements
        ? updateActiveElements(before.elements, this.tree.changedCells(before.tree), this.tree)
        : listActiveElements(this.tree);
      if (this.functionsCache) this.predecessor = undefined;
    }
    return this.elementsCache;
  }

  private get functionTable(): LevelFunctions[] {
    if (!this.functionsCache) {
      const before = this.predecessor;
      this.functionsCache = before?.functions
        ? this.updateActiveFunctions(before.functions, this.tree.changedCells(before.tree))
        : this.computeActiveFunctions();
      if (this.elementsCache) this.predecessor = undefined;
    }
    return this.functionsCache;
  }

  /** Number of active functions (the dimension of the space). */
  get size(): number {
    const table = this.functionTable;
    const last = table[table.length - 1];
    return last.offset + last.indices.length;
  }

  /** Active functions per level. */
  get sizePerLevel(): number[] {
    return this.functionTable.map((t) => t.indices.length);
  }

  /** Global id of the first function of each level, plus the total at the end. */
  get levelOffsets(): Int32Array {
    const t = this.functionTable;
    return Int32Array.from([...t.map((x) => x.offset), this.size]);
  }

  /** Sorted flat tensor indices of the active functions of level l. */
  activeFunctions(l: number): Float64Array {
    return this.functionTable[l]?.indices ?? new Float64Array(0);
  }

  /** Global id of the level-l function `flat`, or undefined when it is not active. */
  functionId(l: number, flat: number): number | undefined {
    const level = this.functionTable[l];
    if (!level) return undefined;
    const indices = level.indices;
    let lo = 0;
    let hi = indices.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const v = indices[mid];
      if (v === flat) return level.offset + mid;
      if (v < flat) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }

  /** Level of a global function id (binary search over level offsets). */
  levelOf(id: number): number {
    const t = this.functionTable;
    let lo = 0;
    let hi = t.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (t[mid].offset <= id) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** Flat tensor index (on its level) of a global function id. */
  flatIndexOf(id: number): number {
    const l = this.levelOf(id);
    return this.functionTable[l].indices[id - this.functionTable[l].offset];
  }

  private computeActiveFunctions(): LevelFunctions[] {
    const levels = this.levelCount;
    const table: LevelFunctions[] = [];
    const byLevel: ElementRef[][] = Array.from({ length: levels }, () => []);
    for (const e of this.elements) byLevel[e.level].push(e);
    let offset = 0;
    const cell = [0, 0, 0];
    const index = [0, 0, 0];
    for (let l = 0; l < levels; l++) {
      const candidates = new Set<number>();
      for (const e of byLevel[l]) {
        this.tree.decode(l, e.key, cell);
        this.forEachLocalFunction(l, cell, index, (flat) => candidates.add(flat));
      }
      const active: number[] = [];
      for (const flat of candidates) if (this.supportInDomain(l, flat)) active.push(flat);
      active.sort((a, b) => a - b);
      table.push({ indices: Float64Array.from(active), offset });
      offset += active.length;
    }
    return table;
  }

  /**
   * The active functions from a predecessor's, given the cells whose refined status changed. Flipping a
   * level-l cell c changes Ω^{l+1} on c's children, so it can change only whether the level-l functions
   * non-zero on c (their "not inside Ω^{l+1}") and the level-(l+1) functions non-zero on c's children
   * (their "inside Ω^{l+1}") are active; every other function keeps its status.
   */
  private updateActiveFunctions(before: LevelFunctions[], changed: number[][]): LevelFunctions[] {
    const levels = this.levelCount;
    const dirty: Set<number>[] = Array.from({ length: levels }, () => new Set<number>());
    const cell = [0, 0, 0];
    const child = [0, 0, 0];
    const scratch = [0, 0, 0];
    const children: number[] = [];
    const d = this.dimension;
    for (let l = 0; l < Math.min(levels, changed.length); l++) {
      for (const key of changed[l]) {
        this.tree.decode(l, key, cell);
        this.forEachLocalFunction(l, cell, scratch, (flat) => dirty[l].add(flat));
        if (l + 1 >= levels) continue;
        this.tree.childKeys(l, key, children);
        for (let c = 0; c < 1 << d; c++) {
          this.tree.decode(l + 1, children[c], child);
          this.forEachLocalFunction(l + 1, child, scratch, (flat) => dirty[l + 1].add(flat));
        }
      }
    }
    const table: LevelFunctions[] = [];
    let offset = 0;
    for (let l = 0; l < levels; l++) {
      const old = before[l]?.indices ?? new Float64Array(0);
      const added: number[] = [];
      for (const flat of dirty[l]) if (this.isActiveFunction(l, flat)) added.push(flat);
      added.sort((a, b) => a - b);
      // merge the untouched old functions with the re-examined ones (both ascending)
      const indices = new Float64Array(old.length + added.length);
      let n = 0;
      let j = 0;
      for (let i = 0; i < old.length; i++) {
        const flat = old[i];
        if (dirty[l].has(flat)) continue;
        while (j < added.length && added[j] < flat) indices[n++] = added[j++];
        indices[n++] = flat;
      }
      while (j < added.length) indices[n++] = added[j++];
      table.push({ indices: indices.slice(0, n), offset });
      offset += n;
    }
    return table;
  }

  /** Whether level-l function `flat` is active: its support inside Ω^l, and not all of it refined. */
  private isActiveFunction(l: number, flat: number): boolean {
    if (!this.supportInDomain(l, flat)) return false;
    const d = this.dimension;
    const index = [0, 0, 0];
    this.tensorIndex(l, flat, index);
    const lo = [0, 0, 0];
    const hi = [1, 1, 1];
    for (let k = 0; k < d; k++) {
      lo[k] = this.level(l, k).supportStart[index[k]];
      hi[k] = this.level(l, k).supportEnd[index[k]];
    }
    const refined = this.tree.refined[l];
    const cell = [0, 0, 0];
    for (cell[2] = lo[2]; cell[2] < hi[2]; cell[2]++) {
      for (cell[1] = lo[1]; cell[1] < hi[1]; cell[1]++) {
        for (cell[0] = lo[0]; cell[0] < hi[0]; cell[0]++) {
          if (!refined.has(this.tree.key(l, cell))) return true;
        }
      }
    }
    return false;
  }

  /** Calls f with the flat index of each of the (p+1)^d level-l B-splines non-zero on a cell. */
  forEachLocalFunction(
    l: number,
    cell: ArrayLike<number>,
    scratch: number[],
    f: (flat: number, local: number) => void,
  ): void {
    const d = this.dimension;
    const first = [0, 0, 0];
    const q = [1, 1, 1];
    for (let k = 0; k < d; k++) {
      const lv = this.level(l, k);
      first[k] = lv.spanOfCell[cell[k]] - this.degrees[k];
      q[k] = this.degrees[k] + 1;
    }
    let local = 0;
    for (let j2 = 0; j2 < q[2]; j2++) {
      for (let j1 = 0; j1 < q[1]; j1++) {
        for (let j0 = 0; j0 < q[0]; j0++) {
          scratch[0] = first[0] + j0;
          scratch[1] = first[1] + j1;
          scratch[2] = first[2] + j2;
          f(this.flatIndex(l, scratch), local++);
        }
      }
    }
  }
}

/**
 * The active elements after the cells `changed` flipped, from the list before (both by level, then key):
 * flipping level-l cell c changes only whether c (level l) and its children (level l+1) are active.
 */
function updateActiveElements(
  before: readonly ElementRef[],
  changed: number[][],
  tree: CellTree,
): ElementRef[] {
  const levels = tree.maxLevels;
  const touched: Set<number>[] = Array.from({ length: levels }, () => new Set<number>());
  const children: number[] = [];
  for (let l = 0; l < changed.length; l++) {
    for (const key of changed[l]) {
      touched[l].add(key);
      if (l + 1 >= levels) continue;
      tree.childKeys(l, key, children);
      for (let c = 0; c < 1 << tree.dimension; c++) touched[l + 1].add(children[c]);
    }
  }
  const added: ElementRef[][] = touched.map((keys, level) =>
    [...keys]
      .filter((key) => tree.isActive(level, key))
      .sort((a, b) => a - b)
      .map((key) => ({ level, key })),
  );
  const out: ElementRef[] = [];
  let i = 0;
  for (let level = 0; level < levels; level++) {
    const fresh = added[level];
    let j = 0;
    for (; i < before.length && before[i].level === level; i++) {
      const e = before[i];
      if (touched[level].has(e.key)) continue;
      while (j < fresh.length && fresh[j].key < e.key) out.push(fresh[j++]);
      out.push(e);
    }
    while (j < fresh.length) out.push(fresh[j++]);
  }
  return out;
}

/** Active elements of a tree, by level then key. */
function listActiveElements(tree: CellTree): ElementRef[] {
  const out: ElementRef[] = [];
  const total0 = tree.baseCells.reduce((a, b) => a * b, 1);
  for (let key = 0; key < total0; key++) if (!tree.refined[0].has(key)) out.push({ level: 0, key });
  const children: number[] = [];
  for (let l = 0; l + 1 < tree.maxLevels; l++) {
    const keys: number[] = [];
    for (const parent of tree.refined[l]) {
      tree.childKeys(l, parent, children);
      for (const c of children) if (!tree.refined[l + 1].has(c)) keys.push(c);
    }
    keys.sort((a, b) => a - b);
    for (const key of keys) out.push({ level: l + 1, key });
  }
  return out;
}
