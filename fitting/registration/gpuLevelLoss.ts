/**
 * The registration loss of one pyramid level on a WebGPU device: the same function as fusedLevelLoss.ts,
 *   L(c) = D(M(A (ξ_x + u_c(ξ_x)) + b), F(x))  +  W_b · E(c)  +  W_j · J(c),
 * with the metric term D and its gradient on the GPU, in f32: levelLoss.ts's composition over device
 * tensors — the THB displacement on the pixel grid (grid kernel), the moving image sampled with its
 * coordinate gradient, the metric's reductions (ssd, ncc, mi: fixed-order tree sums, no atomics, so every
 * run gives the same bits), and the reverse pass back to the coefficients (per-element reduction, then the
 * transposed extraction product). Only the loss and the coefficient gradient come back per evaluation.
 * The regularisers E and J stay on the host in f64: they depend on the coefficients alone (a sparse
 * `#functions`-sized product and a Gauss-point sum per element, no pixels), cost little, and f32 would only
 * lose accuracy there. `control  #functions by d`, flat, row-major.
 */
import { valueAndGrad } from "../../autodiff/grad.js";
import { dispose, scope, Tensor } from "../../autodiff/tensor.js";
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { type PixelBlocks, pixelBlocks } from "../../kernels/cpu/warpKernel.js";
import type { SparseMatrix } from "../../linalg/sparseMatrix.js";
import type { WebGpuTensors } from "../../primitives/webgpuTensors.js";
import { bendingMatrix } from "./bendingEnergy.js";
import { addBending, type FusedLossOptions, pixelResidual, rangeOf } from "./fusedLevelLoss.js";
import { type JacobianPenalty, jacobianPenalty } from "./jacobianPenalty.js";
import { type LevelData, type LossParts, levelLoss } from "./levelLoss.js";

/** A level's loss on the GPU as plain async functions of the flat control array. */
export interface GpuLevelLoss {
  /** The grid's pixel blocks on the host (element of every pixel; the final resampling reuses them). */
  readonly blocks: PixelBlocks;
  /** L at `control`, its gradient written into `gradient` (same length). */
  evaluate(control: Float64Array, gradient: Float64Array): Promise<number>;
  /** The parts of the latest evaluation. */
  readonly parts: LossParts;
  /** The marking residual summed per element at `control` (warped values from the GPU, sums on the host). */
  residualPerElement(control: Float64Array): Promise<Float64Array>;
  /** Returns the level's device buffers (constants, the uploaded plan and moving image) to the pool. */
  release(): void;
}

/** The loss of a level on a plan, its metric term on `gpu`. */
export function gpuLevelLoss(
  gpu: WebGpuTensors,
  plan: EvaluationPlan,
  level: LevelData,
  options: FusedLossOptions,
): GpuLevelLoss {
  const d = plan.dimension;
  const n = plan.functionCount * d;
  const term = levelLoss(plan, level, 0, options.interpolation, options.metric, gpu);
  const blocks = pixelBlocks(plan, level.gridOrigin, level.gridSpacing, level.gridCounts);
  const K: SparseMatrix | undefined = options.bending > 0 ? bendingMatrix(plan) : undefined;
  const Kc = K ? new Float64Array(n) : undefined;
  const penalty: JacobianPenalty | undefined =
    options.jacobianWeight > 0 ? jacobianPenalty(plan, options.jacobianThreshold) : undefined;
  const parts: LossParts = { metric: Number.NaN, regularizer: 0 };
  const spec = {
    bins: 32,
    movingRange: rangeOf(level.moving.values),
    fixedRange: rangeOf(level.fixedValues),
  };
  return {
    blocks,
    parts,
    async evaluate(control, gradient) {
      const { value, grad } = scope(() => valueAndGrad(term.metricTerm, new Tensor(control, [n])));
      try {
        // both read-backs in flight at once: one wait for the queue instead of two
        const [metricValue, metricGradient] = await Promise.all([value.read(), grad.read()]);
        gradient.set(metricGradient);
        const metric = metricValue[0];
        let loss = metric;
        let regularizer = 0;
        if (K && Kc) {
          regularizer = addBending(K, control, d, options.bending, Kc, gradient);
          loss += options.bending * regularizer;
        }
        if (penalty)
          loss += options.jacobianWeight * penalty.addTo(control, options.jacobianWeight, gradient);
        parts.metric = metric;
        parts.regularizer = regularizer;
        return loss;
      } finally {
        dispose(value, grad);
      }
    },
    async residualPerElement(control) {
      const warped = scope(() => term.warpedAll(control));
      const values = await warped.read().finally(() => dispose(warped));
      const residual = pixelResidual(values, level.fixedValues, options.metric, spec);
      const sums = new Float64Array(plan.elementCount);
      for (let t = 0; t < residual.length; t++)
        if (!level.mask || level.mask[t]) sums[blocks.element[t]] += residual[t];
      return sums;
    },
    release() {
      term.release();
      gpu.forgetPlan(plan);
      gpu.forgetImage(level.moving);
    },
  };
}
