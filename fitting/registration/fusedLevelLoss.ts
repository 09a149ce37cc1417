/**
 * The registration loss of one pyramid level as one hand-written primitive (no tape, nothing allocated per
 * evaluation): the same function as levelLoss.ts,
 *   L(c) = D(M(A (ξ_x + u_c(ξ_x)) + b), F(x))  +  W_b · E(c)  +  W_j · J(c),
 * evaluated by the warp kernels (kernels/cpu/warpKernel.ts: per-level tabulated basis, element blocks of
 * pixels), the metric with its cotangent (kernels/cpu/similarityMetrics.ts), and the transposed extraction.
 * J is the optional det-J penalty (jacobianPenalty.ts). `control  #functions by d`, flat, row-major.
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import type { Interpolation } from "../../kernels/cpu/imageKernels.js";
import { localControl } from "../../kernels/cpu/planEvaluate.js";
import { type HistogramRanges, miMetric, nccMetric, ssdMetric } from "../../kernels/cpu/similarityMetrics.js";
import { gatherFunctionGradientsCpu } from "../../kernels/cpu/thbKernels.js";
import {
  type PixelBlocks,
  pixelBlocks,
  splitsIntoElementRanges,
  warpAdjoint,
  warpAdjointElements,
  warpForward,
  warpForwardElements,
} from "../../kernels/cpu/warpKernel.js";
import {
  ADJOINT_PASS,
  FORWARD_PASS,
  joinPass,
  releaseLevel,
  startPass,
  type WarpHelper,
  warpControl,
} from "../../kernels/cpu/warpThreads.js";
import type { SparseMatrix } from "../../linalg/sparseMatrix.js";
import { bendingMatrix } from "./bendingEnergy.js";
import { type JacobianPenalty, jacobianPenalty } from "./jacobianPenalty.js";
import type { LevelData, LossParts, Metric } from "./levelLoss.js";

/** Weights of the fused loss's regularisers. */
export interface FusedLossOptions {
  metric: Metric;
  interpolation: Interpolation;
  /** Bending energy weight (0: off). */
  bending: number;
  /** det J penalty weight and threshold (weight 0: off). */
  jacobianWeight: number;
  jacobianThreshold: number;
}

/**
 * Levels with fewer pixels run on one thread even with a helper: on the 221×257 ITK pair (57k pixels at full
 * resolution) the second thread made the run slower (0.89 → 1.02 s median, 8 runs each at real-time
 * priority: its start-up and its own compilation take the core V8's background compiler uses), while on
 * the same pair at 3× (511k pixels) the full-resolution level went from 1.83–2.09 s to 1.27–1.49 s.
 */
export const SHARED_PASS_PIXELS = 100_000;

/** A level's loss as plain functions of the flat control array. */
export interface FusedLevelLoss {
  readonly blocks: PixelBlocks;
  /** L at `control`, its gradient written into `gradient` (same length). */
  evaluate(control: Float64Array, gradient: Float64Array): number;
  /** The parts of the latest evaluation. */
  readonly parts: LossParts;
  /** The marking residual summed per element at `control` (see LevelLoss.residual). */
  residualPerElement(control: Float64Array): Float64Array;
  /**
   * A diagonal curvature estimate per control entry at `control` (`#functions by d`):
   * h[j, c] = Σ_x T_j(x) (Lᵀ∇M(x))_c² over the metric's pixels — the Gauss–Newton diagonal of mean squares up
   * to the factor 2/n, lumped (row sums of Σ_x T_j T_k, the basis summing to one), for scaling the optimiser's
   * variables.
   */
  curvature(control: Float64Array): Float64Array;
  /** 2 when the warp passes are shared with a helper thread, else 1. */
  readonly threads: number;
  /** Ends the level on the helper thread, if one shares the passes (call once, after the last evaluation). */
  endLevel(): void;
}

/**
 * The fused loss of a level on a plan. With a `helper` thread, the warp passes of a 2D bicubic level over
 * every pixel are shared with it (kernels/cpu/warpThreads.ts): the same numbers, bit for bit.
 */
