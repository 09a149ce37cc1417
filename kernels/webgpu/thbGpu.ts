/**
 * The WebGPU THB kernels over an uploaded plan: local control, forward at scattered points (values, or
 * values and first derivatives), the deterministic two-step backward to coefficients, backward to
 * parameters, and forward on a regular grid. All f32. The plan is uploaded once per refinement;
 * pipelines are cached per shader variant (D, degrees, DIM, order).
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { derivativeCount } from "../../splines/tensorBasis.js";
import { elementOrder } from "../cpu/elementOrder.js";
import type { ResidualPenalty } from "../cpu/pointSet.js";
import { BufferPool, readFloat32, STORAGE, upload } from "./gpuBuffers.js";
import type { PassTimer } from "./passTimer.js";
import { pointSetLossShader, pointSetReduceShader } from "./pointSetWgsl.js";
import {
  backwardParamsShader,
  elementReduceShader,
  forwardShader,
  GATHER_LANES,
  gatherFunctionsShader,
  gridForwardShader,
  localControlShader,
  locateShader,
  paramsFromSecondDerivativesShader,
  reduceThreads,
  sortedBackwardParamsShader,
  sortedForwardShader,
} from "./wgsl.js";
import { META_FIELDS, type Variant } from "./wgslPrelude.js";

/** Device, pipelines and buffers shared by every plan on one device. */
export class GpuContext {
  readonly device: GPUDevice;
  readonly pool: BufferPool;
  /** When set, every submitted pass records its device time there (benchmarks). */
  timer: PassTimer | undefined;
  private readonly pipelines = new Map<string, GPUComputePipeline>();

  constructor(device: GPUDevice) {
    this.device = device;
    this.pool = new BufferPool(device);
  }

  /**
   * A compute pipeline for WGSL `code`, compiled once per key. The layout is explicit (binding 0 the
   * uniform, then `storageBindings` storage buffers, the last one written), because "auto" layouts drop
   * bindings a variant happens not to use.
   */
  pipeline(key: string, code: () => string, storageBindings: number): GPUComputePipeline {
    let p = this.pipelines.get(key);
    if (!p) {
      const module = this.device.createShaderModule({ code: code() });
      const entries: GPUBindGroupLayoutEntry[] = [{ binding: 0, visibility: 4, buffer: { type: "uniform" } }];
      for (let b = 1; b <= storageBindings; b++) {
        entries.push({
          binding: b,
          visibility: 4,
          buffer: { type: b === storageBindings ? "storage" : "read-only-storage" },
        });
      }
      const layout = this.device.createPipelineLayout({
        bindGroupLayouts: [this.device.createBindGroupLayout({ entries })],
      });
      p = this.device.createComputePipeline({ layout, compute: { module, entryPoint: "main" } });
      this.pipelines.set(key, p);
    }
    return p;
  }

  /** Submits one dispatch: `uniform` at binding 0, `buffers` from binding 1, a wx × wy grid of workgroups. */
  submit(
    pipeline: GPUComputePipeline,
    uniform: ArrayBufferView,
    buffers: GPUBuffer[],
    wx: number,
    wy = 1,
  ): void {
    const uniformBuffer = this.pool.acquire(uniform.byteLength, 0x40 | 0x08); // UNIFORM | COPY_DST
    this.device.queue.writeBuffer(
      uniformBuffer,
      0,
      uniform.buffer as ArrayBuffer,
      uniform.byteOffset,
      uniform.byteLength,
    );
    const encoder = this.device.createCommandEncoder();
    const timestampWrites = this.timer?.nextPass();
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : undefined);
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      this.device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [uniformBuffer, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } })),
      }),
    );
    pass.dispatchWorkgroups(wx, wy);
    pass.end();
    this.device.queue.submit([encoder.finish()]);
    this.pool.release(uniformBuffer); // the queue orders this write before any later reuse
  }
}

/**
 * 1/h when the level-0 cells of direction k all have width h (the kernels then find a point's cell by one
 * multiply and one check instead of a binary search), else 0.
 */
