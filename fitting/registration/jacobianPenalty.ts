/**
 * A penalty that keeps the transform's Jacobian determinant above a threshold τ:
 *   J(c) = mean over points x of max(0, τ − det(I + ∂u_c/∂ξ (x)))²,
 * zero wherever the transform is safely invertible, growing quadratically as it approaches folding. The
 * points are each active element's (p+1)^d Gauss points (so every element is watched, at every level), and
 * the first derivatives of the THB functions there are tabulated once per plan; the gradient is
 * ∂J/∂c[a, k] = −2/N Σ_x (τ − det) cof_kj(x) ∂T_a/∂ξ_j (x), cof the cofactor matrix of I + ∂u/∂ξ.
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { elementGaussPoint, elementRuleSize } from "../../kernels/cpu/elementQuadrature.js";
import { LocalBasisScratch, localTensorBasis } from "../../kernels/cpu/planEvaluate.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";

/** The tabulated penalty of one plan. */
export interface JacobianPenalty {
  /** Number of points watched. */
  readonly points: number;
  /** J at `control  #functions by d`; adds weight · ∇J into `gradient`. */
  addTo(control: Float64Array, weight: number, gradient: Float64Array): number;
  /** The smallest det J over the points at `control`. */
  minimum(control: Float64Array): number;
}

/** Tabulates the det-J penalty of `plan` with threshold `threshold`. */
export function jacobianPenalty(plan: EvaluationPlan, threshold: number): JacobianPenalty {
  const d = plan.dimension;
  const B = plan.localSize;
  const rules = Array.from(plan.degrees, (p) => gaussLegendre(p + 1, 0, 1));
  const perElement = elementRuleSize(rules);
  const scratch = new LocalBasisScratch(plan, 1);
  const point = new Float64Array(d);
  // per point: functions rowStart … and ∂T_a/∂ξ_j, `#entries by d`
  const rowStart = new Int32Array(plan.elementCount * perElement + 1);
  const functions: number[] = [];
  const derivatives: number[] = [];
  let n = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    const start = plan.extractionStart[e];
    const k = plan.extractionStart[e + 1] - start;
    for (let g = 0; g < perElement; g++) {
      elementGaussPoint(plan, rules, e, g, point);
      localTensorBasis(plan, e, point, 0, scratch);
      for (let a = 0; a < k; a++) {
        const row = (start + a) * B;
        functions.push(plan.extractionFunctions[start + a]);
        for (let j = 0; j < d; j++) {
          let v = 0;
          const base = (1 + j) * B;
          for (let b = 0; b < B; b++) v += plan.extractionCoefficients[row + b] * scratch.values[base + b];
          derivatives.push(v);
        }
      }
      rowStart[++n] = functions.length;
    }
  }
  const fn = Int32Array.from(functions);
  const D = Float64Array.from(derivatives);
  const J = new Float64Array(9);
  const cof = new Float64Array(9);
  /** J[k·3 + j] = δ_kj + ∂u_k/∂ξ_j at point x; returns det. */
  const jacobianAt = (control: Float64Array, x: number): number => {
    J.fill(0);
    for (let k = 0; k < d; k++) J[k * 3 + k] = 1;
    for (let r = rowStart[x]; r < rowStart[x + 1]; r++) {
      const a = fn[r] * d;
      for (let k = 0; k < d; k++) {
        const c = control[a + k];
        for (let j = 0; j < d; j++) J[k * 3 + j] += c * D[r * d + j];
      }
    }
    if (d === 2) {
      cof[0] = J[4];
      cof[1] = -J[3];
      cof[3] = -J[1];
      cof[4] = J[0];
      return J[0] * J[4] - J[1] * J[3];
    }
    cof[0] = J[4] * J[8] - J[5] * J[7];
    cof[1] = J[5] * J[6] - J[3] * J[8];
    cof[2] = J[3] * J[7] - J[4] * J[6];
    cof[3] = J[2] * J[7] - J[1] * J[8];
    cof[4] = J[0] * J[8] - J[2] * J[6];
    cof[5] = J[1] * J[6] - J[0] * J[7];
    cof[6] = J[1] * J[5] - J[2] * J[4];
    cof[7] = J[2] * J[3] - J[0] * J[5];
    cof[8] = J[0] * J[4] - J[1] * J[3];
    return J[0] * cof[0] + J[1] * cof[1] + J[2] * cof[2];
  };
  return {
    points: n,
    addTo(control, weight, gradient) {
      let value = 0;
      for (let x = 0; x < n; x++) {
        const det = jacobianAt(control, x);
        const gap = threshold - det;
        if (gap <= 0) continue;
        value += (gap * gap) / n;
        // ∂det/∂J[k][j] = cof[k][j]
        const scale = (-2 * weight * gap) / n;
        for (let r = rowStart[x]; r < rowStart[x + 1]; r++) {
          const a = fn[r] * d;
          for (let k = 0; k < d; k++) {
            let s = 0;
            for (let j = 0; j < d; j++) s += cof[k * 3 + j] * D[r * d + j];
            gradient[a + k] += scale * s;
          }
        }
      }
      return value;
    },
    minimum(control) {
      let lowest = Number.POSITIVE_INFINITY;
      for (let x = 0; x < n; x++) lowest = Math.min(lowest, jacobianAt(control, x));
      return lowest;
    },
  };
}
