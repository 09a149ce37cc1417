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
import type { ElementExtraction, ElementRef, THBSpace } from "./thbSpace.js";

/** A compiled plan with the space it was compiled from. */
export interface CompiledSpace {
  space: THBSpace;
  plan: EvaluationPlan;
}

/**
 * Returns a lookup of the extraction an element of `space` had in `previous`, or undefined where it may have
 * changed (or is new); undefined altogether when the two spaces do not share their knot vectors and kind.
 */
export function reusableExtractions(
  space: THBSpace,
  previous: CompiledSpace,
): ((element: ElementRef) => ElementExtraction | undefined) | undefined {
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
  for (let l = 0; l < levels; l++) {
    const before = old.tree.refined[l];
    const after = tree.refined[l];
    const mark = (key: number) => {
      markAround(space, l, key, near[l], cell);
      if (l + 1 < levels) {
        tree.childKeys(l, key, children);
        for (let c = 0; c < 1 << d; c++) markAround(space, l + 1, children[c], near[l + 1], cell);
      }
    };
    for (const key of after) if (!before.has(key)) mark(key);
    for (const key of before) if (!after.has(key)) mark(key);
  }
  // the previous plan's elements by (level, key)
  const oldElement: Map<number, number>[] = Array.from({ length: levels }, () => new Map<number, number>());
  for (let e = 0; e < plan.elementCount; e++) {
    const level = plan.elementLevel[e];
    oldElement[level].set(tree.key(level, plan.elementCell.subarray(e * d, (e + 1) * d)), e);
  }
  // old global id → new global id (−1: no longer active)
  const renumber = new Int32Array(plan.functionCount);
  for (let f = 0; f < plan.functionCount; f++)
    renumber[f] = space.functionId(plan.functionLevel[f], old.flatIndexOf(f)) ?? -1;
  const B = plan.localSize;
  const ancestor = [0, 0, 0];
  return (element) => {
    const level = element.level;
    tree.decode(level, element.key, cell);
    for (let k = 0; k <= level; k++) {
      if (near[k].size === 0) continue;
      for (let dir = 0; dir < d; dir++) ancestor[dir] = cell[dir] >> (level - k);
      if (near[k].has(tree.key(k, ancestor))) return undefined;
    }
    const e = oldElement[level].get(element.key);
    if (e === undefined) return undefined;
    const start = plan.extractionStart[e];
    const count = plan.extractionStart[e + 1] - start;
    const functions = new Int32Array(count);
    for (let r = 0; r < count; r++) {
      const id = renumber[plan.extractionFunctions[start + r]];
      // the reasoning above says it stays active; if not, extract the element afresh rather than trust it
      if (id < 0 || (r > 0 && id <= functions[r - 1])) return undefined;
      functions[r] = id;
    }
    return { functions, coefficients: plan.extractionCoefficients.slice(start * B, (start + count) * B) };
  };
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
