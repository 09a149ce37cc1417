/**
 * Device tensors on WebGPU: the executor that runs autodiff primitives whose inputs live on the GPU (every
 * primitive: the rule table of primitives/gpuOps.ts over the kernels of kernels/webgpu/tensorKernels.ts),
 * and the bookkeeping the THB primitives
 * need (a plan uploaded once per refinement, points sorted by element once per parameter tensor).
 * Everything is f32 and stays on the device; only `await t.read()` comes back. Reductions use the fixed
 * tree order of reduce.ts, so results are deterministic.
 */
import type { DeviceExecutor, Prim, PrimParams } from "../autodiff/ops.js";
import { type DeviceStorage, sizeOf, Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { elementOrder, permuteRows } from "../kernels/cpu/elementOrder.js";
import type { ScalarImage } from "../kernels/cpu/imageKernels.js";
import { readFloat32, upload } from "../kernels/webgpu/gpuBuffers.js";
import { GpuImageKernels } from "../kernels/webgpu/imageGpu.js";
import { GpuArrayKernels } from "../kernels/webgpu/tensorKernels.js";
import { type GpuContext, GpuPlan, type PointOrder } from "../kernels/webgpu/thbGpu.js";
import { type GpuForward, gpuForwards } from "./gpuOps.js";
import { GpuTensorKernels } from "./gpuTensorKernels.js";

/** A pooled GPU buffer shared by the tensors that view it, returned to the pool with the last of them. */
export class GpuStorage implements DeviceStorage {
  readonly device = "webgpu" as const;
  private references = 0;

  constructor(
    /** The device tensors this buffer belongs to (custom primitives find their device through it). */
    readonly owner: WebGpuTensors,
    readonly buffer: GPUBuffer,
    /** The host values it was uploaded from, when it was (point sorting needs them in f64). */
    readonly host?: ArrayLike<number>,
  ) {}

  read(count: number): Promise<Float32Array> {
    return readFloat32(this.owner.context.device, this.buffer, count);
  }

  retain(): void {
    this.references++;
  }

  release(): void {
    if (--this.references === 0) {
      this.owner.context.pool.release(this.buffer);
      this.owner.forgetOrders(this);
    }
  }
}

/** The device of the first GPU tensor among `inputs`. */
export function deviceOf(inputs: readonly Tensor[]): WebGpuTensors {
  for (const t of inputs) if (t.storage instanceof GpuStorage) return t.storage.owner;
  throw new RangeError("no input lives on a WebGPU device");
}

/**
 * Device tensors on one WebGPU device. Registering it (kernels/backend.ts does, for the webgpu backend)
 * lets every autodiff primitive take GPU inputs; the THB primitives find their plans here.
 */
export class WebGpuTensors implements DeviceExecutor {
  readonly context: GpuContext;
  private readonly plans = new WeakMap<EvaluationPlan, GpuPlan>();
  private readonly orders = new WeakMap<GpuStorage, Map<GpuPlan, PointOrder>>();
  private readonly imageBuffers = new WeakMap<ScalarImage, GPUBuffer>();
  private imageKernelCache: GpuImageKernels | undefined;

  /** The array kernels (elementwise, sums, slices, products, gathers) on this device. */
  readonly arrays: GpuArrayKernels;

  constructor(context: GpuContext) {
    this.context = context;
    this.arrays = new GpuArrayKernels(context);
  }

  /** A device tensor holding `values` (copied, as f32); the host values are kept for point sorting. */
  toDevice(values: ArrayLike<number>, shape: readonly number[]): Tensor {
    if (values.length !== sizeOf(shape))
      throw new RangeError(`toDevice: ${values.length} values do not fill shape [${shape}]`);
    const buffer = upload(this.context.device, this.context.pool, Float32Array.from(values));
    return new Tensor(new GpuStorage(this, buffer, values), shape);
  }

  /**
   * Points for a loop over a fixed point set (fitting): the parameters (`#points by d`) and arrays that go
   * with them row by row (`#points by width`), permuted into the plan's element order and uploaded. The
   * per-element kernels then read every point contiguously and no point is located again; sums over points
   * do not change. Slot s holds input row `order[s]`.
   */
  toDeviceByElement(
    plan: EvaluationPlan,
    params: Float64Array,
    companions: readonly { values: Float64Array; width: number }[],
  ): { params: Tensor; companions: Tensor[]; order: Int32Array } {
    const d = plan.dimension;
    const sorted = elementOrder(plan, params);
    const count = sorted.order.length;
    const X = this.toDevice(permuteRows(params, sorted.order, d), [count, d]);
    const gpuPlan = this.plan(plan);
    this.orders.set(X.storage as GpuStorage, new Map([[gpuPlan, gpuPlan.uploadOrder(sorted.pointStart)]]));
    return {
      params: X,
      companions: companions.map(({ values, width }) =>
        this.toDevice(permuteRows(values, sorted.order, width), [count, width]),
      ),
      order: sorted.order,
    };
  }

  /** A device tensor over a buffer a kernel wrote (the tensor takes it over). */
  wrap(buffer: GPUBuffer, shape: readonly number[]): Tensor {
    return new Tensor(new GpuStorage(this, buffer), shape);
  }

  /** The plan on the device, uploaded once per plan (a refinement makes a new plan). */
  plan(plan: EvaluationPlan): GpuPlan {
    let g = this.plans.get(plan);
    if (!g) {
      g = new GpuPlan(this.context, plan);
      this.plans.set(plan, g);
    }
    return g;
  }

  /** Returns a plan's device buffers to the pool (a refinement replaced it); a later use uploads it again. */
  forgetPlan(plan: EvaluationPlan): void {
    this.plans.get(plan)?.release();
    this.plans.delete(plan);
  }

  /** The WGSL kernels behind the custom primitives (primitives/tensorKernels.ts), on this device. */
  readonly kernels: GpuTensorKernels = new GpuTensorKernels(this);

  /** The image kernels of this device. */
  get imageKernels(): GpuImageKernels {
    this.imageKernelCache ??= new GpuImageKernels(this.context);
    return this.imageKernelCache;
  }

  /** An image's voxels on the device, uploaded once per image object (treat images as immutable). */
  imageBuffer(image: ScalarImage): GPUBuffer {
    let buffer = this.imageBuffers.get(image);
    if (!buffer) {
      buffer = upload(this.context.device, this.context.pool, Float32Array.from(image.values));
      this.imageBuffers.set(image, buffer);
    }
    return buffer;
  }

  /** Returns an image's device copy to the pool (it will not be sampled again; a later use uploads it anew). */
  forgetImage(image: ScalarImage): void {
    const buffer = this.imageBuffers.get(image);
    if (!buffer) return;
    this.context.pool.release(buffer);
    this.imageBuffers.delete(image);
  }

  /**
   * The points of a parameter tensor sorted by element of a plan, once per (tensor storage, plan). Point
   * location runs in f64 on the host values, so the parameters must have been uploaded with toDevice.
   */
  pointOrder(gpuPlan: GpuPlan, params: Tensor): PointOrder {
    const storage = params.storage;
    if (!(storage instanceof GpuStorage) || !storage.host) {
      // host parameters: sort them directly (not cached: the tensor may be new every step)
      if (!storage) return gpuPlan.sortPoints(params.values);
      throw new RangeError(
        "the gradient to THB coefficients needs the points' parameters uploaded with toDevice() (they are sorted by element once, on the host)",
      );
    }
    let byPlan = this.orders.get(storage);
    if (!byPlan) {
      byPlan = new Map();
      this.orders.set(storage, byPlan);
    }
    let order = byPlan.get(gpuPlan);
    if (!order) {
      order = gpuPlan.sortPoints(storage.host);
      byPlan.set(gpuPlan, order);
    }
    return order;
  }

  /**
   * The point order already made for these parameters on this plan, if any: the forward kernels use it
   * to skip point location once a backward pass has sorted the points.
   */
  knownPointOrder(gpuPlan: GpuPlan, params: Tensor): PointOrder | undefined {
    const storage = params.storage;
    const order = storage instanceof GpuStorage ? this.orders.get(storage)?.get(gpuPlan) : undefined;
    // a reshape view of the same storage with another point count is not these points
    return order?.count === params.shape[0] ? order : undefined;
  }

  /** Returns the point orders cached for a storage to the pool (its last tensor was released). */
  forgetOrders(storage: GpuStorage): void {
    for (const [gpuPlan, order] of this.orders.get(storage) ?? []) gpuPlan.releaseOrder(order);
    this.orders.delete(storage);
  }

  /**
   * The buffer of a tensor, uploading host tensors; `temporary` says whether the caller must release it
   * (after encoding its last use: the queue orders later reuse after it).
   */
  input(t: Tensor): { buffer: GPUBuffer; temporary: boolean } {
    const storage = t.storage;
    if (storage instanceof GpuStorage) return { buffer: storage.buffer, temporary: false };
    if (storage) throw new RangeError(`tensor storage of device ${storage.device} is not this WebGPU device`);
    return {
      buffer: upload(this.context.device, this.context.pool, Float32Array.from(t.values)),
      temporary: true,
    };
  }

  /** A pooled output buffer of `count` f32 values. */
  output(count: number): GPUBuffer {
    return this.arrays.output(count);
  }

  /** Runs a primitive on device inputs (the rule table of primitives/gpuOps.ts). */
  forward<P extends Prim>(
    prim: P,
    params: PrimParams[P],
    inputs: readonly Tensor[],
  ): { values: DeviceStorage; shape: readonly number[] } {
    return (gpuForwards[prim] as GpuForward<P>)(this, params, inputs);
  }
}