function uniformRootInverseWidth(plan: EvaluationPlan, k: number): number {
  const start = plan.rootBreakStart[k];
  const cells = plan.rootCells[k];
  const breaks = plan.rootBreaks;
  const h = (breaks[start + cells] - breaks[start]) / cells;
  for (let c = 1; c <= cells; c++) {
    if (Math.abs(breaks[start + c] - breaks[start] - c * h) > 1e-12 * h * c) return 0;
  }
  return 1 / h;
}

/** A 2D grid for `groups` workgroups: WebGPU allows at most 65,535 per dimension. */
export function workgroupGrid(groups: number): [number, number] {
  const wx = Math.max(1, Math.min(groups, 65535));
  return [wx, Math.max(1, Math.ceil(groups / wx))];
}

/**
 * Points sorted by element once, for the per-element kernels: element e owns slots pointStart[e] …
 * pointStart[e+1], slot s holds point order[s]. Without `order` the points are stored in element order
 * (hierarchy/elementOrder.ts, permuteRows) and every kernel access is contiguous.
 */
export interface PointOrder {
  pointStart: GPUBuffer;
  order?: GPUBuffer;
  count: number;
}

/** The slot buffers a per-element kernel binds, and its variant's name. */
function slotBuffers(order: PointOrder): { buffers: GPUBuffer[]; variant: string } {
  return order.order
    ? { buffers: [order.pointStart, order.order], variant: "" }
    : { buffers: [order.pointStart], variant: ":stored" };
}

/** A plan on the GPU. */
export class GpuPlan {
  readonly context: GpuContext;
  readonly plan: EvaluationPlan;
  private readonly baseMeta: Uint32Array;
  private readonly buffers: Record<string, GPUBuffer>;

