/**
 * What a refinement leaves of a compiled plan: the extraction rows of the elements it cannot have changed.
 *
 * An element's extraction (extraction.ts) reads, on each ancestor cell a_k (levels k = 0 … its own), which
 * level-k functions local to a_k are active and whose supports lie inside Ω^k. Both depend only on Ω^k and
 * Ω^{k+1} over those functions' supports, which lie within p cells of a_k. Refining (or coarsening) the
 * level-l cells K_l changes Ω^{l+1} there, and so touches the level-l functions within p level-l cells of K_l
 * and the level-(l+1) functions within p level-(l+1) cells of K_l's children. An element none of whose
 * ancestors is that close to a changed cell keeps its rows exactly; only its global function ids move (ids
 * count the active functions level by level), and they are renumbered through (level, tensor index).
 */
import type { EvaluationPlan } from "./plan.js";
import type { THBSpace } from "./thbSpace.js";

/** A compiled plan with the space it was compiled from. */
export interface CompiledSpace {
  space: THBSpace;
  plan: EvaluationPlan;
}

/**
 * How the elements and functions of `space` relate to a previous plan's: which new elements keep the rows
 * of which old element, and the new id of every old function.
 */
export interface PlanReuse {
  /** oldElement[e]: the previous plan's element whose rows new element e keeps, or −1 (extract afresh). */
  oldElement: Int32Array;
  /** renumber[f]: the new global id of the previous plan's function f, or −1 (no longer active). */
  renumber: Int32Array;
}

/**
 * The rows of `previous` that `space` may keep, or undefined when the two spaces do not share their knot
 * vectors and kind. Linear passes over both element and function lists (they are sorted the same way), plus
 * a look at the ancestors of every element; no extraction.
 */
export function planReuse(space: THBSpace, previous: CompiledSpace): PlanReuse | undefined {
  const old = previous.space;
  const plan = previous.plan;
  if (
    old.directions !== space.directions ||
    old.truncated !== space.truncated ||
    old.tree.maxLevels !== space.tree.maxLevels ||
    plan.functionCount !== old.size ||
    plan.elementCount !== old.elements.length
  )
    return undefined;
  const d = space.dimension;
  const tree = space.tree;
  const levels = tree.maxLevels;
  // near[k]: level-k cells whose local functions may have changed
  const near: Set<number>[] = Array.from({ length: levels }, () => new Set<number>());
  const cell = [0, 0, 0];
  const children: number[] = [];
  const changed = tree.changedCells(old.tree);
  for (let l = 0; l < levels; l++) {
    for (const key of changed[l]) {
      markAround(space, l, key, near[l], cell);
      if (l + 1 < levels) {
        tree.childKeys(l, key, children);
        for (let c = 0; c < 1 << d; c++) markAround(space, l + 1, children[c], near[l + 1], cell);
      }
    }
  }
  // old global id → new global id, level by level (both lists ascending)
  const renumber = new Int32Array(plan.functionCount).fill(-1);
  const oldOffsets = plan.levelOffsets;
  const newOffsets = space.levelOffsets;
  for (let l = 0; l < Math.min(old.levelCount, space.levelCount); l++) {
    const a = old.activeFunctions(l);
    const b = space.activeFunctions(l);
    for (let i = 0, j = 0; i < a.length && j < b.length; ) {
      if (a[i] === b[j]) renumber[oldOffsets[l] + i++] = newOffsets[l] + j++;
      else if (a[i] < b[j]) i++;
      else j++;
    }
  }
  // new element → old element with the same (level, key), where no ancestor is near a change
  const elements = space.elements;
  const oldElements = old.elements;
  const oldElement = new Int32Array(elements.length).fill(-1);
  const ancestor = [0, 0, 0];
  let o = 0;
  for (let e = 0; e < elements.length; e++) {
    const { level, key } = elements[e];
    while (
      o < oldElements.length &&
      (oldElements[o].level < level || (oldElements[o].level === level && oldElements[o].key < key))
    )
      o++;
    if (o >= oldElements.length || oldElements[o].level !== level || oldElements[o].key !== key) continue;
    tree.decode(level, key, cell);
    let touched = false;
    for (let k = 0; k <= level && !touched; k++) {
      if (near[k].size === 0) continue;
      for (let dir = 0; dir < d; dir++) ancestor[dir] = cell[dir] >> (level - k);
      touched = near[k].has(tree.key(k, ancestor));
    }
    if (touched) continue;
    // the reasoning above says its functions stay active; if not, extract it afresh rather than trust it
    let valid = true;
    let last = -1;
    for (let r = plan.extractionStart[o]; r < plan.extractionStart[o + 1] && valid; r++) {
      const id = renumber[plan.extractionFunctions[r]];
      valid = id > last;
      last = id;
    }
    if (valid) oldElement[e] = o;
  }
  return { oldElement, renumber };
}

/** Adds the level-l cells within p cells (per direction) of the level-l cell `key` to `set`. */
function markAround(space: THBSpace, l: number, key: number, set: Set<number>, cell: number[]): void {
  const tree = space.tree;
  const d = space.dimension;
  tree.decode(l, key, cell);
  const lo = [0, 0, 0];
  const hi = [0, 0, 0];
  for (let k = 0; k < d; k++) {
    const p = space.degrees[k];
    lo[k] = Math.max(0, cell[k] - p);
    hi[k] = Math.min(tree.cellsAt(l, k) - 1, cell[k] + p);
  }
  const at = [0, 0, 0];
  for (at[2] = lo[2]; at[2] <= hi[2]; at[2]++)
    for (at[1] = lo[1]; at[1] <= hi[1]; at[1]++)
      for (at[0] = lo[0]; at[0] <= hi[0]; at[0]++) set.add(tree.key(l, at));
}
