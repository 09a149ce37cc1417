/**
 * The gradient path of fitting, through autodiff and the THB primitive: robust losses minimised over the
 * coefficients (L-BFGS or Adam), and parameter correction — foot-point optimisation of each point's (u, v)
 * with Gauss–Newton steps built from the primitive's first-derivative outputs.
 */
import { add, mean, minimum, mul, reshape, sqrt, square, sub, sum } from "../../autodiff/api.js";
import { type MinimizeResult, minimize, minimizeAsync } from "../../autodiff/optimize.js";
import { dispose, type Tensor, tensor } from "../../autodiff/tensor.js";
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { pointSetFits } from "../../primitives/thbPointSet.js";
import { thbOps } from "../../primitives/thbPrimitive.js";
import type { WebGpuTensors } from "../../primitives/webgpuTensors.js";

/** Robust data terms of the gradient path. */
export type FitLoss = "l2" | "huber" | "l1";

/** Options of the gradient path. */
export interface GradientFitOptions {
  method: "lbfgs" | "adam";
  loss: FitLoss;
  huberDelta: number;
  maxIterations: number;
  learningRate?: number;
}

/**
 * mean ρ(‖S(x_k; C) − f_k‖) as a function of the flat coefficients, from tensors X (`#points by 2`) and F
 * (`#points by dim`) on the host or the GPU alike: every mask comes from primitives (Huber through
 * minimum), never from reading values back.
 */
function lossFunction(
  plan: EvaluationPlan,
  X: Tensor,
  F: Tensor,
  dim: number,
  options: GradientFitOptions,
): (c: Tensor) => Tensor {
  const ops = thbOps(plan);
  return (c) => {
    const residual = sub(ops.evaluate(reshape(c, [plan.functionCount, dim]), X), F);
    const squared = sum(square(residual), 1); // ‖r‖² per point
    if (options.loss === "l2") return mean(squared);
    const r = sqrt(add(squared, 1e-24));
    if (options.loss === "l1") return mean(r);
    // Huber: with m = min(r, δ), m²/(2δ) + (r − m) is r²/(2δ) inside δ and r − δ/2 outside
    const delta = options.huberDelta;
    const m = minimum(r, delta);
    return mean(add(mul(square(m), 1 / (2 * delta)), sub(r, m)));
  };
}

const minimizeOptions = (options: GradientFitOptions) => ({
  method: options.method,
  maxIterations: options.maxIterations,
  tolerance: 1e-12,
  learningRate: options.learningRate ?? 1e-3,
});

/**
 * Minimises mean ρ(‖S(x_k; C) − f_k‖) over C from `initial` (`#functions by dim`) on the host in f64:
 * l2 ρ(r) = r², huber ρ(r) = r² / (2δ) for r ≤ δ else r − δ/2, l1 ρ(r) = r (smoothed at 1e-12). The
 * points' basis is cached once (a point set) and the loss fused; the general path when that cache would
 * exceed its memory limit (primitives/thbPointSet.ts).
 */
export function fitCoefficientsByGradient(
  plan: EvaluationPlan,
  params: Float64Array,
  values: Float64Array,
  dim: number,
  initial: Float64Array,
  options: GradientFitOptions,
): { control: Float64Array; iterations: number } {
  const count = params.length / 2;
  const F = tensor(values, [count, dim]);
  // fixed points: their basis cached once and the loss fused (one pass per evaluation), unless the cache
  // would not fit its memory limit
  let f: (c: Tensor) => Tensor;
  if (pointSetFits(plan, count)) {
    const ops = thbOps(plan);
    const set = ops.pointSet(params);
    const loss = {
      penalty: options.loss === "l2" ? ("squared" as const) : options.loss,
      delta: options.huberDelta,
    };
    f = (c) => ops.residualLoss(reshape(c, [plan.functionCount, dim]), set, F, loss);
  } else f = lossFunction(plan, tensor(params, [count, 2]), F, dim, options);
  const result = minimize(f, initial, minimizeOptions(options));
  return { control: bestOf(result, initial), iterations: result.iterations };
}

