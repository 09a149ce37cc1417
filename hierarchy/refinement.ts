/**
 * Refinement and coarsening requests on THB spaces. Every request is validated whole before anything
 * changes, and applied to a copy: the input space is never modified, so a rejected request leaves no trace.
 */
import {
  NO_ADMISSIBILITY,
  refineGraded,
  supportExtension,
  validateAdmissibilityClass,
} from "./admissibility.js";
import { HierarchyError } from "./errors.js";
import { ExtractionWorkspace, extractElement } from "./extraction.js";
import { cellOfParameter } from "./levelGrid.js";
import type { ElementRef, THBSpace } from "./thbSpace.js";

/** Options of admissible refinement. */
export interface RefineOptions {
  /** Admissibility class m ≥ 2 (default 2); Infinity refines exactly what was asked. */
  admissibility?: number;
}

/** An element named by level and cell multi-index on that level. */
export interface ElementRequest {
  level: number;
  cell: readonly number[];
}

/** G+Smo box: [level, lo_0 … lo_{d-1}, hi_0 … hi_{d-1}], half-open cell ranges on that level. */
export type Box = readonly number[];

/**
 * Inserts boxes with G+Smo's semantics (gsHTensorBasis::insertBox): a box of level L refines, for every
 * level k = 1 … L, the level-(k−1) cells covering the box rounded outward to the level-(k−1) grid, so each
 * Ω^k is a union of whole level-(k−1) cells. Boxes apply in order; level-0 boxes change nothing.
 */
export function refineBoxes(space: THBSpace, boxes: readonly Box[]): THBSpace {
  const d = space.dimension;
  if (!Array.isArray(boxes)) throw new HierarchyError("boxes must be an array of [level, lo…, hi…] arrays");
  boxes.forEach((box, b) => {
    if (!Array.isArray(box) || box.length !== 1 + 2 * d) {
      throw new HierarchyError(
        `boxes[${b}] must be [level, ${d} lows, ${d} highs] (${1 + 2 * d} integers), got ${JSON.stringify(box)}`,
      );
    }
    for (const [i, x] of box.entries()) {
      if (!Number.isInteger(x)) throw new HierarchyError(`boxes[${b}][${i}] must be an integer, got ${x}`);
    }
    const level = box[0];
    if (level < 0 || level >= space.maxLevels) {
      throw new HierarchyError(
        `boxes[${b}]: level ${level} is outside 0 … ${space.maxLevels - 1} (maxLevels ${space.maxLevels})`,
      );
    }
    for (let k = 0; k < d; k++) {
      const lo = box[1 + k];
      const hi = box[1 + d + k];
      const n = space.tree.cellsAt(level, k);
      if (!(lo >= 0 && lo < hi && hi <= n)) {
        throw new HierarchyError(
          `boxes[${b}]: direction ${k} range [${lo}, ${hi}) must satisfy 0 ≤ lo < hi ≤ ${n} (cells of level ${level})`,
        );
      }
    }
  });
  const tree = space.tree.clone();
  const cell = [0, 0, 0];
  for (const box of boxes) {
    const L = box[0];
    for (let k = 1; k <= L; k++) {
      const shift = L - (k - 1);
      const lo = [0, 0, 0];
      const hi = [1, 1, 1];
      for (let dir = 0; dir < d; dir++) {
        lo[dir] = Math.floor(box[1 + dir] / 2 ** shift);
        hi[dir] = Math.ceil(box[1 + d + dir] / 2 ** shift);
      }
      for (cell[2] = lo[2]; cell[2] < hi[2]; cell[2]++) {
        for (cell[1] = lo[1]; cell[1] < hi[1]; cell[1]++) {
          for (cell[0] = lo[0]; cell[0] < hi[0]; cell[0]++) tree.refined[k - 1].add(tree.key(k - 1, cell));
        }
      }
    }
  }
  return space.withChangedTree(tree);
}

/**
 * Checks that each request names an active element (one that can still be halved, `forRefinement`);
 * returns their refs.
 */
function resolveElements(
  space: THBSpace,
  requests: readonly ElementRequest[],
  forRefinement: boolean,
): ElementRef[] {
  const d = space.dimension;
  return requests.map((r, i) => {
    if (r == null || !Number.isInteger(r.level) || !Array.isArray(r.cell) || r.cell.length !== d) {
      throw new HierarchyError(
        `elements[${i}] must be { level, cell: [${d} integers] }, got ${JSON.stringify(r)}`,
      );
    }
    if (r.level < 0 || r.level >= space.maxLevels) {
      throw new HierarchyError(`elements[${i}]: level ${r.level} is outside 0 … ${space.maxLevels - 1}`);
    }
    for (let k = 0; k < d; k++) {
      const c = r.cell[k];
      if (!Number.isInteger(c) || c < 0 || c >= space.tree.cellsAt(r.level, k)) {
        throw new HierarchyError(
          `elements[${i}].cell[${k}] = ${c} is outside 0 … ${space.tree.cellsAt(r.level, k) - 1} on level ${r.level}`,
        );
      }
    }
    const key = space.tree.key(r.level, r.cell);
    if (!space.tree.isActive(r.level, key)) {
      throw new HierarchyError(
        `elements[${i}] (level ${r.level}, cell [${r.cell.join(", ")}]) is not an active element`,
      );
    }
    if (forRefinement && r.level + 1 >= space.maxLevels) {
      throw new HierarchyError(
        `elements[${i}] is on the finest allowed level ${r.level} (maxLevels ${space.maxLevels})`,
      );
    }
    return { level: r.level, key };
  });
}