  constructor(context: GpuContext, plan: EvaluationPlan) {
    this.context = context;
    this.plan = plan;
    const d = plan.dimension;
    const { device, pool } = context;
    const ints: number[] = [];
    const offsets: Record<string, number> = {};
    const pack = (name: string, data: ArrayLike<number>) => {
      offsets[name] = ints.length;
      for (let i = 0; i < data.length; i++) ints.push(data[i]);
    };
    // planFloats = [1/h of each direction's level-0 cells when uniform, else 0 (4 slots) | knots | rootBreaks]
    const FLOAT_HEADER = 4;
    pack(
      "knotStart",
      Array.from(plan.knotStart, (k) => k + FLOAT_HEADER),
    );
    pack("elementLevel", plan.elementLevel);
    pack("elementSpan", plan.elementSpan);
    pack("treeNodes", plan.treeNodes);
    pack("rootCells", plan.rootCells);
    const floats = new Float32Array(FLOAT_HEADER + plan.knots.length + plan.rootBreaks.length);
    for (let k = 0; k < d; k++) floats[k] = uniformRootInverseWidth(plan, k);
    floats.set(plan.knots, FLOAT_HEADER);
    floats.set(plan.rootBreaks, FLOAT_HEADER + plan.knots.length);
    // the transposed extraction: for each function, its extraction rows in ascending order
    const rows = plan.extractionFunctions.length;
    const functionRowStart = new Int32Array(plan.functionCount + 1);
    for (let r = 0; r < rows; r++) functionRowStart[plan.extractionFunctions[r] + 1]++;
    for (let a = 0; a < plan.functionCount; a++) functionRowStart[a + 1] += functionRowStart[a];
    const cursor = functionRowStart.slice(0, plan.functionCount);
    const functionRows = new Int32Array(rows);
    const rowElement = new Int32Array(rows);
    for (let e = 0; e < plan.elementCount; e++) {
      for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) {
        rowElement[r] = e;
        functionRows[cursor[plan.extractionFunctions[r]]++] = r;
      }
    }
    this.buffers = {
      planInts: upload(device, pool, Int32Array.from(ints)),
      planFloats: upload(device, pool, floats),
      extractionStart: upload(device, pool, plan.extractionStart),
      extractionFunctions: upload(device, pool, plan.extractionFunctions),
      coefficients: upload(device, pool, Float32Array.from(plan.extractionCoefficients)),
      functionRowStart: upload(device, pool, functionRowStart),
      functionRows: upload(device, pool, functionRows),
      rowElement: upload(device, pool, rowElement),
      elementBox: upload(device, pool, Float32Array.from(plan.elementBox)),
    };
    const meta = new Uint32Array(16);
    const set = (name: (typeof META_FIELDS)[number], value: number) => {
      meta[META_FIELDS.indexOf(name)] = value;
    };
    set("knotStart", offsets.knotStart);
    set("elementLevel", offsets.elementLevel);
    set("elementSpan", offsets.elementSpan);
    set("treeNodes", offsets.treeNodes);
    set("rootCells", offsets.rootCells);
    for (let k = 0; k < 3; k++) {
      set(
        `rootBreaks${k}` as "rootBreaks0",
        FLOAT_HEADER + plan.knots.length + (k < d ? plan.rootBreakStart[k] : 0),
      );
    }
    set("elementCount", plan.elementCount);
    set("functionCount", plan.functionCount);
    this.baseMeta = meta;
  }

  private variant(dim: number): Variant {
    return { d: this.plan.dimension, degrees: Array.from(this.plan.degrees), dim };
  }

  private key(kind: string, dim: number, order = 0): string {
    return `${kind}:${this.plan.dimension}:${Array.from(this.plan.degrees).join(",")}:${dim}:${order}`;
  }

  private meta(count: number, gridCounts: number[] = []): Uint32Array {
    const meta = this.baseMeta.slice();
    meta[META_FIELDS.indexOf("count")] = count;
    gridCounts.forEach((n, k) => {
      meta[META_FIELDS.indexOf("gridCount0") + k] = n;
    });
    return meta;
  }

  /**
   * Runs one kernel variant: `items` threads of 64 (perThread) or `items` workgroups (one per element),
   * with the plan's buffers at bindings 1–2 and `buffers` after them (the last one written).
   */
  private launch(
    kind: string,
    order: number,
    dim: number,
    shader: (v: Variant) => string,
    buffers: GPUBuffer[],
    items: number,
    perThread: boolean,
    count = 0,
    gridCounts: number[] = [],
  ): void {
    const pipeline = this.context.pipeline(
      this.key(kind, dim, order),
      () => shader(this.variant(dim)),
      buffers.length + 2,
    );
    const [wx, wy] = workgroupGrid(perThread ? Math.ceil(items / 64) : items);
    const meta = this.meta(count, gridCounts);
    meta[META_FIELDS.indexOf("rowStride")] = perThread ? wx * 64 : wx;
    this.context.submit(pipeline, meta, [this.buffers.planInts, this.buffers.planFloats, ...buffers], wx, wy);
  }

  /** A pooled storage buffer for a kernel's output. */
  private output(bytes: number): GPUBuffer {
    return this.context.pool.acquire(bytes, STORAGE);
  }

  /** Local control blocks P_e = E_eᵀ C from `control  #functions by dim` (a GPU buffer). */
  localControl(control: GPUBuffer, dim: number): GPUBuffer {
    const { plan, buffers: b } = this;
    const out = this.output(plan.elementCount * plan.localSize * dim * 4);
    const inputs = [b.extractionStart, b.extractionFunctions, b.coefficients, control, out];
    this.launch("local", 0, dim, localControlShader, inputs, plan.elementCount * plan.localSize, true);
    return out;
  }

  /** The element containing each of `count` points (f32 location, as in the scattered kernels): `#points` i32. */
  locate(params: GPUBuffer, count: number): GPUBuffer {
    const out = this.output(count * 4);
    this.launch("locate", 0, 1, locateShader, [params, out], count, true, count);
    return out;
  }

  /** Forward at `count` scattered points: `#points by derivativeCount(D, order) by dim`. */
  forward(local: GPUBuffer, params: GPUBuffer, count: number, dim: number, order: 0 | 1 | 2 = 0): GPUBuffer {
    const blocks = derivativeCount(this.plan.dimension, order);
    const out = this.output(count * blocks * dim * 4);
    this.launch(
      "forward",
      order,
      dim,
      (v) => forwardShader(v, order),
      [params, local, out],
      count,
      true,
      count,
    );
    return out;
  }

  /**
   * Forward (values) at points sorted by element once (`sortPoints`): `#points by dim`, in the points'
   * own order. No point location per call; for loops over fixed points.
   */
  forwardSorted(local: GPUBuffer, params: GPUBuffer, order: PointOrder, dim: number): GPUBuffer {
    const out = this.output(order.count * dim * 4);
    const slots = slotBuffers(order);
    this.launch(
      `forwardSorted${slots.variant}`,
      0,
      dim,
      (v) => sortedForwardShader(v, !order.order),
      [params, local, ...slots.buffers, out],
      this.plan.elementCount,
      false,
      order.count,
    );
    return out;
  }

  /**
   * Sorts points by element once (host location in f64). Points already stored in element order get an
   * order without the `order` buffer, and the kernels' contiguous variants.
   */
  sortPoints(params: ArrayLike<number>): PointOrder {
    const sorted = elementOrder(this.plan, params);
    return this.uploadOrder(sorted.pointStart, sorted.stored ? undefined : sorted.order);
  }

  /** A point order made on the host (hierarchy/elementOrder.ts), on the device; no `order`: points stored so. */
  uploadOrder(pointStart: Int32Array, order?: Int32Array): PointOrder {
    const { device, pool } = this.context;
    return {
      pointStart: upload(device, pool, pointStart),
      order: order ? upload(device, pool, order) : undefined,
      count: pointStart[pointStart.length - 1],
    };
  }

  /** Returns a point order's buffers to the pool. */
  releaseOrder(order: PointOrder): void {
    this.context.pool.release(order.pointStart);
    if (order.order) this.context.pool.release(order.order);
  }

  /**
   * Per-element reduction G_e = Σ b(x) ⊗ g(x): `#elements by B by dim`. `threads` per element (rounded down
   * to fit workgroup memory, see reduceThreads) changes the summation order, so keep it fixed where results
   * must be bitwise reproducible; the default is tuned for ~100 points per element and more.
   */
  elementGradients(
    params: GPUBuffer,
    cotangent: GPUBuffer,
    order: PointOrder,
    dim: number,
    threads?: number,
  ): GPUBuffer {
    return this.reduceByElement(params, cotangent, order, dim, false, threads);
  }

  /** Per-element reduction against basis derivatives, G_e = Σ_x Σ_k ∂_k b(x) ⊗ g_k(x), for `#points by D by dim`. */
  elementGradientsOfDerivatives(
    params: GPUBuffer,
    cotangent: GPUBuffer,
    order: PointOrder,
    dim: number,
  ): GPUBuffer {
    return this.reduceByElement(params, cotangent, order, dim, true);
  }

  private reduceByElement(
    params: GPUBuffer,
    cotangent: GPUBuffer,
    order: PointOrder,
    dim: number,
    ofDerivatives: boolean,
    preferredThreads?: number,
  ): GPUBuffer {
    const { plan } = this;
    const out = this.output(plan.elementCount * plan.localSize * dim * 4);
    const slots = slotBuffers(order);
    const threads = reduceThreads(this.variant(dim), preferredThreads);
    this.launch(
      `${ofDerivatives ? "reduceDerivatives" : "reduce"}${slots.variant}:threads${threads}`,
      ofDerivatives ? 1 : 0,
      dim,
      (v) => elementReduceShader(v, ofDerivatives, !order.order, threads),
      [params, cotangent, ...slots.buffers, out],
      plan.elementCount,
      false,
      order.count,
    );
    return out;
  }

  /**
   * Backward to parameters of values and first derivatives: from the order-2 forward `H` and the two
   * cotangents (`#points by dim`, `#points by D by dim`), `#points by D`.
   */
  backwardParamsOfDerivatives(
    H: GPUBuffer,
    gValues: GPUBuffer,
    gDerivatives: GPUBuffer,
    count: number,
    dim: number,
  ): GPUBuffer {
    const out = this.output(count * this.plan.dimension * 4);
    this.launch(
      "paramsFromSeconds",
      2,
      dim,
      paramsFromSecondDerivativesShader,
      [H, gValues, gDerivatives, out],
      count,
      true,
      count,
    );
    return out;
  }

  /** Transposed extraction: ∂C = Σ_e E_e G_e, `#functions by dim`. */
  gatherFunctions(elementGradients: GPUBuffer, dim: number): GPUBuffer {
    const { plan, buffers: b } = this;
    const out = this.output(plan.functionCount * dim * 4);
    const inputs = [b.functionRowStart, b.functionRows, b.rowElement, b.coefficients, elementGradients, out];
    const groups = Math.ceil(plan.functionCount / (64 / GATHER_LANES));
    this.launch("gather", 0, dim, gatherFunctionsShader, inputs, groups, false);
    return out;
  }

  /**
   * The fused residual loss at a point set on the device (pointSetWgsl.ts): per slot its penalty term
   * ρ · scale and adjoint, `#points + #points by dim` (`constants` holds scale and δ).
   */
  pointSetTerms(
    set: { slotElement: GPUBuffer; basis: GPUBuffer; count: number },
    local: GPUBuffer,
    targets: GPUBuffer,
    constants: GPUBuffer,
    dim: number,
    penalty: ResidualPenalty,
  ): GPUBuffer {
    const out = this.output(set.count * (1 + dim) * 4);
    this.launch(
      `pointSetTerms:${penalty}`,
      0,
      dim,
      (v) => pointSetLossShader(v, penalty),
      [set.slotElement, set.basis, local, targets, constants, out],
      set.count,
      true,
      set.count,
    );
    return out;
  }

  /** The per-element reduction of pointSetTerms' adjoints against the cached basis: `#elements by B by dim`. */
  pointSetElementGradients(
    set: { pointStart: GPUBuffer; basis: GPUBuffer; count: number },
    terms: GPUBuffer,
    dim: number,
  ): GPUBuffer {
    const { plan } = this;
    const out = this.output(plan.elementCount * plan.localSize * dim * 4);
    this.launch(
      "pointSetReduce",
      0,
      dim,
      pointSetReduceShader,
      [set.pointStart, set.basis, terms, out],
      plan.elementCount * plan.localSize,
      true,
      set.count,
    );
    return out;
  }

  /** Backward to parameters, `#points by D`. */
  backwardParams(
    local: GPUBuffer,
    params: GPUBuffer,
    cotangent: GPUBuffer,
    count: number,
    dim: number,
  ): GPUBuffer {
    const out = this.output(count * this.plan.dimension * 4);
    this.launch(
      "backwardParams",
      0,
      dim,
      backwardParamsShader,
      [params, local, cotangent, out],
      count,
      true,
      count,
    );
    return out;
  }

  /** Backward to parameters at points sorted by element once (no point location), `#points by D`. */
  backwardParamsSorted(
    local: GPUBuffer,
    params: GPUBuffer,
    cotangent: GPUBuffer,
    order: PointOrder,
    dim: number,
  ): GPUBuffer {
    const out = this.output(order.count * this.plan.dimension * 4);
    const slots = slotBuffers(order);
    this.launch(
      `backwardParamsSorted${slots.variant}`,
      0,
      dim,
      (v) => sortedBackwardParamsShader(v, !order.order),
      [params, local, cotangent, ...slots.buffers, out],
      this.plan.elementCount,
      false,
      order.count,
    );
    return out;
  }

  /**
   * Forward on the regular grid origin_k + spacing_k · i_k, i_k < counts[k] (first direction fastest),
   * which must lie inside the domain: `#grid points by dim`.
   */
  gridForward(
    local: GPUBuffer,
    dim: number,
    origin: number[],
    spacing: number[],
    counts: number[],
  ): GPUBuffer {
    const { plan, context } = this;
    const d = plan.dimension;
    const total = counts.reduce((a, n) => a * n, 1);
    const out = this.output(total * dim * 4);
    const gridFloats = new Float32Array(3 * d);
    for (let k = 0; k < d; k++) {
      gridFloats[2 * k] = origin[k];
      gridFloats[2 * k + 1] = spacing[k];
      gridFloats[2 * d + k] = plan.rootBreaks[plan.rootBreakStart[k + 1] - 1];
    }
    const gridBuffer = upload(context.device, context.pool, gridFloats);
    const extents = [counts[0], counts[1] ?? 1, counts[2] ?? 1];
    const inputs = [local, gridBuffer, this.buffers.elementBox, out];
    this.launch("grid", 0, dim, gridForwardShader, inputs, plan.elementCount, false, total, extents);
    context.pool.release(gridBuffer);
    return out;
  }

  /** Returns the plan's buffers to the pool. */
  release(): void {
    for (const buffer of Object.values(this.buffers)) this.context.pool.release(buffer);
  }
}