/**
 * The optimiser's answer, or the start where the answer is worse: Adam's first steps have the learning rate's
 * size whatever the gradient, so from a least-squares start they can raise the loss they were asked to lower.
 */
function bestOf(result: MinimizeResult, initial: Float64Array): Float64Array {
  const start = result.history[0]?.value;
  return start !== undefined && !(result.value <= start) ? Float64Array.from(initial) : result.x;
}

/**
 * The same minimisation with the points on the GPU (f32): forward, loss and backward run as WebGPU
 * kernels, and only the loss and the coefficient gradient come back each evaluation. The optimiser state
 * stays in f64 on the host.
 */
export async function fitCoefficientsByGradientOnDevice(
  gpu: WebGpuTensors,
  plan: EvaluationPlan,
  params: Float64Array,
  values: Float64Array,
  dim: number,
  initial: Float64Array,
  options: GradientFitOptions,
): Promise<{ control: Float64Array; iterations: number }> {
  // stored in element order: every kernel reads the points contiguously, and none is located per step
  const {
    params: X,
    companions: [F],
  } = gpu.toDeviceByElement(plan, params, [{ values, width: dim }]);
  try {
    const result = await minimizeAsync(
      lossFunction(plan, X, F, dim, options),
      initial,
      minimizeOptions(options),
    );
    return { control: bestOf(result, initial), iterations: result.iterations };
  } finally {
    // the next refinement brings a new plan and new points
    dispose(X, F);
    gpu.forgetPlan(plan);
  }
}

/**
 * Parameter correction: `rounds` Gauss–Newton steps per point on ‖S(u) − p‖² with the coefficients fixed,
 * δ = (JᵀJ)⁻¹ Jᵀ (p − S), J = [S_u S_v] from the primitive's derivative output; steps are halved until the
 * distance does not grow, and parameters stay inside the domain. Returns the corrected parameters.
 */
export function correctParameters(
  plan: EvaluationPlan,
  control: Float64Array,
  dim: number,
  params: Float64Array,
  values: Float64Array,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  rounds: number,
): Float64Array {
  const ops = thbOps(plan);
  const count = params.length / 2;
  const C = tensor(control, [plan.functionCount, dim]);
  let current = Float64Array.from(params);
  for (let round = 0; round < rounds; round++) {
    const { values: S, derivatives: D } = ops.evaluateWithDerivatives(C, tensor(current, [count, 2]));
    const trial = new Float64Array(current.length);
    for (let i = 0; i < count; i++) {
      let a = 0;
      let b = 0;
      let c = 0;
      let g0 = 0;
      let g1 = 0;
      for (let k = 0; k < dim; k++) {
        const su = D.values[i * 2 * dim + k];
        const sv = D.values[(i * 2 + 1) * dim + k];
        const r = values[i * dim + k] - S.values[i * dim + k];
        a += su * su;
        b += su * sv;
        c += sv * sv;
        g0 += su * r;
        g1 += sv * r;
      }
      const det = a * c - b * b;
      const du = det > 1e-300 ? (c * g0 - b * g1) / det : 0;
      const dv = det > 1e-300 ? (a * g1 - b * g0) / det : 0;
      trial[2 * i] = Math.min(Math.max(current[2 * i] + du, lower[0]), upper[0]);
      trial[2 * i + 1] = Math.min(Math.max(current[2 * i + 1] + dv, lower[1]), upper[1]);
    }
    // keep a point's step only where it does not increase its distance (half it once otherwise)
    const after = ops.evaluate(C, tensor(trial, [count, 2])).values;
    for (let i = 0; i < count; i++) {
      let before = 0;
      let now = 0;
      for (let k = 0; k < dim; k++) {
        before += (values[i * dim + k] - S.values[i * dim + k]) ** 2;
        now += (values[i * dim + k] - after[i * dim + k]) ** 2;
      }
      if (now > before) {
        trial[2 * i] = 0.5 * (trial[2 * i] + current[2 * i]);
        trial[2 * i + 1] = 0.5 * (trial[2 * i + 1] + current[2 * i + 1]);
      }
    }
    current = trial;
  }
  return current;
}
