/**
 * The CPU (f64) THB kernels, forward and backward, reading only the compiled plan.
 * Shapes: `control  #functions by dim`, `params  #points by d`, `cotangent  #points by dim`,
 * `local  #elements by B by dim`, element gradients `#elements by B by dim`.
 *
 * Backward to coefficients follows DESIGN.md: a per-element reduction G_e = Σ_{x∈e} b(x) ⊗ ∂L/∂S(x), then
 * ∂L/∂C = Σ_e E_e G_e — sequential and deterministic on the CPU. Backward to parameters contracts the
 * cotangent with the field's first derivatives.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { derivativeCount, secondDerivativeBlock } from "../../splines/tensorBasis.js";
import {
  evaluateLocalField,
  LocalBasisScratch,
  localControl,
  localTensorBasis,
  locatePoint,
} from "./planEvaluate.js";
import { sparseExtraction } from "./sparseExtraction.js";
import { bicubicElementGradients, evaluateSurfaceField } from "./surfaceEvaluate.js";
import { SurfaceBasisScratch, surfaceBasisAt, surfacePlanCache } from "./surfaceLocation.js";

/** Forward: local control blocks, then values (order 0) or values and derivatives up to `order`. */
export function thbForwardCpu(
  plan: EvaluationPlan,
  control: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  order: number,
): { values: Float64Array; local: Float64Array } {
  const local = localControl(plan, control, dim);
  const values =
    plan.dimension === 2 && order === 0
      ? evaluateSurfaceField(plan, local, dim, params)
      : evaluateLocalField(plan, local, dim, params, order);
  return { values, local };
}

/** Per-element reduction G_e[j] = Σ_{x∈e} b_j(x) g(x); `out  #elements by B by dim`. */
export function elementGradientsCpu(
  plan: EvaluationPlan,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dim: number,
  out = new Float64Array(plan.elementCount * plan.localSize * dim),
): Float64Array {
  const d = plan.dimension;
  const B = plan.localSize;
  const count = params.length / d;
  out.fill(0);
  if (d === 2 && plan.degrees[0] === 3 && plan.degrees[1] === 3)
    return bicubicElementGradients(plan, cotangent, dim, params, out);
  if (d === 2) {
    const cache = surfacePlanCache(plan);
    const p = plan.degrees[0];
    const q = plan.degrees[1];
    const basis = new SurfaceBasisScratch(p, q);
    const { Nu, Nv } = basis;
    for (let i = 0; i < count; i++) {
      const e = surfaceBasisAt(plan, cache, params[2 * i], params[2 * i + 1], basis);
      let row = e * B * dim;
      for (let j = 0; j <= q; j++) {
        for (let k = 0; k <= p; k++, row += dim) {
          const w = Nu[k] * Nv[j];
          for (let c = 0; c < dim; c++) out[row + c] += w * cotangent[i * dim + c];
        }
      }
    }
    return out;
  }
  const scratch = new LocalBasisScratch(plan, 0);
  for (let i = 0; i < count; i++) {
    const e = locatePoint(plan, params, i * d);
    localTensorBasis(plan, e, params, i * d, scratch);
    for (let j = 0; j < B; j++) {
      const w = scratch.values[j];
      const row = (e * B + j) * dim;
      for (let c = 0; c < dim; c++) out[row + c] += w * cotangent[i * dim + c];
    }
  }
  return out;
}

/** Transposed extraction: ∂C[a] = Σ_e E_e[a, ·] G_e, `out  #functions by dim`. */
export function gatherFunctionGradientsCpu(
  plan: EvaluationPlan,
  elementGradients: Float64Array,
  dim: number,
  out = new Float64Array(plan.functionCount * dim),
): Float64Array {
  const B = plan.localSize;
  out.fill(0);
  // the non-zeros only, in the dense loop's order (the same sums)
  const { entryStart, entryFunction, entryLocal, entryCoefficient } = sparseExtraction(plan);
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * dim;
    for (let n = entryStart[e]; n < entryStart[e + 1]; n++) {
      const coefficient = entryCoefficient[n];
      const a = entryFunction[n] * dim;
      const row = base + entryLocal[n] * dim;
      for (let c = 0; c < dim; c++) out[a + c] += coefficient * elementGradients[row + c];
    }
  }
  return out;
}

/** Backward to control coefficients: both steps. */
export function thbBackwardControlCpu(
  plan: EvaluationPlan,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dim: number,
): Float64Array {
  return gatherFunctionGradientsCpu(plan, elementGradientsCpu(plan, params, cotangent, dim), dim);
}

/** Backward to parameters: ∂L/∂x_k = Σ_c g_c ∂S_c/∂x_k, `out  #points by d`. */
export function thbBackwardParamsCpu(
  plan: EvaluationPlan,
  local: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
): Float64Array {
  const d = plan.dimension;
  const count = params.length / d;
  const D = evaluateLocalField(plan, local, dim, params, 1);
  const blocks = 1 + d;
  const out = new Float64Array(count * d);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < d; k++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += cotangent[i * dim + c] * D[(i * blocks + 1 + k) * dim + c];
      out[i * d + k] = s;
    }
  }
  return out;
}

/**
 * Per-element reduction for a cotangent of the first derivatives, `cotangent  #points by d by dim`:
 * G_e[j] = Σ_{x∈e} Σ_k ∂_k b_j(x) g_k(x).
 */
export function elementGradientsOfDerivativesCpu(
  plan: EvaluationPlan,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dim: number,
): Float64Array {
  const d = plan.dimension;
  const B = plan.localSize;
  const count = params.length / d;
  const out = new Float64Array(plan.elementCount * B * dim);
  const scratch = new LocalBasisScratch(plan, 1);
  for (let i = 0; i < count; i++) {
    const e = locatePoint(plan, params, i * d);
    localTensorBasis(plan, e, params, i * d, scratch);
    for (let k = 0; k < d; k++) {
      const block = (1 + k) * B;
      for (let j = 0; j < B; j++) {
        const w = scratch.values[block + j];
        const row = (e * B + j) * dim;
        for (let c = 0; c < dim; c++) out[row + c] += w * cotangent[(i * d + k) * dim + c];
      }
    }
  }
  return out;
}

/**
 * Backward to parameters of first-derivative outputs and values together:
 * ∂L/∂x_l = Σ_c gV_c ∂_l S_c + Σ_{k,c} gD_{k,c} ∂_k∂_l S_c, `out  #points by d`.
 */
export function thbBackwardParamsWithDerivativesCpu(
  plan: EvaluationPlan,
  local: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  valueCotangent: ArrayLike<number> | undefined,
  derivativeCotangent: ArrayLike<number> | undefined,
): Float64Array {
  const d = plan.dimension;
  const count = params.length / d;
  const H = evaluateLocalField(plan, local, dim, params, 2);
  const blocks = derivativeCount(d, 2);
  const second = (k: number, l: number): number => secondDerivativeBlock(d, k, l);
  const out = new Float64Array(count * d);
  for (let i = 0; i < count; i++) {
    const base = i * blocks * dim;
    for (let l = 0; l < d; l++) {
      let s = 0;
      if (valueCotangent)
        for (let c = 0; c < dim; c++) s += valueCotangent[i * dim + c] * H[base + (1 + l) * dim + c];
      if (derivativeCotangent) {
        for (let k = 0; k < d; k++) {
          const block = second(k, l);
          for (let c = 0; c < dim; c++)
            s += derivativeCotangent[(i * d + k) * dim + c] * H[base + block * dim + c];
        }
      }
      out[i * d + l] = s;
    }
  }
  return out;
}
