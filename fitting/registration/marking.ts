/**
 * Marking for adaptive refinement of a displacement field: the residual (warped − fixed)² summed over the
 * pixels of each active element, then Dörfler's bulk criterion — the fewest elements, largest residual
 * first, whose residuals add up to a fraction θ of the total — and the refinement requests for them.
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import type { ElementRequest } from "../../hierarchy/refinement.js";
import { locatePoints } from "../../kernels/cpu/planEvaluate.js";

/** Σ over the points of each element of `residual  #points` (`points  #points by d` in the plan's domain). */
export function residualPerElement(
  plan: EvaluationPlan,
  points: ArrayLike<number>,
  residual: ArrayLike<number>,
): Float64Array {
  const elements = locatePoints(plan, points);
  const sums = new Float64Array(plan.elementCount);
  for (let i = 0; i < elements.length; i++) sums[elements[i]] += residual[i];
  return sums;
}

/**
 * Dörfler marking: element ids, largest indicator first, until their sum reaches `fraction` of the total
 * (ties broken by element id, so the choice is deterministic), and only elements whose indicator is at
 * least `floor` times the largest (the maximum strategy as a guard). Elements on `maxLevel` are not marked.
 * The guard matters once the misregistration is resolved: the residual left is interpolation noise spread
 * thinly over the whole image, and Dörfler's bulk alone then refines far from the deformation (on a 256²
 * pair deformed in one disc of radius 16 px, 5 levels to 4 mm: 1,294 final DOFs without the guard, 890
 * with it, MSE 6.3e-4 and 1.1e-3, both below the 2,450-DOF uniform 8 mm schedule's 2.0e-3; the ITK brain
 * pair, deformed everywhere, marks the same elements either way).
 */
export function dorflerMarking(
  plan: EvaluationPlan,
  indicator: Float64Array,
  fraction: number,
  maxLevel: number,
  floor = 0.15,
): number[] {
  const order = Array.from(indicator.keys()).filter((e) => plan.elementLevel[e] < maxLevel);
  order.sort((a, b) => indicator[b] - indicator[a] || a - b);
  let total = 0;
  for (const e of order) total += indicator[e];
  const marked: number[] = [];
  let sum = 0;
  const least = order.length > 0 ? floor * indicator[order[0]] : 0;
  for (const e of order) {
    if (sum >= fraction * total || indicator[e] <= 0 || indicator[e] < least) break;
    marked.push(e);
    sum += indicator[e];
  }
  return marked;
}

/**
 * The marked elements and their active neighbours of the same level (cells within `rings` along every
 * axis). A THB function of the next level needs (p+1)/2 coarse cells per axis of refined domain before it
 * becomes active, so refining an isolated element of a cubic space adds nothing; the ring makes each mark
 * count.
 */
export function withNeighbours(plan: EvaluationPlan, marked: readonly number[], rings = 1): number[] {
  const d = plan.dimension;
  const key = (level: number, cell: ArrayLike<number>) => `${level}:${Array.from(cell).join(",")}`;
  const byCell = new Map<string, number>();
  for (let e = 0; e < plan.elementCount; e++)
    byCell.set(key(plan.elementLevel[e], plan.elementCell.subarray(e * d, (e + 1) * d)), e);
  const out = new Set<number>();
  const offsets: number[][] = [[]];
  for (let k = 0; k < d; k++) {
    const next: number[][] = [];
    for (const o of offsets) for (let t = -rings; t <= rings; t++) next.push([...o, t]);
    offsets.splice(0, offsets.length, ...next);
  }
  for (const e of marked) {
    const level = plan.elementLevel[e];
    const cell = plan.elementCell.subarray(e * d, (e + 1) * d);
    for (const o of offsets) {
      const neighbour = byCell.get(
        key(
          level,
          Array.from(cell, (c, k) => c + o[k]),
        ),
      );
      if (neighbour !== undefined) out.add(neighbour);
    }
  }
  return [...out].sort((a, b) => a - b);
}

/** Refinement requests (level and cell) for element ids of a plan. */
export function elementRequests(plan: EvaluationPlan, elements: readonly number[]): ElementRequest[] {
  const d = plan.dimension;
  return elements.map((e) => ({
    level: plan.elementLevel[e],
    cell: Array.from(plan.elementCell.subarray(e * d, (e + 1) * d)),
  }));
}