export function fusedLevelLoss(
  plan: EvaluationPlan,
  level: LevelData,
  options: FusedLossOptions,
  helper?: WarpHelper,
): FusedLevelLoss {
  const d = plan.dimension;
  const blocks = pixelBlocks(plan, level.gridOrigin, level.gridSpacing, level.gridCounts);
  const total = level.fixedValues.length;
  const pixels = level.samples;
  const count = pixels ? pixels.length : total;
  const fixed = pixels ? Float64Array.from(pixels, (t) => level.fixedValues[t]) : level.fixedValues;
  const include = pixels ? undefined : level.mask;
  const image = {
    size: level.moving.size,
    values: level.moving.values,
    interpolation: options.interpolation,
    frameToMoving: level.frameToMoving,
  };
  const spec: HistogramRanges = {
    bins: 32,
    movingRange: rangeOf(level.moving.values),
    fixedRange: rangeOf(level.fixedValues),
  };
  // the helper's share: the elements from `split` on, about half the pixels
  const split =
    helper && !pixels && count >= SHARED_PASS_PIXELS && splitsIntoElementRanges(plan, blocks, image)
      ? halfway(blocks)
      : -1;
  const array = (length: number) =>
    split >= 0 ? new Float64Array(new SharedArrayBuffer(length * 8)) : new Float64Array(length);
  const local = array(plan.elementCount * plan.localSize * d);
  const elementGradients = array(local.length);
  const values = array(count);
  const du = array(count * d);
  // SharedArrayBuffer exists only where it can be used (cross-origin-isolated pages, Node): not made otherwise
  const handshake = split >= 0 ? warpControl() : new Int32Array(2);
  if (helper && split >= 0)
    helper.post({
      control: handshake,
      plan: {
        degrees: plan.degrees,
        localSize: plan.localSize,
        elementCount: plan.elementCount,
        elementLevel: plan.elementLevel,
      },
      blocks: {
        dimension: blocks.dimension,
        counts: blocks.counts,
        coordinates: blocks.coordinates,
        weights: blocks.weights,
        boxes: blocks.boxes,
      },
      image,
      local,
      values,
      du,
      out: elementGradients,
      first: split,
      end: plan.elementCount,
    });
  let ended = false;
  const join = () => {
    try {
      joinPass(handshake);
    } catch (error) {
      ended = true; // the helper has left the level
      throw error;
    }
  };
  // loop-free on purpose, like evaluate: the passes, on one thread or shared at `split`
  const forward = () => {
    if (split < 0) warpForward(plan, blocks, local, image, values, du, pixels);
    else {
      startPass(handshake, FORWARD_PASS);
      warpForwardElements(plan, blocks, local, image, values, du, 0, split);
      join();
    }
  };
  const adjoint = () => {
    if (split < 0) warpAdjoint(plan, blocks, du, elementGradients, pixels);
    else {
      startPass(handshake, ADJOINT_PASS);
      warpAdjointElements(plan, blocks, du, elementGradients, 0, split);
      join();
    }
  };
  const cotangent = new Float64Array(count);
  const K: SparseMatrix | undefined = options.bending > 0 ? bendingMatrix(plan) : undefined;
  const Kc = K ? new Float64Array(plan.functionCount * d) : undefined;
  const penalty: JacobianPenalty | undefined =
    options.jacobianWeight > 0 ? jacobianPenalty(plan, options.jacobianThreshold) : undefined;
  const parts: LossParts = { metric: Number.NaN, regularizer: 0 };
  const metricOf = (m: Float64Array) =>
    options.metric === "ssd"
      ? ssdMetric(m, fixed, count, include, cotangent)
      : options.metric === "ncc"
        ? nccMetric(m, fixed, count, include, cotangent)
        : miMetric(m, fixed, count, include, spec, cotangent);
  return {
    blocks,
    parts,
    threads: split >= 0 ? 2 : 1,
    evaluate(control, gradient) {
      // loop-free on purpose: every loop lives in a function of its own (see warpForward)
      localControl(plan, control, d, local);
      forward();
      const metric = metricOf(values);
      scaleRows(du, cotangent, count, d);
      adjoint();
      gatherFunctionGradientsCpu(plan, elementGradients, d, gradient as Float64Array<ArrayBuffer>);
      let loss = metric;
      let regularizer = 0;
      if (K && Kc) {
        regularizer = addBending(K, control, d, options.bending, Kc, gradient);
        loss += options.bending * regularizer;
      }
      if (penalty) loss += options.jacobianWeight * penalty.addTo(control, options.jacobianWeight, gradient);
      parts.metric = metric;
      parts.regularizer = regularizer;
      return loss;
    },
    curvature(control) {
      localControl(plan, control, d, local);
      forward();
      squareRows(du, count * d, d, include);
      adjoint();
      const out = new Float64Array(plan.functionCount * d);
      gatherFunctionGradientsCpu(plan, elementGradients, d, out as Float64Array<ArrayBuffer>);
      return out;
    },
    endLevel() {
      if (split >= 0 && !ended) releaseLevel(handshake);
      ended = true;
    },
    residualPerElement(control) {
      localControl(plan, control, d, local);
      const all = new Float64Array(total);
      const allDu = new Float64Array(total * d);
      warpForward(plan, blocks, local, image, all, allDu);
      const residual = pixelResidual(all, level.fixedValues, options.metric, spec);
      const sums = new Float64Array(plan.elementCount);
      for (let t = 0; t < total; t++)
        if (!level.mask || level.mask[t]) sums[blocks.element[t]] += residual[t];
      return sums;
    },
  };
}

