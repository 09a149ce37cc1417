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
 * (ties broken by element id, so the choice is deterministic). Elements on `maxLevel` are not marked.
 */
export function dorflerMarking(
  plan: EvaluationPlan,
  indicator: Float64Array,
  fraction: number,
  maxLevel: number,
): number[] {
  const order = Array.from(indicator.keys()).filter((e) => plan.elementLevel[e] < maxLevel);
  order.sort((a, b) => indicator[b] - indicator[a] || a - b);
  let total = 0;
  for (const e of order) total += indicator[e];
  const marked: number[] = [];
  let sum = 0;
  for (const e of order) {
    if (sum >= fraction * total || indicator[e] <= 0) break;
    marked.push(e);
    sum += indicator[e];
  }
  return marked;
}

/** Refinement requests (level and cell) for element ids of a plan. */
export function elementRequests(plan: EvaluationPlan, elements: readonly number[]): ElementRequest[] {
  const d = plan.dimension;
  return elements.map((e) => ({
    level: plan.elementLevel[e],
    cell: Array.from(plan.elementCell.subarray(e * d, (e + 1) * d)),
  }));
}
