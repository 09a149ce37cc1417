/**
 * Tensor Gauss–Legendre quadrature on the elements of a plan: rule `rules[k]` on [0, 1] along direction k,
 * point g of an element numbered first direction fastest.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
/** A 1D rule: nodes and weights on [0, 1]. */
export interface GaussRule {
  nodes: Float64Array;
  weights: Float64Array;
}

/** Points per element of the tensor rule. */
export function elementRuleSize(rules: readonly GaussRule[]): number {
  return rules.reduce((total, rule) => total * rule.nodes.length, 1);
}

/** Writes quadrature point g of element e into `point` (at `offset`) and returns its weight (element volume included). */
export function elementGaussPoint(
  plan: EvaluationPlan,
  rules: readonly GaussRule[],
  e: number,
  g: number,
  point: Float64Array | number[],
  offset = 0,
): number {
  const d = plan.dimension;
  let rest = g;
  let weight = 1;
  for (let dir = 0; dir < d; dir++) {
    const count = rules[dir].nodes.length;
    const i = rest % count;
    rest = (rest - i) / count;
    const lo = plan.elementBox[e * 2 * d + dir];
    const hi = plan.elementBox[e * 2 * d + d + dir];
    point[offset + dir] = lo + (hi - lo) * rules[dir].nodes[i];
    weight *= (hi - lo) * rules[dir].weights[i];
  }
  return weight;
}