/** Convenience: values (and derivatives) at points, from control on the CPU, read back. */
export async function gpuEvaluate(
  gpu: GpuPlan,
  control: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  order: 0 | 1 | 2 = 0,
): Promise<Float32Array> {
  const { device, pool } = gpu.context;
  const count = params.length / gpu.plan.dimension;
  const controlBuffer = upload(device, pool, Float32Array.from(control));
  const paramsBuffer = upload(device, pool, Float32Array.from(params));
  const local = gpu.localControl(controlBuffer, dim);
  const out = gpu.forward(local, paramsBuffer, count, dim, order);
  const blocks = derivativeCount(gpu.plan.dimension, order);
  const values = await readFloat32(device, out, count * blocks * dim);
  for (const b of [controlBuffer, paramsBuffer, local, out]) pool.release(b);
  return values;
}

/** Convenience: gradient with respect to the control coefficients for a cotangent `#points by dim`. */
export async function gpuBackwardControl(
  gpu: GpuPlan,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  dim: number,
): Promise<Float32Array> {
  const { device, pool } = gpu.context;
  const order = gpu.sortPoints(params);
  const paramsBuffer = upload(device, pool, Float32Array.from(params));
  const cotangentBuffer = upload(device, pool, Float32Array.from(cotangent));
  const G = gpu.elementGradients(paramsBuffer, cotangentBuffer, order, dim);
  const out = gpu.gatherFunctions(G, dim);
  const values = await readFloat32(device, out, gpu.plan.functionCount * dim);
  gpu.releaseOrder(order);
  for (const b of [paramsBuffer, cotangentBuffer, G, out]) pool.release(b);
  return values;
}

