/**
 * Device tensors on WebGPU: the executor that runs autodiff primitives whose inputs live on the GPU
 * (elementwise ops with broadcasting, sums, reshape views, slices), and the bookkeeping the THB primitives
 * need (a plan uploaded once per refinement, points sorted by element once per parameter tensor).
 * Everything is f32 and stays on the device; only `await t.read()` comes back. Reductions use the fixed
 * tree order of reduce.ts, so results are deterministic.
 */
import { broadcastShapes, type DeviceExecutor, type Prim, type PrimParams } from "../autodiff/ops.js";
import { type DeviceStorage, sizeOf, Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { elementOrder, permuteRows } from "../kernels/cpu/elementOrder.js";
import type { ScalarImage } from "../kernels/cpu/imageKernels.js";
import { readFloat32, STORAGE, upload } from "../kernels/webgpu/gpuBuffers.js";
import { GpuImageKernels } from "../kernels/webgpu/imageGpu.js";
import { treeSum } from "../kernels/webgpu/reduce.js";
import { type GpuContext, GpuPlan, type PointOrder, workgroupGrid } from "../kernels/webgpu/thbGpu.js";
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

const MAX_RANK = 8;

/** Elementwise WGSL expressions of x (and y), with p0/p1 the op's constants. */
const ELEMENTWISE: Partial<Record<Prim, { arity: 1 | 2; expression: string }>> = {
  add: { arity: 2, expression: "x + y" },
  sub: { arity: 2, expression: "x - y" },
  mul: { arity: 2, expression: "x * y" },
  div: { arity: 2, expression: "x / y" },
  maximum: { arity: 2, expression: "max(x, y)" },
  minimum: { arity: 2, expression: "min(x, y)" },
  neg: { arity: 1, expression: "-x" },
  square: { arity: 1, expression: "x * x" },
  sqrt: { arity: 1, expression: "sqrt(x)" },
  exp: { arity: 1, expression: "exp(x)" },
  log: { arity: 1, expression: "log(x)" },
  abs: { arity: 1, expression: "abs(x)" },
  sign: { arity: 1, expression: "sign(x)" },
  step: { arity: 1, expression: "select(0.0, 1.0, x >= 0.0)" },
  pow: { arity: 1, expression: "powReal(x, info.constants.x)" },
  clamp: { arity: 1, expression: "min(max(x, info.constants.x), info.constants.y)" },
  broadcastTo: { arity: 1, expression: "x" },
};

/**
 * Uniform of the elementwise kernels: (count, rank, rowStride, contiguity flags), the output shape and
 * each input's strides per output axis (0 on broadcast axes), and the op's constants.
 */
const elementwiseShader = (arity: 1 | 2, expression: string) => `
struct Info { head: vec4u, shape: array<vec4u, 2>, strideA: array<vec4u, 2>, strideB: array<vec4u, 2>, constants: vec4f };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
${arity === 2 ? "@group(0) @binding(2) var<storage, read> b: array<f32>;" : ""}
@group(0) @binding(${arity + 1}) var<storage, read_write> out: array<f32>;

// x^p for any real x: integer exponents keep the sign rules of Math.pow, 0^p is 0 or ∞ (∞ and NaN come
// in through the uniform: WGSL rejects them as constants)
fn powReal(x: f32, p: f32) -> f32 {
  if (p == 0.0) { return 1.0; }
  if (x == 0.0) { return select(0.0, info.constants.z, p < 0.0); }
  if (x > 0.0) { return pow(x, p); }
  if (fract(p) != 0.0) { return info.constants.w; }
  let r = pow(-x, p);
  return select(r, -r, fract(p * 0.5) != 0.0);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * info.head.z;
  if (i >= info.head.x) { return; }
  var offsetA = i;
  var offsetB = i;
  if (info.head.w != 3u) {
    var rest = i;
    var oa = 0u;
    var ob = 0u;
    for (var k = i32(info.head.y) - 1; k >= 0; k--) {
      let q = u32(k) / 4u;
      let r = u32(k) % 4u;
      let extent = info.shape[q][r];
      let c = rest % extent;
      rest = rest / extent;
      oa += c * info.strideA[q][r];
      ob += c * info.strideB[q][r];
    }
    if ((info.head.w & 1u) == 0u) { offsetA = oa; }
    if ((info.head.w & 2u) == 0u) { offsetB = ob; }
  }
  let x = a[offsetA];
  ${arity === 2 ? "let y = b[offsetB];" : ""}
  out[i] = ${expression};
}
`;

/** Sums along the middle axis of [outer, n, inner]: one thread per output, k in order. */
const axisSumShader = `
struct Info { count: u32, rowStride: u32, n: u32, inner: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let o = t / info.inner;
  let i = t % info.inner;
  var s = 0.0;
  for (var k = 0u; k < info.n; k++) { s += a[(o * info.n + k) * info.inner + i]; }
  out[t] = s;
}
`;

/**
 * Slice (mode 0: out[o, k, j] = a[o, start + k, j]) and its transpose embed (mode 1: zero outside
 * [start, start + m)), over [outer, n, inner] with m the sliced extent.
 */
const sliceShader = `
struct Info { count: u32, rowStride: u32, n: u32, m: u32, inner: u32, start: u32, mode: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let j = t % info.inner;
  if (info.mode == 0u) {
    let k = (t / info.inner) % info.m;
    let o = t / (info.inner * info.m);
    out[t] = a[(o * info.n + info.start + k) * info.inner + j];
  } else {
    let k = (t / info.inner) % info.n;
    let o = t / (info.inner * info.n);
    var v = 0.0;
    if (k >= info.start && k < info.start + info.m) { v = a[(o * info.m + k - info.start) * info.inner + j]; }
    out[t] = v;
  }
}
`;

/** Row-major strides of `from` read along the output axes of `to` (0 where `from` broadcasts). */
function broadcastStrides(from: readonly number[], to: readonly number[]): number[] {
  const strides = new Array(to.length).fill(0);
  let stride = 1;
  for (let k = from.length - 1; k >= 0; k--) {
    strides[to.length - from.length + k] = from[k] === 1 ? 0 : stride;
    stride *= from[k];
  }
  return strides;
}

/** The device of the first GPU tensor among `inputs`. */
export function deviceOf(inputs: readonly Tensor[]): WebGpuTensors {
  for (const t of inputs) if (t.storage instanceof GpuStorage) return t.storage.owner;
  throw new RangeError("no input lives on a WebGPU device");
}

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

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

  constructor(context: GpuContext) {
    this.context = context;
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
    return this.context.pool.acquire(Math.max(1, count) * 4, STORAGE);
  }

  private storageOf(buffer: GPUBuffer): GpuStorage {
    return new GpuStorage(this, buffer);
  }

  forward<P extends Prim>(
    prim: P,
    params: PrimParams[P],
    inputs: readonly Tensor[],
  ): { values: DeviceStorage; shape: readonly number[] } {
    const elementwise = ELEMENTWISE[prim];
    if (elementwise) {
      let shape: readonly number[];
      if (prim === "broadcastTo") {
        shape = (params as PrimParams["broadcastTo"]).shape;
        if (!sameShape(broadcastShapes(inputs[0].shape, shape), shape))
          throw new RangeError(`cannot broadcast [${inputs[0].shape}] to [${shape}]`);
      } else
        shape = elementwise.arity === 2 ? broadcastShapes(inputs[0].shape, inputs[1].shape) : inputs[0].shape;
      const constants =
        prim === "pow"
          ? [(params as PrimParams["pow"]).exponent, 0]
          : prim === "clamp"
            ? [(params as PrimParams["clamp"]).lo, (params as PrimParams["clamp"]).hi]
            : [0, 0];
      return { values: this.elementwise(prim, inputs.slice(0, elementwise.arity), shape, constants), shape };
    }
    const [a] = inputs;
    switch (prim) {
      case "reshape": {
        const shape = (params as PrimParams["reshape"]).shape;
        if (sizeOf(shape) !== a.size) throw new RangeError(`cannot reshape [${a.shape}] to [${shape}]`);
        if (a.storage) return { values: a.storage, shape }; // a view: same buffer
        return { values: this.copyOf(a), shape };
      }
      case "sum": {
        const axis = (params as PrimParams["sum"]).axis;
        if (axis === undefined) return { values: this.sumAll(a), shape: [] };
        if (!(Number.isInteger(axis) && axis >= 0 && axis < a.rank))
          throw new RangeError(`sum: axis ${axis} is outside shape [${a.shape}]`);
        const shape = [...a.shape.slice(0, axis), ...a.shape.slice(axis + 1)];
        return { values: this.sumAxis(a, axis), shape };
      }
      case "sumTo": {
        const shape = (params as PrimParams["sumTo"]).shape;
        return { values: this.sumTo(a, shape), shape };
      }
      case "slice": {
        const { axis, start, end } = params as PrimParams["slice"];
        if (!(axis >= 0 && axis < a.rank && start >= 0 && start <= end && end <= a.shape[axis]))
          throw new RangeError(`slice [${start}, ${end}) of axis ${axis} is outside shape [${a.shape}]`);
        const shape = a.shape.slice();
        shape[axis] = end - start;
        const inner = sizeOf(a.shape.slice(axis + 1));
        return { values: this.slice(a, sizeOf(shape), a.shape[axis], end - start, inner, start, 0), shape };
      }
      case "embed": {
        const { shape, axis, start } = params as PrimParams["embed"];
        const inner = sizeOf(shape.slice(axis + 1));
        return { values: this.slice(a, sizeOf(shape), shape[axis], a.shape[axis], inner, start, 1), shape };
      }
      default:
        throw new RangeError(
          `${prim} does not run on the GPU yet: read its inputs back with \`await t.read()\``,
        );
    }
  }

  private elementwise(
    prim: Prim,
    inputs: readonly Tensor[],
    shape: readonly number[],
    constants: number[],
  ): GpuStorage {
    if (shape.length > MAX_RANK) throw new RangeError(`GPU elementwise ops take rank ≤ ${MAX_RANK}`);
    const count = sizeOf(shape);
    const { arity, expression } = ELEMENTWISE[prim] as { arity: 1 | 2; expression: string };
    const pipeline = this.context.pipeline(
      `tensor:${prim}`,
      () => elementwiseShader(arity, expression),
      arity + 1,
    );
    const out = this.output(count);
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    const info = new DataView(new ArrayBuffer(128));
    let contiguous = arity === 1 ? 2 : 0;
    inputs.forEach((t, j) => {
      if (sameShape(t.shape, shape)) contiguous |= 1 << j;
      const strides = broadcastStrides(t.shape, shape);
      for (let k = 0; k < strides.length; k++) info.setUint32(48 + 32 * j + 4 * k, strides[k], true);
    });
    info.setUint32(0, count, true);
    info.setUint32(4, shape.length, true);
    info.setUint32(8, wx * 64, true);
    info.setUint32(12, contiguous, true);
    for (let k = 0; k < shape.length; k++) info.setUint32(16 + 4 * k, shape[k], true);
    info.setFloat32(112, constants[0], true);
    info.setFloat32(116, constants[1], true);
    info.setFloat32(120, Number.POSITIVE_INFINITY, true);
    info.setFloat32(124, Number.NaN, true);
    const buffers = inputs.map((t) => this.input(t));
    if (count > 0) this.context.submit(pipeline, info, [...buffers.map((b) => b.buffer), out], wx, wy);
    for (const b of buffers) if (b.temporary) this.context.pool.release(b.buffer);
    return this.storageOf(out);
  }

  private copyOf(a: Tensor): GpuStorage {
    return this.elementwise("broadcastTo", [a], a.shape, [0, 0]);
  }

  private sumAll(a: Tensor): GpuStorage {
    const input = this.input(a);
    const result = treeSum(this.context, input.buffer, a.size, 1, 0);
    if (input.temporary) this.context.pool.release(input.buffer);
    return this.storageOf(result);
  }

  /** Sum along one axis, from a buffer; the tree sum when everything collapses to one value. */
  private sumAxisBuffer(buffer: GPUBuffer, shape: readonly number[], axis: number): GPUBuffer {
    const outer = sizeOf(shape.slice(0, axis));
    const n = shape[axis];
    const inner = sizeOf(shape.slice(axis + 1));
    if (outer * inner === 1) return treeSum(this.context, buffer, n, 1, 0);
    const count = outer * inner;
    const out = this.output(count);
    const pipeline = this.context.pipeline("tensor:axisSum", () => axisSumShader, 2);
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    this.context.submit(pipeline, new Uint32Array([count, wx * 64, n, inner]), [buffer, out], wx, wy);
    return out;
  }

  private sumAxis(a: Tensor, axis: number): GpuStorage {
    const input = this.input(a);
    const out = this.sumAxisBuffer(input.buffer, a.shape, axis);
    if (input.temporary) this.context.pool.release(input.buffer);
    return this.storageOf(out);
  }

  /** Reduces a broadcast result back to `target`: the tree sum for one value, else axis sums in turn. */
  private sumTo(a: Tensor, target: readonly number[]): GpuStorage {
    const padded = [...new Array(a.rank - target.length).fill(1), ...target];
    if (target.length > a.rank || !sameShape(broadcastShapes(padded, a.shape), a.shape))
      throw new RangeError(`sumTo: [${a.shape}] does not reduce to [${target}]`);
    const input = this.input(a);
    if (sizeOf(target) === 1) {
      const out = treeSum(this.context, input.buffer, a.size, 1, 0);
      if (input.temporary) this.context.pool.release(input.buffer);
      return this.storageOf(out);
    }
    let buffer = input.buffer;
    let owned = input.temporary;
    const shape = a.shape.slice();
    for (let k = 0; k < shape.length; k++) {
      if (padded[k] !== 1 || shape[k] === 1) continue;
      const next = this.sumAxisBuffer(buffer, shape, k);
      if (owned) this.context.pool.release(buffer);
      buffer = next;
      owned = true;
      shape[k] = 1;
    }
    return this.storageOf(owned ? buffer : this.copyBuffer(buffer, a.size));
  }

  private copyBuffer(buffer: GPUBuffer, count: number): GPUBuffer {
    const out = this.output(count);
    const encoder = this.context.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, out, 0, Math.max(4, count * 4));
    this.context.device.queue.submit([encoder.finish()]);
    return out;
  }

  private slice(
    a: Tensor,
    count: number,
    n: number,
    m: number,
    inner: number,
    start: number,
    mode: 0 | 1,
  ): GpuStorage {
    const input = this.input(a);
    const out = this.output(count);
    const pipeline = this.context.pipeline("tensor:slice", () => sliceShader, 2);
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    if (count > 0)
      this.context.submit(
        pipeline,
        new Uint32Array([count, wx * 64, n, m, inner, start, mode, 0]),
        [input.buffer, out],
        wx,
        wy,
      );
    if (input.temporary) this.context.pool.release(input.buffer);
    return this.storageOf(out);
  }
}
