/**
 * Admissible meshes of class m (Buffa & Giannelli 2016; Bracco, Giannelli & Vázquez 2018): on every active
 * element, the THB (or HB) functions acting there belong to at most m successive levels.
 *
 * Refining an element Q of level ℓ first refines its neighbourhood, recursively (Bracco, Giannelli & Vázquez
 * 2018, "Refinement algorithms for adaptive isogeometric methods with hierarchical splines", Algorithms 3.1
 * and 3.3; G+Smo's gsHBox::getTneighborhood / getHneighborhood):
 * - THB: N_T(Q, m) = active elements of level ℓ−m+1 that meet S(Q, ℓ−m+2),
 * - HB:  N_H(Q, m) = active elements of level ℓ−m+1 that meet S(Q, ℓ−m+1),
 * where S(Q, k) is the support extension: the level-k cells in the supports of the level-k B-splines
 * non-zero on Q. REFINE_RECURSIVE(Q): compute N(Q, m) once; refine each Q' of it still active, recursively;
 * then halve Q. Only elements of exactly level ℓ−m+1 are neighbours: coarser elements met by S (possible in
 * admissible meshes, at its rim) are left alone, and the paper proves the result strictly admissible whenever
 * the input is (every mesh this module grades from a single level is).
 *
 * A mesh built another way (plain boxes, coarsening, a file) can be admissible without being strictly so;
 * there the recursion may leave an element with m+1 levels. `refineCoveringCoarser` is the rescue the
 * callers fall back to then: it also refines the coarser elements S meets, until none is left.
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

/** Active elements of exactly level `level` meeting the level-k cell box [lo, hi) (k ≥ level). */
function activeElementsMeeting(
  tree: CellTree,
  level: number,
  k: number,
  lo: number[],
  hi: number[],
): ElementRef[] {
  const found = new Set<number>();
  const cell = [0, 0, 0];
  const shift = k - level;
  const clo = [0, 0, 0];
  const chi = [1, 1, 1];
  for (let dir = 0; dir < tree.dimension; dir++) {
    clo[dir] = lo[dir] >> shift;
    chi[dir] = ((hi[dir] - 1) >> shift) + 1;
  }
  for (cell[2] = clo[2]; cell[2] < chi[2]; cell[2]++) {
    for (cell[1] = clo[1]; cell[1] < chi[1]; cell[1]++) {
      for (cell[0] = clo[0]; cell[0] < chi[0]; cell[0]++) {
        const key = tree.key(level, cell);
        if (tree.isActive(level, key)) found.add(key);
      }
    }
  }
  return [...found].map((key) => ({ level, key }));
}

/** N(Q, m): the neighbourhood of `element` that must be refined before it (empty for m = Infinity). */
function admissibilityNeighbourhood(space: THBSpace, element: ElementRef, m: number): ElementRef[] {
  if (m === NO_ADMISSIBILITY) return [];
  const target = element.level - m + 1;
  if (target < 0) return [];
  const k = space.truncated ? target + 1 : target;
  const { lo, hi } = supportExtension(space, element, k);
  return activeElementsMeeting(space.tree, target, k, lo, hi);
}

/**
 * Refines `element` (marks its cell refined in `tree`) after refining its class-m neighbourhood,
 * recursively (REFINE_RECURSIVE). `space` must share `tree` (it reads the tree live).
 */
export function refineAdmissibly(space: THBSpace, element: ElementRef, m: number): void {
  const tree = space.tree;
  if (tree.refined[element.level].has(element.key)) return;
  if (element.level + 1 >= tree.maxLevels) {
    throw new HierarchyError(
      `cannot refine a level-${element.level} element: the space allows ${tree.maxLevels} levels (maxLevels)`,
    );
  }
  for (const q of admissibilityNeighbourhood(space, element, m)) {
    if (tree.isActive(q.level, q.key)) refineAdmissibly(space, q, m);
  }
  tree.refined[element.level].add(element.key);
}

/** Active elements of level ≤ `maxLevel` meeting the level-k cell box [lo, hi) (k ≥ maxLevel). */
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
 * The rescue grading for meshes that are not strictly admissible: before halving `element`, refines every
 * active element of level ≤ ℓ−m+1 that S(Q, ·) meets — coarser ones too — recursively, until none is left.
 * It refines more than REFINE_RECURSIVE; callers use it only when that one left an element over m levels.
 */
function refineCoveringCoarser(space: THBSpace, element: ElementRef, m: number): void {
  const tree = space.tree;
  if (tree.refined[element.level].has(element.key)) return;
  if (element.level + 1 >= tree.maxLevels) {
    throw new HierarchyError(
      `cannot refine a level-${element.level} element: the space allows ${tree.maxLevels} levels (maxLevels)`,
    );
  }
  const target = element.level - m + 1;
  if (m !== NO_ADMISSIBILITY && target >= 0) {
    const k = space.truncated ? target + 1 : target;
    for (;;) {
      const { lo, hi } = supportExtension(space, element, k);
      const neighbours = coarseElementsMeeting(tree, k, lo, hi, target);
      if (neighbours.length === 0) break;
      for (const q of neighbours) refineCoveringCoarser(space, q, m);
    }
  }
  tree.refined[element.level].add(element.key);
}

/**
 * The active elements on which functions new in `after` may act: halving a level-ℓ cell c only adds
 * level-(ℓ+1) functions, whose supports lie in Ω^{ℓ+1} within the level-(ℓ+1) support extension of c's
 * children, so only elements of level ≥ ℓ+1 there can gain a level (coarser ones only lose some to
 * truncation or deactivation).
 */
