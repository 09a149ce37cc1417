/**
 * The registration loss on one pyramid level, written against the primitives:
 *   L(c) = D(M(A (ξ_x + u_c(ξ_x)) + b), F(x))  +  W · E(c)
 * with the dissimilarity D one of: ssd — mean (M − F)²; ncc — 1 − NCC(M, F), as ½‖M̂ − F̂‖² of the centred
 * unit vectors; mi — −MI(M, F) of the Parzen-windowed joint histogram (32 bins over each image's range),
 * u_c the THB displacement evaluated on the level's pixel grid (thbOps grid evaluation), M sampled by
 * imageSampler (with its gradient), (A, b) the affine map from the fixed frame to the moving image's index,
 * and E the exact bending energy (bendingEnergy.ts). Control `c  #functions by d` flattened row-major.
 * With `gpu`, the level's constants (grid points, warped base coordinates, fixed values) live on that device,
 * so the whole metric term — THB grid evaluation, sampling, metric, reverse pass to the coefficients — runs
 * as WebGPU kernels in f32 (gpuLevelLoss.ts drives it); read it with `metricTerm` and `await t.read()`.
 */
import { add, div, matmul, mean, mul, neg, reshape, sqrt, square, sub, sum } from "../../autodiff/api.js";
import { dispose, Tensor } from "../../autodiff/tensor.js";
import { transformPoints } from "../../fields/image.js";
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import type { Interpolation } from "../../kernels/cpu/imageKernels.js";
import { type HistogramSpec, imageSampler, mutualInformation } from "../../primitives/imagePrimitives.js";
import { type ThbGrid, thbGrid, thbOps } from "../../primitives/thbPrimitive.js";
import type { WebGpuTensors } from "../../primitives/webgpuTensors.js";
import { bendingEnergyOp, bendingMatrix } from "./bendingEnergy.js";
import { pixelResidual, rangeOf } from "./fusedLevelLoss.js";

/** Similarity metrics of registration. */
export type Metric = "ssd" | "ncc" | "mi";

/** What a level's loss needs: the fixed grid (in the field's frame) and values, the moving image. */
export interface LevelData {
  /** Fixed grid in the field's frame: origin, spacing, counts per axis. */
  readonly gridOrigin: readonly number[];
  readonly gridSpacing: readonly number[];
  readonly gridCounts: readonly number[];
  /** Fixed values at the grid's pixels, first axis fastest. */
  readonly fixedValues: Float64Array;
  /** The moving image (this level's samples) and the affine map frame → its continuous index. */
  readonly moving: { size: readonly number[]; values: Float64Array };
  readonly frameToMoving: Float64Array;
  /**
   * Pixels (ids into the grid, ascending) the loss uses, a fixed random subset chosen once per level so the
   * loss stays a deterministic function for L-BFGS; all pixels when absent.
   */
  readonly samples?: Int32Array;
  /** `#pixels`, 1 where the fixed mask lets the pixel count in the metric, 0 where not; all count when absent. */
  readonly mask?: Uint8Array;
}

/** One evaluation's parts. */
export interface LossParts {
  metric: number;
  regularizer: number;
}

/** A level's loss over one plan, with the parts of its latest evaluations. */
export interface LevelLoss {
  readonly grid: ThbGrid;
  /** L as a function of the flat control tensor (host tensors only: it reads the parts back). */
  readonly loss: (x: Tensor) => Tensor;
  /** The dissimilarity D alone as a function of the flat control tensor, on the level's device (no read-back). */
  readonly metricTerm: (x: Tensor) => Tensor;
  /** The warped moving values at every pixel of the grid, `#pixels`, on the level's device (no gradient). */
  readonly warpedAll: (control: Float64Array) => Tensor;
  /** The parts of the evaluation that gave `value` (the latest such one), if it is still remembered. */
  partsOf(value: number): LossParts | undefined;
  /**
   * A squared residual at every pixel of the grid at control `c` (no gradient), for marking: ssd (M − F)²;
   * ncc the same of standardised intensities; mi (F − E[F | M])², E[F | M] from the joint histogram.
   */
  residual(control: Float64Array): Float64Array;
  /** Releases the device constants (nothing on the host). */
  release(): void;
}

/** (v − v̄) / ‖v − v̄‖ in f64. */
function centredUnit(values: Float64Array): Float64Array {
  let mean = 0;
  for (let i = 0; i < values.length; i++) mean += values[i];
  mean /= values.length;
  let norm = 0;
  for (let i = 0; i < values.length; i++) norm += (values[i] - mean) ** 2;
  const scale = 1 / Math.sqrt(norm);
  return Float64Array.from(values, (v) => (v - mean) * scale);
}

/** (v − v̄) / ‖v − v̄‖ with ops (differentiable, on v's device). */
function centredUnitTensor(v: Tensor): Tensor {
  const centred = sub(v, div(sum(v), v.size));
  return div(centred, sqrt(sum(square(centred))));
}