/** Refines active elements (each halved in every direction), grading the mesh to class m. */
export function refineElements(
  space: THBSpace,
  requests: readonly ElementRequest[],
  options: RefineOptions = {},
): THBSpace {
  const m = options.admissibility ?? 2;
  validateAdmissibilityClass(m);
  const elements = resolveElements(space, requests, true);
  return refineElementRefs(space, elements, m);
}

/** Refines resolved element refs on a copy of the space. */
export function refineElementRefs(space: THBSpace, elements: readonly ElementRef[], m: number): THBSpace {
  return refineGraded(space, m, (_, refine) => {
    for (const e of elements) refine(e);
  });
}

/** The active element containing a parameter point. */
export function elementAt(space: THBSpace, x: ArrayLike<number>): ElementRef {
  const d = space.dimension;
  const cell = [0, 0, 0];
  for (let k = 0; k < d; k++) cell[k] = cellOfParameter(space.level(0, k), x[k]);
  let level = 0;
  let key = space.tree.key(0, cell);
  while (space.tree.refined[level].has(key)) {
    level++;
    for (let k = 0; k < d; k++) cell[k] = cellOfParameter(space.level(level, k), x[k]);
    key = space.tree.key(level, cell);
  }
  return { level, key };
}

/**
 * Refines around points until the element containing each point reaches `targetLevel`
 * (`points  #points by d`), grading to class m.
 */
export function refineAtPoints(
  space: THBSpace,
  points: ArrayLike<number>,
  targetLevel: number,
  options: RefineOptions = {},
): THBSpace {
  const m = options.admissibility ?? 2;
  validateAdmissibilityClass(m);
  const d = space.dimension;
  if (!Number.isInteger(targetLevel) || targetLevel < 0 || targetLevel >= space.maxLevels) {
    throw new HierarchyError(
      `targetLevel must be an integer in 0 … ${space.maxLevels - 1}, got ${targetLevel}`,
    );
  }
  space.checkPoints(points, "points", (message) => new HierarchyError(message));
  const x = new Float64Array(d);
  return refineGraded(space, m, (working, refine) => {
    for (let i = 0; i < points.length; i += d) {
      for (let k = 0; k < d; k++) x[k] = points[i + k];
      for (;;) {
        const e = elementAt(working, x);
        if (e.level >= targetLevel) break;
        refine(e);
      }
    }
  });
}

/** Result of a coarsening request. */
export interface CoarsenResult {
  space: THBSpace;
  /** Parents reactivated. */
  coarsened: number;
  /** Requests skipped: a sibling was refined further, or coarsening would break admissibility. */
  skipped: number;
}

/**
 * Coarsening: each requested active element of level ℓ ≥ 1 asks to merge with its siblings back into
 * their level-(ℓ−1) parent. A merge happens only when all siblings are active and the mesh stays
 * admissible of class m around the parent (checked on the extraction of the nearby elements).
 */
export function coarsenElements(
  space: THBSpace,
  requests: readonly ElementRequest[],
  options: RefineOptions = {},
): CoarsenResult {
  const m = options.admissibility ?? 2;
  validateAdmissibilityClass(m);
  // elements on the finest level may merge back: only refinement needs a finer level
  const elements = resolveElements(space, requests, false).map((e, i) => {
    if (e.level < 1) throw new HierarchyError(`elements[${i}] is on level 0 and has no parent to coarsen to`);
    return e;
  });
  let tree = space.tree.clone();
  let coarsened = 0;
  let skipped = 0;
  const children: number[] = [];
  for (const e of elements) {
    const parent = { level: e.level - 1, key: tree.parentKey(e.level, e.key) };
    if (!tree.refined[parent.level].has(parent.key)) continue; // merged by an earlier request
    tree.childKeys(parent.level, parent.key, children);
    if (children.some((c) => tree.refined[e.level].has(c))) {
      skipped++;
      continue;
    }
    const trial = tree.clone();
    trial.refined[parent.level].delete(parent.key);
    const trialSpace = space.withChangedTree(trial);
    if (m !== NO_ADMISSIBILITY && !locallyAdmissible(trialSpace, parent, m)) {
      skipped++;
      continue;
    }
    tree = trial;
    coarsened++;
  }
  return { space: space.withChangedTree(tree), coarsened, skipped };
}

/** Admissibility of the elements near a changed cell: those under the level-0 cells around its ancestor. */
function locallyAdmissible(space: THBSpace, changed: ElementRef, m: number): boolean {
  const d = space.dimension;
  const { lo, hi } = supportExtension(space, changed, 0);
  const margin = Math.max(...space.degrees) + 1;
  for (let k = 0; k < d; k++) {
    lo[k] = Math.max(0, lo[k] - margin);
    hi[k] = Math.min(space.tree.cellsAt(0, k), hi[k] + margin);
  }
  const nearby: ElementRef[] = [];
  const cell = [0, 0, 0];
  const inBox = (level: number, key: number) => {
    space.tree.decode(level, key, cell);
    for (let k = 0; k < d; k++) {
      const c0 = cell[k] >> level;
      if (c0 < lo[k] || c0 >= hi[k]) return false;
    }
    return true;
  };
  for (const e of space.elements) if (inBox(e.level, e.key)) nearby.push(e);
  const work = new ExtractionWorkspace(space);
  for (const e of nearby) {
    let lowest = Number.POSITIVE_INFINITY;
    let highest = -1;
    for (const id of extractElement(e, work).functions) {
      const l = space.levelOf(id);
      lowest = Math.min(lowest, l);
      highest = Math.max(highest, l);
    }
    if (highest - lowest + 1 > m) return false;
  }
  return true;
}