/** Convenience: gradient with respect to the parameters. */
export async function gpuBackwardParams(
  gpu: GpuPlan,
  control: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  cotangent: ArrayLike<number>,
): Promise<Float32Array> {
  const { device, pool } = gpu.context;
  const count = params.length / gpu.plan.dimension;
  const controlBuffer = upload(device, pool, Float32Array.from(control));
  const paramsBuffer = upload(device, pool, Float32Array.from(params));
  const cotangentBuffer = upload(device, pool, Float32Array.from(cotangent));
  const local = gpu.localControl(controlBuffer, dim);
  const out = gpu.backwardParams(local, paramsBuffer, cotangentBuffer, count, dim);
  const values = await readFloat32(device, out, count * gpu.plan.dimension);
  for (const b of [controlBuffer, paramsBuffer, cotangentBuffer, local, out]) pool.release(b);
  return values;
}

/** Convenience: values on the grid origin + spacing · i (first direction fastest), from control on the CPU. */
export async function gpuEvaluateGrid(
  gpu: GpuPlan,
  control: ArrayLike<number>,
  dim: number,
  origin: number[],
  spacing: number[],
  counts: number[],
): Promise<Float32Array> {
  const { device, pool } = gpu.context;
  const controlBuffer = upload(device, pool, Float32Array.from(control));
  const local = gpu.localControl(controlBuffer, dim);
  const out = gpu.gridForward(local, dim, origin, spacing, counts);
  const values = await readFloat32(device, out, counts.reduce((a, n) => a * n, 1) * dim);
  for (const b of [controlBuffer, local, out]) pool.release(b);
  return values;
}
