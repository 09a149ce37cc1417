/**
 * THB primitives at a fixed point set (kernels/cpu/pointSet.ts): the points' elements and basis values are
 * computed once, so the loops that evaluate the same points at every iteration (fitting a cloud with fixed
 * parameters) pay one gather-and-dot per point forward and one per-element reduction backward.
 *   evaluatePoints(control #functions×dim, set) → values #points×dim, VJP: the transpose at the set (a
 *     linear primitive whose VJP is evaluatePoints again, so Hessian-vector products work);
 *   residualLoss(control, set, targets #points×dim) → Σ_k ρ(‖S(x_k) − t_k‖) / #points (or the sum): the loss
 *     fused into the evaluation, one pass over the points for value and gradient, no residual, square or
 *     mean tensors. First derivatives only; the general path (evaluate + sub/square/mean) for more.
 * evaluatePoints takes host tensors (f64). residualLoss runs on either: with control on a WebGPU device the
 * set's cached layout (slot order, f32) is uploaded once and stays there (set.onDevice; releaseDevice()
 * returns it), targets (host tensors) are uploaded in slot order once per tensor, and loss and gradient
 * stay on the device (kernels/webgpu/pointSetWgsl.ts).
 */
import { mul } from "../autodiff/api.js";
import { defineOp } from "../autodiff/customOp.js";
import { allocateForOverwrite, Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { localControl } from "../kernels/cpu/planEvaluate.js";
import {
  buildPointSetBasis,
  type PointSetBasis,
  pointSetBytes,
  pointSetElementGradients,
  pointSetLoss,
  pointSetValues,
  type ResidualPenalty,
  toSlotOrder,
} from "../kernels/cpu/pointSet.js";
import { gatherFunctionGradientsCpu } from "../kernels/cpu/thbKernels.js";
import { upload } from "../kernels/webgpu/gpuBuffers.js";
import { deviceOf, type GpuStorage, type WebGpuTensors } from "./webgpuTensors.js";

/** An f64 array of n values from the host pool (autodiff/tensor.ts), for a kernel that writes all of them. */
const pooled = (n: number) => allocateForOverwrite("f64", n) as Float64Array<ArrayBuffer>;

/** A point set was misused, or would not fit its memory limit. */
export class PointSetError extends Error {
  override name = "PointSetError";
}

/** Default memory limit of a point set's cached basis (bytes). */
export const POINT_SET_MAX_BYTES = 512 * 2 ** 20;

/** Fixed points of one plan with their elements and basis values cached (`#points by d` parameters). */
export class ThbPointSet {
  readonly plan: EvaluationPlan;
  readonly count: number;
  /** The cached order and basis (kernels/cpu/pointSet.ts). */
  readonly basis: PointSetBasis;
  /** Targets in slot order, per targets tensor (tensors are immutable). */
  readonly #sortedTargets = new WeakMap<Tensor, Float64Array>();

  constructor(plan: EvaluationPlan, basis: PointSetBasis) {
    this.plan = plan;
    this.count = basis.count;
    this.basis = basis;
  }

  /** Scratch for the local control blocks of one fused-loss forward (they are not kept past it). */
  #local = new Float64Array(0);

  /** A scratch array of at least n numbers, reused across the set's fused-loss forwards. */
  localScratch(n: number): Float64Array {
    if (this.#local.length < n) this.#local = new Float64Array(n);
    return this.#local;
  }

  /** The rows of `targets  #points by dim` in slot order, converted once per tensor. */
  sortedTargets(targets: Tensor): Float64Array {
    let sorted = this.#sortedTargets.get(targets);
    if (!sorted) {
      sorted = toSlotOrder(this.basis, targets.values, targets.shape[1]);
      this.#sortedTargets.set(targets, sorted);
    }
    return sorted;
  }

  /** The cached layout per device it was uploaded to. */
  readonly #devices = new Map<WebGpuTensors, DevicePointSet>();

  /**
   * The cached layout on a device (f32), uploaded on first use and kept there, so a loop over the set
   * uploads nothing but its control points; releaseDevice() returns the buffers.
   */
  onDevice(gpu: WebGpuTensors): DevicePointSet {
    let resident = this.#devices.get(gpu);
    if (!resident) {
      const { device, pool } = gpu.context;
      const { pointStart, basis } = this.basis;
      const slotElement = new Int32Array(this.count);
      for (let e = 0; e + 1 < pointStart.length; e++) slotElement.fill(e, pointStart[e], pointStart[e + 1]);
      resident = {
        count: this.count,
        pointStart: upload(device, pool, pointStart),
        slotElement: upload(device, pool, slotElement),
        basis: upload(device, pool, Float32Array.from(basis)),
        targets: new WeakMap(),
        uploadedTargets: [],
      };
      this.#devices.set(gpu, resident);
    }
    return resident;
  }

  /** Returns the layout's device buffers (and the targets uploaded with it) to their pools. */
  releaseDevice(): void {
    for (const [gpu, resident] of this.#devices) {
      const { pool } = gpu.context;
      for (const buffer of [resident.pointStart, resident.slotElement, resident.basis]) pool.release(buffer);
      for (const buffer of resident.uploadedTargets) pool.release(buffer);
    }
    this.#devices.clear();
  }
}

/** A point set's cached layout on one device (slot order, f32; kernels/webgpu/pointSetWgsl.ts). */
export interface DevicePointSet {
  readonly count: number;
  readonly pointStart: GPUBuffer;
  readonly slotElement: GPUBuffer;
  readonly basis: GPUBuffer;
  /** Targets in slot order, per host targets tensor. */
  readonly targets: WeakMap<Tensor, GPUBuffer>;
  /** Every targets buffer uploaded, for releaseDevice. */
  readonly uploadedTargets: GPUBuffer[];
}

/** True when a point set of `count` points fits `maxBytes` (default POINT_SET_MAX_BYTES). */
export function pointSetFits(plan: EvaluationPlan, count: number, maxBytes = POINT_SET_MAX_BYTES): boolean {
  return pointSetBytes(plan, count) <= maxBytes;
}

/**
 * The point set of `params` (`#points by d`, a host tensor or an array): located, sorted by element and
 * its basis evaluated once. Throws PointSetError when its cache would exceed `maxBytes` (check first with
 * pointSetFits and keep the general path then) or when `params` is traced (a point set's parameters are
 * constant; differentiate with respect to parameters through thbOps.evaluate).
 */
export function thbPointSet(
  plan: EvaluationPlan,
  params: Tensor | Float64Array,
  maxBytes = POINT_SET_MAX_BYTES,
): ThbPointSet {
  const d = plan.dimension;
  if (params instanceof Tensor) {
    if (params.traced)
      throw new PointSetError(
        "thbPointSet: params is traced, but a point set's parameters are constant (use thbOps.evaluate to differentiate with respect to them)",
      );
    if (params.rank !== 2 || params.shape[1] !== d)
      throw new PointSetError(`thbPointSet: params must have shape [#points, ${d}], got [${params.shape}]`);
  } else if (params.length % d !== 0) {
    throw new PointSetError(`thbPointSet: params holds ${params.length} numbers, not a multiple of d = ${d}`);
  }
  const values = params instanceof Tensor ? params.values : params;
  const count = values.length / d;
  const bytes = pointSetBytes(plan, count);
  if (bytes > maxBytes)
    throw new PointSetError(
      `thbPointSet: ${count} points × ${plan.localSize} basis values need ${(bytes / 2 ** 20).toFixed(0)} MiB, over the limit of ${(maxBytes / 2 ** 20).toFixed(0)} MiB (evaluate through thbOps.evaluate instead)`,
    );
  return new ThbPointSet(plan, buildPointSetBasis(plan, values));
}

/** The fused loss's penalty and reduction. */
export interface ResidualLossOptions {
  /** ρ of the residual norm r: squared r² (default), huber (r²/(2δ) inside δ, r − δ/2 outside), l1 r. */
  penalty?: ResidualPenalty;
  /** Huber's δ (default 1). */
  delta?: number;
  /** Mean over the points (default) or sum. */
  reduction?: "mean" | "sum";
}

/** The point-set primitives of one plan. */
export interface ThbPointSetOps {
  /** Field values at the set's points, `#points by dim` (input order). */
  evaluatePoints(control: Tensor, set: ThbPointSet): Tensor;
  /** The fused loss mean (or sum) over the points of ρ(‖S(x_k; C) − t_k‖), a scalar. */
  residualLoss(control: Tensor, set: ThbPointSet, targets: Tensor, options?: ResidualLossOptions): Tensor;
}

type Op = (inputs: readonly Tensor[]) => Tensor[];

function checkSet(plan: EvaluationPlan, set: ThbPointSet, control: Tensor, what: string): number {
  if (!(set instanceof ThbPointSet) || set.plan !== plan)
    throw new PointSetError(`${what}: the point set was made for another plan (make it with this plan)`);
  if (control.onDevice && what !== "residualLoss")
    throw new PointSetError(
      `${what}: control lives on the GPU; ${what} runs on the host (residualLoss runs on either; use thbOps.evaluate for device tensors)`,
    );
  if (control.rank !== 2 || control.shape[0] !== plan.functionCount)
    throw new PointSetError(
      `${what}: control must have shape [${plan.functionCount}, dim], got [${control.shape}]`,
    );
  return control.shape[1];
}

/** Builds the point-set primitives of a plan. */
export function thbPointSetOps(plan: EvaluationPlan): ThbPointSetOps {
  const perSet = new WeakMap<ThbPointSet, { evaluate: Op; transpose: Op }>();
  const opsOf = (set: ThbPointSet) => {
    let ops = perSet.get(set);
    if (ops) return ops;
    // the coefficient VJP: per-element reduction, then the transposed extraction; linear in g, so its own
    // VJP is the evaluation again
    const transpose: Op = defineOp<undefined>({
      name: "thbPointSetTranspose",
      implementations: {
        cpu: {
          forward: ([g]) => {
            const dim = g.shape[1];
            // pooled arrays (autodiff/tensor.ts): in a scope, a loop's steps reuse them
            const elementGradients = pointSetElementGradients(
              plan,
              set.basis,
              g.values,
              dim,
              pooled(plan.elementCount * plan.localSize * dim),
            );
            const out = gatherFunctionGradientsCpu(
              plan,
              elementGradients,
              dim,
              pooled(plan.functionCount * dim),
            );
            return { outputs: [new Tensor(out, [plan.functionCount, dim])], residuals: undefined };
          },
          vjp: (_, [h]) => [h ? evaluate([h])[0] : undefined],
        },
      },
    });
    const evaluate: Op = defineOp<undefined>({
      name: "thbPointSetEvaluate",
      implementations: {
        cpu: {
          forward: ([control]) => {
            const dim = control.shape[1];
            const local = localControl(
              plan,
              control.values,
              dim,
              pooled(plan.elementCount * plan.localSize * dim),
            );
            const values = pointSetValues(plan, set.basis, local, dim, pooled(set.count * dim));
            return { outputs: [new Tensor(values, [set.count, dim])], residuals: undefined };
          },
          vjp: (_, [g]) => [g ? transpose([g])[0] : undefined],
        },
      },
    });
    ops = { evaluate, transpose };
    perSet.set(set, ops);
    return ops;
  };
  const residualLossOp = (set: ThbPointSet, options: Required<ResidualLossOptions>): Op =>
    defineOp<Float64Array | Tensor | undefined>({
      name: "thbResidualLoss",
      implementations: {
        webgpu: {
          // the cached layout on the device (uploaded once), one pass per slot for the terms and, when
          // traced, one reduction per (element, local function), then the transposed extraction
          forward: ([control, targets]) => {
            const gpu = deviceOf([control]);
            const dim = control.shape[1];
            const resident = set.onDevice(gpu);
            const { device, pool } = gpu.context;
            let targetBuffer = resident.targets.get(targets);
            if (!targetBuffer) {
              targetBuffer = upload(device, pool, Float32Array.from(set.sortedTargets(targets)));
              resident.targets.set(targets, targetBuffer);
              resident.uploadedTargets.push(targetBuffer);
            }
            const scale = options.reduction === "mean" ? 1 / set.count : 1;
            const constants = upload(device, pool, Float32Array.of(scale, options.delta));
            const gpuPlan = gpu.plan(plan);
            const controlBuffer = (control.storage as GpuStorage).buffer;
            const local = gpuPlan.localControl(controlBuffer, dim);
            const terms = gpuPlan.pointSetTerms(
              resident,
              local,
              targetBuffer,
              constants,
              dim,
              options.penalty,
            );
            const loss = gpu.wrap(gpu.arrays.sumAll(terms, set.count), []);
            let gradient: Tensor | undefined;
            if (control.traced) {
              const elementGradients = gpuPlan.pointSetElementGradients(resident, terms, dim);
              gradient = gpu.wrap(gpuPlan.gatherFunctions(elementGradients, dim), [plan.functionCount, dim]);
              pool.release(elementGradients);
            }
            for (const buffer of [constants, local, terms]) pool.release(buffer);
            return { outputs: [loss], residuals: gradient };
          },
          vjp: (gradient, [g], [control]) => {
            if (!g || !(gradient instanceof Tensor)) return [undefined, undefined];
            return [firstOrderOnly(control, mul(gradient, g)), undefined];
          },
        },
        cpu: {
          forward: ([control, targets]) => {
            const dim = control.shape[1];
            const size = plan.elementCount * plan.localSize * dim;
            const local = localControl(plan, control.values, dim, set.localScratch(size));
            const scale = options.reduction === "mean" ? 1 / set.count : 1;
            // traced: the same pass forms the whole gradient (kept as the residual, scaled by the VJP)
            const functionGradients = control.traced ? new Float64Array(plan.functionCount * dim) : undefined;
            const loss = pointSetLoss(
              plan,
              set.basis,
              local,
              dim,
              set.sortedTargets(targets),
              options.penalty,
              options.delta,
              scale,
              functionGradients,
            );
            const out = new Float64Array(1);
            out[0] = loss;
            return { outputs: [new Tensor(out, [])], residuals: functionGradients };
          },
          vjp: (functionGradients, [g], [control]) => {
            if (!g || !(functionGradients instanceof Float64Array)) return [undefined, undefined];
            const dim = control.shape[1];
            const factor = g.values[0];
            const out = new Float64Array(functionGradients.length);
            for (let i = 0; i < out.length; i++) out[i] = functionGradients[i] * factor;
            return [firstOrderOnly(control, new Tensor(out, [plan.functionCount, dim])), undefined];
          },
        },
      },
    });
  return {
    evaluatePoints: (control, set) => {
      checkSet(plan, set, control, "evaluatePoints");
      return opsOf(set).evaluate([control])[0];
    },
    residualLoss: (control, set, targets, options = {}) => {
      const dim = checkSet(plan, set, control, "residualLoss");
      if (
        targets.onDevice ||
        targets.rank !== 2 ||
        targets.shape[0] !== set.count ||
        targets.shape[1] !== dim
      )
        throw new PointSetError(
          `residualLoss: targets must be a host tensor of shape [${set.count}, ${dim}], got [${targets.shape}]${targets.onDevice ? " on the GPU" : ""}`,
        );
      if (targets.traced)
        throw new PointSetError(
          "residualLoss: targets is traced, but the fused loss treats targets as constant (write the loss with evaluatePoints and sub/square/mean)",
        );
      const penalty = options.penalty ?? "squared";
      const delta = options.delta ?? 1;
      if (penalty !== "squared" && penalty !== "huber" && penalty !== "l1")
        throw new PointSetError(`residualLoss: penalty must be "squared", "huber" or "l1", got "${penalty}"`);
      if (!(delta > 0)) throw new PointSetError(`residualLoss: delta must be positive, got ${delta}`);
      const reduction = options.reduction ?? "mean";
      if (reduction !== "mean" && reduction !== "sum")
        throw new PointSetError(`residualLoss: reduction must be "mean" or "sum", got "${reduction}"`);
      return residualLossOp(set, { penalty, delta, reduction })([control, targets])[0];
    },
  };
}

/**
 * A gradient the fused loss formed, recorded as a function of `control` whose own VJP refuses (a second
 * derivative through it would otherwise be silently zero).
 */
function firstOrderOnly(control: Tensor, gradient: Tensor): Tensor {
  if (!control.traced) return gradient;
  return new Tensor(gradient.backing, gradient.shape, {
    op: "thbResidualLossGradient",
    inputs: [control],
    vjp: () => {
      throw new PointSetError(
        "residualLoss has first derivatives only: for Hessian-vector products write the loss with evaluatePoints (or thbOps.evaluate) and sub/square/mean",
      );
    },
  });
}