function elementsUnderNewFunctions(before: THBSpace, after: THBSpace): ElementRef[] {
  const tree = after.tree;
  const d = after.dimension;
  const found: Set<number>[] = tree.refined.map(() => new Set<number>());
  const cell = [0, 0, 0];
  const lo = [0, 0, 0];
  const hi = [1, 1, 1];
  const collect = (level: number, key: number): void => {
    if (!tree.refined[level].has(key)) {
      found[level].add(key);
      return;
    }
    const children: number[] = [];
    tree.childKeys(level, key, children);
    for (const child of children) collect(level + 1, child);
  };
  for (let l = 0; l + 1 < tree.maxLevels; l++) {
    const visited = new Set<number>(); // level-(l+1) cells already walked
    for (const key of tree.refined[l]) {
      if (before.tree.refined[l].has(key)) continue;
      tree.decode(l, key, cell);
      const fine = l + 1;
      for (let dir = 0; dir < d; dir++) {
        const lv = after.level(fine, dir);
        const p = after.degrees[dir];
        lo[dir] = lv.supportStart[lv.spanOfCell[2 * cell[dir]] - p];
        hi[dir] = lv.supportEnd[lv.spanOfCell[2 * cell[dir] + 1]];
      }
      const c = [0, 0, 0];
      for (c[2] = lo[2]; c[2] < hi[2]; c[2]++) {
        for (c[1] = lo[1]; c[1] < hi[1]; c[1]++) {
          for (c[0] = lo[0]; c[0] < hi[0]; c[0]++) {
            const k = tree.key(fine, c);
            if (visited.has(k)) continue;
            visited.add(k);
            if (tree.inDomain(fine, k)) collect(fine, k);
          }
        }
      }
    }
  }
  const out: ElementRef[] = [];
  found.forEach((keys, level) => {
    for (const key of keys) out.push({ level, key });
  });
  return out;
}

/**
 * Runs `apply` on a copy of the space, halving elements with REFINE_RECURSIVE and returning the copy. Where
 * that leaves an element under new functions with more than m levels — only when the input was admissible
 * without being strictly so, or not admissible at all — it runs `apply` again on a fresh copy with the rescue
 * grading that also refines coarser neighbours (the check extracts only the elements new functions reach,
 * and only those a cheap support test cannot clear).
 */
export function refineGraded(
  space: THBSpace,
  m: number,
  apply: (working: THBSpace, refine: (element: ElementRef) => void) => void,
): THBSpace {
  const working = space.withTree(space.tree.clone());
  apply(working, (e) => refineAdmissibly(working, e, m));
  const result = space.withChangedTree(working.tree);
  if (m === NO_ADMISSIBILITY) return result;
  if (admissibleOn(result, elementsUnderNewFunctions(space, result), m)) return result;
  const rescue = space.withTree(space.tree.clone());
  apply(rescue, (e) => refineCoveringCoarser(rescue, e, m));
  return space.withChangedTree(rescue.tree);
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

/**
 * True when every level-k cell of S(E, k) has a refined level-`refinedLevel` ancestor: S(E, k) ⊂ Ω^{k+1}
 * for refinedLevel = k, S(E, k) ⊂ Ω^k for refinedLevel = k − 1.
 */
function extensionRefined(space: THBSpace, element: ElementRef, k: number, refinedLevel: number): boolean {
  const tree = space.tree;
  const { lo, hi } = supportExtension(space, element, k);
  const shift = k - refinedLevel;
  const cell = [0, 0, 0];
  const ancestor = [0, 0, 0];
  for (cell[2] = lo[2]; cell[2] < hi[2]; cell[2]++) {
    for (cell[1] = lo[1]; cell[1] < hi[1]; cell[1]++) {
      for (cell[0] = lo[0]; cell[0] < hi[0]; cell[0]++) {
        for (let dir = 0; dir < space.dimension; dir++) ancestor[dir] = cell[dir] >> shift;
        if (!tree.refined[refinedLevel].has(tree.key(refinedLevel, ancestor))) return false;
      }
    }
  }
  return true;
}

/**
 * True when no element of `elements` sees functions of more than m successive levels. A cheap sufficient
 * test first — THB: S(E, e−m+1) ⊂ Ω^{e−m+1} truncates every function of level ≤ e−m away from E; HB: for
 * each j ≤ e−m, S(E, j) ⊂ Ω^{j+1} leaves no active level-j B-spline on E — then the extraction where the
 * test is inconclusive.
 */
function admissibleOn(space: THBSpace, elements: readonly ElementRef[], m: number): boolean {
  if (m === NO_ADMISSIBILITY) return true;
  const unclear: ElementRef[] = [];
  for (const e of elements) {
    const coarsest = e.level - m; // functions of this level or coarser must not act on e
    if (coarsest < 0) continue;
    let clear = true;
    if (space.truncated) clear = extensionRefined(space, e, coarsest + 1, coarsest);
    else for (let j = 0; j <= coarsest && clear; j++) clear = extensionRefined(space, e, j, j);
    if (!clear) unclear.push(e);
  }
  return unclear.length === 0 || levelsActingPerElement(space, unclear) <= m;
}

/** True when every element sees functions of at most m successive levels. */
export function isAdmissible(space: THBSpace, m: number): boolean {
  return m === NO_ADMISSIBILITY || levelsActingPerElement(space) <= m;
}
