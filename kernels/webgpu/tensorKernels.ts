/**
 * WGSL kernels of the array operations behind device tensors (pure compute over f32 buffers, no autodiff):
 * elementwise ops with broadcasting, sums (axis sums in order, tree sums of reduce.ts), slices and their
 * transpose, matrix products, transposes, row gathers, row scatter-adds (deterministic: each output row adds
 * its sources in input order, no atomics), selection by a mask, and placing a block into a larger array.
 * Shapes row-major; every method returns a new pooled buffer (the caller releases it) and never releases
 * its inputs.
 */
import { STORAGE, upload } from "./gpuBuffers.js";
import { treeSum } from "./reduce.js";
import { type GpuContext, workgroupGrid } from "./thbGpu.js";

/** Highest rank the elementwise kernels take. */
export const MAX_RANK = 8;

/** Elementwise WGSL expressions of x (and y), with p0/p1 the op's constants. */
/** Names of the elementwise kernels. */
export type ElementwiseOp =
  | "add"
  | "sub"
  | "mul"
  | "div"
  | "maximum"
  | "minimum"
  | "neg"
  | "square"
  | "sqrt"
  | "exp"
  | "log"
  | "abs"
  | "sign"
  | "step"
  | "pow"
  | "clamp"
  | "copy";

const ELEMENTWISE: { [op in ElementwiseOp]: { arity: 1 | 2; expression: string } } = {
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
  copy: { arity: 1, expression: "x" },
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

/** C = A B for `A  m by k`, `B  k by n`: one thread per output, the k products added in order. */
const matmulShader = `
struct Info { count: u32, rowStride: u32, m: u32, k: u32, n: u32, pad0: u32, pad1: u32, pad2: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let i = t / info.n;
  let j = t % info.n;
  var s = 0.0;
  for (var q = 0u; q < info.k; q++) { s += a[i * info.k + q] * b[q * info.n + j]; }
  out[t] = s;
}
`;

/** Aᵀ for `A  m by n`. */
const transposeShader = `
struct Info { count: u32, rowStride: u32, m: u32, n: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let j = t / info.m;
  let i = t % info.m;
  out[t] = a[i * info.n + j];
}
`;

/** out[r, ·] = a[index[r], ·] over rows of `inner` values. */
const gatherShader = `
struct Info { count: u32, rowStride: u32, inner: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  out[t] = a[index[t / info.inner] * info.inner + t % info.inner];
}
`;

/**
 * out[i, ·] = Σ a[r, ·] over the source rows r of target row i, in increasing r: `sources[start[i] ..
 * start[i+1])` lists them (a CSR made on the host), so no two threads write one value.
 */
const scatterAddShader = `
struct Info { count: u32, rowStride: u32, inner: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> start: array<u32>;
@group(0) @binding(3) var<storage, read> sources: array<u32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let i = t / info.inner;
  let k = t % info.inner;
  var s = 0.0;
  for (var q = start[i]; q < start[i + 1u]; q++) { s += a[sources[q] * info.inner + k]; }
  out[t] = s;
}
`;

/** out[i] = condition[i] ? x[i] : y[i] over arrays of one shape. */
const selectShader = `
struct Info { count: u32, rowStride: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> condition: array<u32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> y: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  out[t] = select(y[t], x[t], condition[t] != 0u);
}
`;

/** Writes `a  outer by m by inner` into rows [start, start + m) of the middle axis of `out  outer by n by inner`. */
const placeShader = `
struct Info { count: u32, rowStride: u32, n: u32, m: u32, inner: u32, start: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = gid.x + gid.y * info.rowStride;
  if (t >= info.count) { return; }
  let j = t % info.inner;
  let k = (t / info.inner) % info.m;
  let o = t / (info.inner * info.m);
  out[(o * info.n + info.start + k) * info.inner + j] = a[t];
}
`;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, n) => a * n, 1);
const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** A buffer with the shape of the array it holds. */
export interface ShapedBuffer {
  readonly buffer: GPUBuffer;
  readonly shape: readonly number[];
}

/** The array kernels on one device. */
export class GpuArrayKernels {
  constructor(readonly context: GpuContext) {}

  /** A pooled output buffer of `count` f32 values. */
  output(count: number): GPUBuffer {
    return this.context.pool.acquire(Math.max(1, count) * 4, STORAGE);
  }

  /** One thread per output value of a 64-wide kernel: the uniform head (count, row stride) and the grid. */
  private launch(key: string, code: string, uniform: Uint32Array, buffers: GPUBuffer[], count: number): void {
    if (count === 0) return;
    const pipeline = this.context.pipeline(`tensor:${key}`, () => code, buffers.length);
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    uniform[0] = count;
    uniform[1] = wx * 64;
    this.context.submit(pipeline, uniform, buffers, wx, wy);
  }