/** Builds the loss (metric + bending) of a level for a plan; with `gpu`, its metric term runs on that device. */
export function levelLoss(
  plan: EvaluationPlan,
  level: LevelData,
  bending: number,
  interpolation: Interpolation,
  metric: Metric = "ssd",
  gpu?: WebGpuTensors,
): LevelLoss {
  const d = plan.dimension;
  const n = plan.functionCount;
  const ops = thbOps(plan);
  const constants: Tensor[] = [];
  // constants made once per level, where the loss runs (toDevice keeps the host values: points sort by element)
  const place = (values: Float64Array, shape: number[]) => {
    if (!gpu) return new Tensor(values, shape);
    const t = gpu.toDevice(values, shape);
    constants.push(t);
    return t;
  };
  const hostGrid = thbGrid(plan, level.gridOrigin, level.gridSpacing, level.gridCounts);
  const gridPoints = hostGrid.points.values as Float64Array;
  const grid: ThbGrid = gpu
    ? { ...hostGrid, points: place(gridPoints, [...hostGrid.points.shape]) }
    : hostGrid;
  const A = level.frameToMoving;
  // the autodiff path restricts the metric to the masked pixels by using them as its subset
  const samples =
    level.samples ??
    (level.mask ? Int32Array.from(level.mask.keys()).filter((t) => level.mask?.[t] === 1) : undefined);
  const subsetPoints = samples
    ? Float64Array.from(
        { length: samples.length * d },
        (_, i) => gridPoints[samples[Math.floor(i / d)] * d + (i % d)],
      )
    : undefined;
  const subset = subsetPoints && samples ? place(subsetPoints, [samples.length, d]) : undefined;
  const fullBase = place(transformPoints(A, gridPoints), [gridPoints.length / d, d]);
  const base =
    subsetPoints && samples ? place(transformPoints(A, subsetPoints), [samples.length, d]) : fullBase;
  // coords_row = base_row + u_row · Lᵀ, with L the linear part of A: Lᵀ[k][r] = A[k (d+1) + r]
  const linearHost = Float64Array.from({ length: d * d }, (_, i) => A[Math.floor(i / d) * (d + 1) + (i % d)]);
  const linearT = place(linearHost, [d, d]);
  // the common case of aligned axes with equal scales: a scalar multiple of the identity (no matmul)
  let scale: number | undefined = A[0];
  for (let i = 0; i < d * d; i++) {
    const v = linearHost[i];
    if (v !== (i % (d + 1) === 0 ? A[0] : 0)) scale = undefined;
  }
  const fixedHost = samples ? Float64Array.from(samples, (t) => level.fixedValues[t]) : level.fixedValues;
  const fixed = place(fixedHost, [fixedHost.length]);
  // ncc as ½ ‖m̂ − f̂‖² of the centred unit vectors (= 1 − NCC): no cancellation in 1 − NCC near a match,
  // which in f32 left the line search only noise below 1e-4; f̂ made once, in f64
  const fixedUnit = metric === "ncc" ? place(centredUnit(fixedHost), [fixedHost.length]) : undefined;
  const sample = imageSampler(level.moving, interpolation);
  const bend = bending > 0 ? bendingEnergyOp(bendingMatrix(plan)) : undefined;
  const recent: { value: number; parts: LossParts }[] = [];
  const warpedValues = (control: Tensor, all: boolean) => {
    const u = subset && !all ? ops.evaluate(control, subset) : ops.evaluateGrid(control, grid);
    const offset = scale === undefined ? matmul(u, linearT) : scale === 1 ? u : mul(u, scale);
    return sample(add(all ? fullBase : base, offset));
  };
  const spec: HistogramSpec = {
    bins: 32,
    movingRange: rangeOf(level.moving.values),
    fixedRange: rangeOf(level.fixedValues),
  };
  const dissimilarity = (warped: Tensor) =>
    metric === "ssd"
      ? mean(square(sub(warped, fixed)))
      : fixedUnit
        ? mul(sum(square(sub(centredUnitTensor(warped), fixedUnit))), 0.5)
        : neg(mutualInformation(warped, fixed, spec));
  const metricTerm = (x: Tensor) => dissimilarity(warpedValues(reshape(x, [n, d]), false));
  const loss = (x: Tensor) => {
    const control = reshape(x, [n, d]);
    const term = dissimilarity(warpedValues(control, false));
    const regularizer = bend ? bend(control) : undefined;
    const total = regularizer ? add(term, mul(regularizer, bending)) : term;
    recent.push({
      value: total.item(),
      parts: { metric: term.item(), regularizer: regularizer ? regularizer.item() : 0 },
    });
    if (recent.length > 64) recent.shift();
    return total;
  };
  return {
    grid,
    loss,
    metricTerm,
    warpedAll: (control) => warpedValues(new Tensor(control, [n, d]), true),
    release: () => dispose(...constants.splice(0)),
    partsOf: (value) => {
      for (let i = recent.length - 1; i >= 0; i--) if (recent[i].value === value) return recent[i].parts;
      return undefined;
    },
    residual: (control) =>
      pixelResidual(warpedValues(new Tensor(control, [n, d]), true).values, level.fixedValues, metric, spec),
  };
}
