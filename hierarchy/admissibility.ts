/**
 * Admissible meshes of class m (Buffa & Giannelli 2016; Bracco, Giannelli & Vázquez 2018): on every active
 * element, the THB (or HB) functions acting there belong to at most m successive levels.
 *
 * Refining an element Q of level ℓ first refines its neighbourhood, recursively:
 * - THB: N_T(Q, m) = active elements of level ℓ−m+1 that meet S(Q, ℓ−m+2),
 * - HB:  N_H(Q, m) = active elements of level ℓ−m+1 that meet S(Q, ℓ−m+1),
 * where S(Q, k) is the support extension: the level-k cells in the supports of the level-k B-splines
 * non-zero on Q. Coarser elements met there (possible in meshes built by plain boxes) are refined too.
 */
import type { CellTree } from "./cellTree.js";
import { HierarchyError } from "./errors.js";
import { ExtractionWorkspace, extractElement } from "./extraction.js";
import type { ElementRef, THBSpace } from "./thbSpace.js";

/** Admissibility class meaning "no grading": refine exactly what was asked. */
export const NO_ADMISSIBILITY = Number.POSITIVE_INFINITY;

/** Throws unless m is an integer ≥ 2 or Infinity (no grading). */
export function validateAdmissibilityClass(m: number): void {
  if (!(m === NO_ADMISSIBILITY || (Number.isInteger(m) && m >= 2))) {
    throw new HierarchyError(`admissibility class m must be an integer ≥ 2 (or Infinity for none), got ${m}`);
  }
}

/** The level-k cells of the support extension S(Q, k), as a box [lo, hi) per direction. */
export function supportExtension(
  space: THBSpace,
  element: ElementRef,
  k: number,
): { lo: number[]; hi: number[] } {
  const d = space.dimension;
  const cell = [0, 0, 0];
  space.tree.decode(element.level, element.key, cell);
  const lo = [0, 0, 0];
  const hi = [1, 1, 1];
  for (let dir = 0; dir < d; dir++) {
    const lv = space.level(k, dir);
    const s = lv.spanOfCell[cell[dir] >> (element.level - k)];
    const p = space.degrees[dir];
    lo[dir] = lv.supportStart[s - p];
    hi[dir] = lv.supportEnd[s];
  }
  return { lo, hi };
}

/** Active elements of level ≤ `maxLevel` meeting the level-k cell box [lo, hi). */
function coarseElementsMeeting(
  tree: CellTree,
  k: number,
  lo: number[],
  hi: number[],
  maxLevel: number,
): ElementRef[] {
  const found = new Map<string, ElementRef>();
  const cell = [0, 0, 0];
  for (cell[2] = lo[2]; cell[2] < hi[2]; cell[2]++) {
    for (cell[1] = lo[1]; cell[1] < hi[1]; cell[1]++) {
      for (cell[0] = lo[0]; cell[0] < hi[0]; cell[0]++) {
        const key = tree.key(k, cell);
        if (tree.refined[k].has(key)) continue; // finer than k there
        const e = tree.activeElementContaining(k, key);
        if (e.level <= maxLevel) found.set(`${e.level}:${e.key}`, e);
      }
    }
  }
  return [...found.values()];
}

/**
 * Refines `element` (marks its cell refined in `tree`) after refining its class-m neighbourhood,
 * recursively. `space` must share `tree` (it reads the tree live).
 */
export function refineAdmissibly(space: THBSpace, element: ElementRef, m: number): void {
  const tree = space.tree;
  if (tree.refined[element.level].has(element.key)) return;
  if (element.level + 1 >= tree.maxLevels) {
    throw new HierarchyError(
      `cannot refine a level-${element.level} element: the space allows ${tree.maxLevels} levels (maxLevels)`,
    );
  }
  if (m !== NO_ADMISSIBILITY) {
    const target = element.level - m + 1;
    if (target >= 0) {
      const k = space.truncated ? target + 1 : target;
      for (;;) {
        const { lo, hi } = supportExtension(space, element, k);
        const neighbours = coarseElementsMeeting(tree, k, lo, hi, target);
        if (neighbours.length === 0) break;
        for (const q of neighbours) refineAdmissibly(space, q, m);
      }
    }
  }
  tree.refined[element.level].add(element.key);
}

/**
 * The largest number of successive levels acting on an element, over `elements` (default: all), computed
 * from the extraction — independent of how the mesh was refined.
 */
export function levelsActingPerElement(
  space: THBSpace,
  elements: readonly ElementRef[] = space.elements,
): number {
  const work = new ExtractionWorkspace(space);
  let worst = 0;
  for (const e of elements) {
    const { functions } = extractElement(e, work);
    let lo = Number.POSITIVE_INFINITY;
    let hi = -1;
    for (const id of functions) {
      const l = space.levelOf(id);
      lo = Math.min(lo, l);
      hi = Math.max(hi, l);
    }
    worst = Math.max(worst, hi - lo + 1);
  }
  return worst;
}

/** True when every element sees functions of at most m successive levels. */
export function isAdmissible(space: THBSpace, m: number): boolean {
  return m === NO_ADMISSIBILITY || levelsActingPerElement(space) <= m;
}