  /**
   * An elementwise op over inputs broadcast to `shape` (NumPy rules); `constants` are the op's parameters
   * (pow: exponent; clamp: lo, hi).
   */
  elementwise(
    op: ElementwiseOp,
    inputs: readonly ShapedBuffer[],
    shape: readonly number[],
    constants: readonly number[] = [0, 0],
  ): GPUBuffer {
    if (shape.length > MAX_RANK) throw new RangeError(`GPU elementwise ops take rank ≤ ${MAX_RANK}`);
    const count = sizeOf(shape);
    const { arity, expression } = ELEMENTWISE[op];
    const pipeline = this.context.pipeline(
      `tensor:${op}`,
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
    if (count > 0) this.context.submit(pipeline, info, [...inputs.map((t) => t.buffer), out], wx, wy);
    return out;
  }

  /** The sum of `count` values (deterministic tree order). */
  sumAll(buffer: GPUBuffer, count: number): GPUBuffer {
    return treeSum(this.context, buffer, count, 1, 0);
  }

  /** Sum along one axis; the tree sum when everything collapses to one value. */
  sumAxis(buffer: GPUBuffer, shape: readonly number[], axis: number): GPUBuffer {
    const outer = sizeOf(shape.slice(0, axis));
    const n = shape[axis];
    const inner = sizeOf(shape.slice(axis + 1));
    if (outer * inner === 1) return treeSum(this.context, buffer, n, 1, 0);
    const count = outer * inner;
    const out = this.output(count);
    this.launch("axisSum", axisSumShader, new Uint32Array([0, 0, n, inner]), [buffer, out], count);
    return out;
  }

  /** Reduces `shape` to `target` (broadcast-compatible): the tree sum for one value, else axis sums in turn. */
  sumTo(buffer: GPUBuffer, shape: readonly number[], target: readonly number[]): GPUBuffer {
    const padded = [...new Array(shape.length - target.length).fill(1), ...target];
    const size = sizeOf(shape);
    if (sizeOf(target) === 1) return treeSum(this.context, buffer, size, 1, 0);
    let current = buffer;
    const now = shape.slice();
    for (let k = 0; k < now.length; k++) {
      if (padded[k] !== 1 || now[k] === 1) continue;
      const next = this.sumAxis(current, now, k);
      if (current !== buffer) this.context.pool.release(current);
      current = next;
      now[k] = 1;
    }
    return current !== buffer ? current : this.copy(buffer, size);
  }

  /** A copy of `count` values. */
  copy(buffer: GPUBuffer, count: number): GPUBuffer {
    const out = this.output(count);
    const encoder = this.context.device.createCommandEncoder();
    encoder.copyBufferToBuffer(buffer, 0, out, 0, Math.max(4, count * 4));
    this.context.device.queue.submit([encoder.finish()]);
    return out;
  }

  /**
   * Over `[outer, n, inner]`: slice (mode 0, `count` = outer·m·inner values a[o, start + k, j]) or its
   * transpose embed (mode 1, `count` = outer·n·inner, zero outside [start, start + m)).
   */
  slice(buffer: GPUBuffer, count: number, n: number, m: number, inner: number, start: number, mode: 0 | 1) {
    const out = this.output(count);
    this.launch(
      "slice",
      sliceShader,
      new Uint32Array([0, 0, n, m, inner, start, mode, 0]),
      [buffer, out],
      count,
    );
    return out;
  }

  /** A B for `a  m by k`, `b  k by n`: `m by n`. */
  matmul(a: GPUBuffer, b: GPUBuffer, m: number, k: number, n: number): GPUBuffer {
    const out = this.output(m * n);
    this.launch("matmul", matmulShader, new Uint32Array([0, 0, m, k, n, 0, 0, 0]), [a, b, out], m * n);
    return out;
  }

  /** Aᵀ for `a  m by n`: `n by m`. */
  transpose(a: GPUBuffer, m: number, n: number): GPUBuffer {
    const out = this.output(m * n);
    this.launch("transpose", transposeShader, new Uint32Array([0, 0, m, n]), [a, out], m * n);
    return out;
  }

  /** Rows `indices` (each in 0 … rows − 1, checked by the caller) of `a  rows by inner`. */
  gather(a: GPUBuffer, indices: Int32Array, inner: number): GPUBuffer {
    const { device, pool } = this.context;
    const count = indices.length * inner;
    const index = upload(device, pool, Uint32Array.from(indices));
    const out = this.output(count);
    this.launch("gather", gatherShader, new Uint32Array([0, 0, inner, 0]), [a, index, out], count);
    pool.release(index);
    return out;
  }

  /** out[indices[r], ·] += a[r, ·] into `rows by inner` zeros, each target row adding its sources in order. */
  scatterAdd(a: GPUBuffer, indices: Int32Array, rows: number, inner: number): GPUBuffer {
    const { device, pool } = this.context;
    const start = new Uint32Array(rows + 1);
    for (const i of indices) start[i + 1]++;
    for (let i = 0; i < rows; i++) start[i + 1] += start[i];
    const sources = new Uint32Array(indices.length);
    const fill = start.slice(0, rows);
    for (let r = 0; r < indices.length; r++) sources[fill[indices[r]]++] = r;
    const [startBuffer, sourceBuffer] = [upload(device, pool, start), upload(device, pool, sources)];
    const count = rows * inner;
    const out = this.output(count);
    this.launch(
      "scatterAdd",
      scatterAddShader,
      new Uint32Array([0, 0, inner, 0]),
      [a, startBuffer, sourceBuffer, out],
      count,
    );
    pool.release(startBuffer);
    pool.release(sourceBuffer);
    return out;
  }

  /** condition[i] ? x[i] : y[i] over `count` values (x and y already of the output's shape). */
  select(condition: Uint8Array, x: GPUBuffer, y: GPUBuffer): GPUBuffer {
    const { device, pool } = this.context;
    const count = condition.length;
    const flags = upload(device, pool, Uint32Array.from(condition));
    const out = this.output(count);
    this.launch("select", selectShader, new Uint32Array([0, 0, 0, 0]), [flags, x, y, out], count);
    pool.release(flags);
    return out;
  }

  /** Writes `a  outer by m by inner` at rows [start, start + m) of the middle axis of `out  outer by n by inner`. */
  place(
    a: GPUBuffer,
    out: GPUBuffer,
    outer: number,
    n: number,
    m: number,
    inner: number,
    start: number,
  ): void {
    const count = outer * m * inner;
    this.launch("place", placeShader, new Uint32Array([0, 0, n, m, inner, start, 0, 0]), [a, out], count);
  }
}
