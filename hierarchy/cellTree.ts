/**
 * The nested domains Ω⁰ ⊇ Ω¹ ⊇ … of a THB space as a tree of cells: level-l cell c is *refined* when its
 * 2^d children (level l+1) belong to Ω^{l+1}. Ω⁰ is the whole parametric domain, and Ω^{l+1} is the union
 * of the children of refined level-l cells, so every Ω^{l+1} is a union of whole level-l cells (G+Smo's
 * convention). Memory grows with the refined region: one set entry per refined cell, never the finest grid.
 *
 * Cells are keyed per level by their flat index c0 + N0 (c1 + N1 c2), N_k = base cells_k × 2^l.
 */
import { HierarchyError } from "./errors.js";

/** The refinement tree of a THB space's domains. */
export class CellTree {
  readonly dimension: number;
  /** Level-0 cells per direction. */
  readonly baseCells: readonly number[];
  readonly maxLevels: number;
  /** refined[l]: keys of refined level-l cells. */
  readonly refined: Set<number>[];

  constructor(baseCells: readonly number[], maxLevels: number, refined?: Set<number>[]) {
    this.dimension = baseCells.length;
    this.baseCells = baseCells.slice();
    this.maxLevels = maxLevels;
    let total = 1;
    for (const n of baseCells) total *= n * 2 ** (maxLevels - 1);
    if (!(total <= Number.MAX_SAFE_INTEGER)) {
      throw new HierarchyError(
        `maxLevels ${maxLevels} is too deep for ${baseCells.join("×")} level-0 cells: cell keys would exceed 2^53`,
      );
    }
    this.refined = refined ?? Array.from({ length: maxLevels }, () => new Set<number>());
  }

  /** A deep copy, for copy-on-write refinement. */
  clone(): CellTree {
    return new CellTree(
      this.baseCells,
      this.maxLevels,
      this.refined.map((s) => new Set(s)),
    );
  }

  /** Cells per direction at level l. */
  cellsAt(level: number, k: number): number {
    return this.baseCells[k] * 2 ** level;
  }

  /** Flat key of a cell multi-index at a level. */
  key(level: number, cell: ArrayLike<number>): number {
    let key = 0;
    for (let k = this.dimension - 1; k >= 0; k--) key = key * this.cellsAt(level, k) + cell[k];
    return key;
  }

  /** Writes the cell multi-index of `key` into out. */
  decode(level: number, key: number, out: Int32Array | number[]): void {
    for (let k = 0; k < this.dimension; k++) {
      const n = this.cellsAt(level, k);
      const c = key % n;
      out[k] = c;
      key = (key - c) / n;
    }
  }

  /** Key of the level-(l−1) parent of a level-l cell. */
  parentKey(level: number, key: number): number {
    let parent = 0;
    let scale = 1;
    for (let k = 0; k < this.dimension; k++) {
      const n = this.cellsAt(level, k);
      const c = key % n;
      key = (key - c) / n;
      parent += scale * (c >> 1);
      scale *= this.cellsAt(level - 1, k);
    }
    return parent;
  }

  /** True when the level-l cell lies in Ω^l. */
  inDomain(level: number, key: number): boolean {
    return level === 0 || this.refined[level - 1].has(this.parentKey(level, key));
  }

  /** True when the level-l cell is an active element: in Ω^l and not refined. */
  isActive(level: number, key: number): boolean {
    return this.inDomain(level, key) && !this.refined[level].has(key);
  }

  /**
   * The cells whose refined status differs between this tree and `other` (same base cells), per level:
   * changed[l] lists level-l keys refined in one tree and not in the other.
   */
  changedCells(other: CellTree): number[][] {
    const changed: number[][] = [];
    for (let l = 0; l < this.maxLevels; l++) {
      const mine = this.refined[l];
      const theirs = other.refined[l] ?? new Set<number>();
      const keys: number[] = [];
      if (mine !== theirs) {
        for (const key of mine) if (!theirs.has(key)) keys.push(key);
        for (const key of theirs) if (!mine.has(key)) keys.push(key);
      }
      changed.push(keys);
    }
    return changed;
  }

  /** Deepest level with refined cells + 1: the number of levels in use. */
  get levelCount(): number {
    for (let l = this.maxLevels - 1; l >= 0; l--) if (this.refined[l].size > 0) return l + 2;
    return 1;
  }

  /** Keys of the children of a level-l cell (level l+1), into out (length 2^d). */
  childKeys(level: number, key: number, out: number[]): void {
    const cell = [0, 0, 0];
    this.decode(level, key, cell);
    const d = this.dimension;
    for (let bits = 0; bits < 1 << d; bits++) {
      const child = [0, 0, 0];
      for (let k = 0; k < d; k++) child[k] = 2 * cell[k] + ((bits >> k) & 1);
      out[bits] = this.key(level + 1, child);
    }
  }

  /** The active element containing the level-`level` cell `key` (which must lie in Ω^0 = everywhere). */
  activeElementContaining(level: number, key: number): { level: number; key: number } {
    // walk up to the coarsest ancestor inside the domains, then down while refined
    const chain: number[] = [key];
    for (let l = level; l > 0; l--) chain.push(this.parentKey(l, chain[chain.length - 1]));
    // chain[level - l] is the level-l ancestor
    for (let l = 0; l <= level; l++) {
      const k = chain[level - l];
      if (!this.refined[l].has(k)) return { level: l, key: k };
    }
    return { level, key }; // the cell itself is refined: callers ask about cells at least this fine
  }
}
