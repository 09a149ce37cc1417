/**
 * Bending energy of a displacement field, exact on the THB space:
 *   E(u) = (1/|Ω|) ∫_Ω Σ_k Σ_{i,j} (∂²u_k / ∂ξ_i ∂ξ_j)² dξ  =  (1/|Ω|) Σ_k c_kᵀ K c_k,
 * with K_ab = ∫ Σ_{i,j} ∂²T_a/∂ξ_i∂ξ_j · ∂²T_b/∂ξ_i∂ξ_j assembled once per space by Gauss–Legendre
 * quadrature on every active element (p+1 points per direction: exact, the integrand has degree up to 2p
 * along a direction that is not differentiated). Normalised by the domain's volume so the weight does not depend on the image's size.
 * As an autodiff primitive: value (1/|Ω|) Σ_k c_kᵀ K c_k, VJP (2/|Ω|) K c · g.
 */
import { defineOp } from "../../autodiff/customOp.js";
import { Tensor } from "../../autodiff/tensor.js";
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { elementGaussPoint, elementRuleSize } from "../../kernels/cpu/elementQuadrature.js";
import { LocalBasisScratch, localTensorBasis } from "../../kernels/cpu/planEvaluate.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";
import { SparseMatrix } from "../../linalg/sparseMatrix.js";

/** The bending stiffness K (`#functions by #functions`) of a plan's space, divided by the domain's volume. */
export function bendingMatrix(plan: EvaluationPlan): SparseMatrix {
  const d = plan.dimension;
  const B = plan.localSize;
  const scratch = new LocalBasisScratch(plan, 2);
  const rules = Array.from(plan.degrees, (p) => gaussLegendre(p + 1, 0, 1));
  const total = elementRuleSize(rules);
  // second-derivative blocks 1+d … and their multiplicity in Σ_{i,j} (mixed pairs count twice)
  const firstSecond = 1 + d;
  const seconds = scratch.blocks - firstSecond;
  const multiplicity = Float64Array.from({ length: seconds }, (_, m) => (m < d ? 1 : 2));
  let volume = 1;
  for (let k = 0; k < d; k++) {
    const lo = plan.rootBreaks[plan.rootBreakStart[k]];
    const hi = plan.rootBreaks[plan.rootBreakStart[k + 1] - 1];
    volume *= hi - lo;
  }
  const rowIndex: number[] = [];
  const colIndex: number[] = [];
  const values: number[] = [];
  const point = new Float64Array(d);
  let T = new Float64Array(0);
  const elementMatrix: number[] = [];
  for (let e = 0; e < plan.elementCount; e++) {
    const start = plan.extractionStart[e];
    const k = plan.extractionStart[e + 1] - start;
    if (T.length < k * seconds) T = new Float64Array(k * seconds);
    elementMatrix.length = k * k;
    elementMatrix.fill(0);
    for (let g = 0; g < total; g++) {
      const weight = elementGaussPoint(plan, rules, e, g, point);
      localTensorBasis(plan, e, point, 0, scratch);
      for (let a = 0; a < k; a++) {
        const row = (start + a) * B;
        for (let m = 0; m < seconds; m++) {
          const base = (firstSecond + m) * B;
          let v = 0;
          for (let j = 0; j < B; j++) v += plan.extractionCoefficients[row + j] * scratch.values[base + j];
          T[a * seconds + m] = v;
        }
      }
      for (let a = 0; a < k; a++) {
        for (let b = 0; b < k; b++) {
          let v = 0;
          for (let m = 0; m < seconds; m++) v += multiplicity[m] * T[a * seconds + m] * T[b * seconds + m];
          elementMatrix[a * k + b] += (weight * v) / volume;
        }
      }
    }
    for (let a = 0; a < k; a++) {
      for (let b = 0; b < k; b++) {
        rowIndex.push(plan.extractionFunctions[start + a]);
        colIndex.push(plan.extractionFunctions[start + b]);
        values.push(elementMatrix[a * k + b]);
      }
    }
  }
  return SparseMatrix.fromTriplets(plan.functionCount, plan.functionCount, rowIndex, colIndex, values);
}

/**
 * The bending energy Σ_k c_kᵀ K c_k of `control  #functions by dim` as a differentiable scalar (host
 * tensors, f64), for K from bendingMatrix.
 */
export function bendingEnergyOp(K: SparseMatrix): (control: Tensor) => Tensor {
  const op = defineOp<Float64Array>({
    name: "bendingEnergy",
    implementations: {
      cpu: {
        forward: ([control]) => {
          const dim = control.shape[1];
          const Kc = K.multiply(control.values, dim);
          let energy = 0;
          for (let i = 0; i < Kc.length; i++) energy += Kc[i] * control.values[i];
          return { outputs: [new Tensor(Float64Array.of(energy), [])], residuals: Kc };
        },
        vjp: (Kc, [g], [control]) => {
          if (!g) return [undefined];
          const scale = 2 * g.item();
          return [
            new Tensor(
              Float64Array.from(Kc, (v) => scale * v),
              control.shape,
            ),
          ];
        },
      },
    },
  });
  return (control) => op([control])[0];
}