/** The first element of the second half of the pixels (elements in order), for splitting the passes. */
function halfway(blocks: PixelBlocks): number {
  const boxes = blocks.boxes;
  const elements = boxes.length / 6;
  const size = (e: number) =>
    Math.max(0, boxes[6 * e + 1] - boxes[6 * e]) * Math.max(0, boxes[6 * e + 3] - boxes[6 * e + 2]);
  let total = 0;
  for (let e = 0; e < elements; e++) total += size(e);
  let sum = 0;
  for (let e = 0; e < elements; e++) {
    if (2 * sum >= total) return e;
    sum += size(e);
  }
  return elements;
}

/** du[s, c] = du[s, c]² for the first `length` entries, 0 on rows outside `include`. */
function squareRows(du: Float64Array, length: number, d: number, include: Uint8Array | undefined): void {
  for (let i = 0; i < length; i++) {
    const v = du[i];
    du[i] = !include || include[(i - (i % d)) / d] === 1 ? v * v : 0;
  }
}

/** du[s, c] *= cotangent[s]: the per-pixel cotangents of u. */
function scaleRows(du: Float64Array, cotangent: Float64Array, count: number, d: number): void {
  for (let s = 0; s < count; s++) {
    const g = cotangent[s];
    for (let c = 0; c < d; c++) du[s * d + c] *= g;
  }
}

/** E = Σ_k c_kᵀ K c_k; adds weight · 2 K c into `gradient`; returns E (shared with gpuLevelLoss.ts). */
export function addBending(
  K: SparseMatrix,
  control: Float64Array,
  d: number,
  weight: number,
  Kc: Float64Array<ArrayBuffer>,
  gradient: Float64Array,
): number {
  K.multiply(control, d, Kc);
  let energy = 0;
  for (let i = 0; i < Kc.length; i++) energy += Kc[i] * control[i];
  const scale = 2 * weight;
  for (let i = 0; i < Kc.length; i++) gradient[i] += scale * Kc[i];
  return energy;
}

/** The smallest and largest value, widened to a unit range when they agree. */
export function rangeOf(values: ArrayLike<number>): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    lo = Math.min(lo, values[i]);
    hi = Math.max(hi, values[i]);
  }
  return hi > lo ? [lo, hi] : [lo, lo + 1];
}

function standardised(values: ArrayLike<number>): Float64Array {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i] / values.length;
  let variance = 0;
  for (let i = 0; i < values.length; i++) variance += (values[i] - mean) ** 2 / values.length;
  const scale = variance > 0 ? 1 / Math.sqrt(variance) : 1;
  return Float64Array.from(values, (v) => (v - mean) * scale);
}

/**
 * A squared residual at every pixel, for marking: ssd (M − F)²; ncc the same of standardised intensities;
 * mi (F − E[F | M])², E[F | M] the fixed intensity each moving bin predicts (nearest bin).
 */
export function pixelResidual(
  warped: ArrayLike<number>,
  fixed: ArrayLike<number>,
  metric: Metric,
  spec: HistogramRanges,
): Float64Array {
  const count = warped.length;
  if (metric === "ssd") return Float64Array.from(warped, (v, i) => (v - fixed[i]) ** 2);
  if (metric === "ncc") {
    const a = standardised(warped);
    const b = standardised(fixed);
    return Float64Array.from(a, (v, i) => (v - b[i]) ** 2);
  }
  const [lo, hi] = spec.movingRange;
  const bin = (v: number) =>
    Math.min(spec.bins - 1, Math.max(0, Math.round(((v - lo) / (hi - lo)) * (spec.bins - 1))));
  const sum = new Float64Array(spec.bins);
  const weight = new Float64Array(spec.bins);
  for (let i = 0; i < count; i++) {
    sum[bin(warped[i])] += fixed[i];
    weight[bin(warped[i])] += 1;
  }
  return Float64Array.from(warped, (v, i) => (fixed[i] - sum[bin(v)] / Math.max(weight[bin(v)], 1)) ** 2);
}
