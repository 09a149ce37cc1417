/**
 * Plain descriptions of hierarchical spline spaces and fields, as files hold them. They carry no
 * behaviour: hierarchy/serialization.ts turns them into spaces and back.
 */

/** A THB/HB space: level-0 tensor B-splines plus G+Smo boxes [level, lo…, hi…] applied in order. */
export interface HierarchyDescription {
  degree: number[];
  knots: number[][];
  truncated: boolean;
  boxes: number[][];
  maxLevels?: number;
}

/** A field: a space and its control coefficients, `#functions by dim`, in the space's global numbering. */
export interface FieldDescription extends HierarchyDescription {
  dim: number;
  control: number[];
}

/**
 * Bounds on what a description may ask for, checked before anything is built. A spec of a few bytes can
 * name boxes of billions of cells, so each bound caps work that is not proportional to the file's size:
 * - `elements`: active elements (level-0 cells plus 2^d children per refined cell); a space of 2^18
 *   elements builds in about half a second and some 100 MB;
 * - `cellsPerDirection`: cells of one direction on the finest level a box uses (each level keeps arrays of
 *   that length per direction).
 */
export const DESCRIPTION_LIMITS = { elements: 2 ** 18, cellsPerDirection: 2 ** 20 } as const;

/** What a description's boxes ask for, counted from their numbers alone (before any refinement runs). */
export interface RefinementSize {
  /** Upper bound on active elements: level-0 cells plus 2^d children for every cell a box marks. */
  elements: number;
  /** Cells per direction on the finest level any box names (level-0 cells when there are no boxes). */
  finestCells: number;
  /** That finest level. */
  finestLevel: number;
}

/**
 * Counts what `boxes` (G+Smo boxes [level, lo…, hi…]) would refine on a grid of `baseCells` level-0 cells.
 * A box refines, on every level k < its level L, the level-k cells under it; overlapping boxes are counted
 * once per box, so this is an upper bound. Boxes that are not integer arrays of the right length, or whose
 * level is outside 0 … maxLevels − 1, are skipped (the refinement itself reports them); ranges are clamped
 * to the grid. Costs O(#boxes × maxLevels).
 */
export function refinementSize(
  baseCells: readonly number[],
  boxes: readonly (readonly number[])[],
  maxLevels: number,
): RefinementSize {
  const d = baseCells.length;
  let elements = baseCells.reduce((a, n) => a * n, 1);
  let finestLevel = 0;
  for (const box of boxes) {
    if (!Array.isArray(box) || box.length !== 1 + 2 * d || !box.every((x) => Number.isInteger(x))) continue;
    const level = box[0];
    if (level < 0 || level >= maxLevels) continue;
    finestLevel = Math.max(finestLevel, level);
    for (let k = 0; k < level; k++) {
      // level-k cells under the box's level-L range [lo, hi): [⌊lo / 2^(L−k)⌋, ⌈hi / 2^(L−k)⌉)
      const scale = 2 ** (level - k);
      let cells = 1;
      for (let dir = 0; dir < d; dir++) {
        const n = baseCells[dir] * 2 ** k;
        const lo = Math.min(Math.max(Math.floor(box[1 + dir] / scale), 0), n);
        const hi = Math.min(Math.max(Math.ceil(box[1 + d + dir] / scale), 0), n);
        cells *= Math.max(hi - lo, 0);
      }
      elements += 2 ** d * cells;
    }
  }
  const finestCells = Math.max(...baseCells) * 2 ** finestLevel;
  return { elements, finestCells, finestLevel };
}
