/**
 * WebGPU image kernels (f32) with the CPU twins of kernels/cpu/imageKernels.ts: linear and cubic B-spline
 * sampling of 2D and 3D images at warped coordinates with the gradient with respect to the coordinates, the
 * SSD residual terms, the NCC partial sums, and a deterministic tree reduction (fixed order, no atomics).
 * Conventions as on the CPU: x fastest, clamp to edge, coordinates in voxel units.
 */
import type { Interpolation, ScalarImage } from "../cpu/imageKernels.js";
import { readFloat32, STORAGE, upload } from "./gpuBuffers.js";
import { treeSum } from "./reduce.js";
import { type GpuContext, workgroupGrid } from "./thbGpu.js";

function weightsWgsl(kind: Interpolation): string {
  if (kind === "linear") {
    return `fn weights(t: f32, w: ptr<function, array<f32, 4>>, dw: ptr<function, array<f32, 4>>) -> i32 {
  let base = floor(t);
  let f = t - base;
  (*w)[0] = 1.0 - f; (*w)[1] = f; (*dw)[0] = -1.0; (*dw)[1] = 1.0;
  return i32(base);
}
const TAPS = 2;`;
  }
  return `fn weights(t: f32, w: ptr<function, array<f32, 4>>, dw: ptr<function, array<f32, 4>>) -> i32 {
  let base = floor(t);
  let f = t - base;
  let f2 = f * f;
  let f3 = f2 * f;
  (*w)[0] = (1.0 - 3.0 * f + 3.0 * f2 - f3) / 6.0;
  (*w)[1] = (4.0 - 6.0 * f2 + 3.0 * f3) / 6.0;
  (*w)[2] = (1.0 + 3.0 * f + 3.0 * f2 - 3.0 * f3) / 6.0;
  (*w)[3] = f3 / 6.0;
  (*dw)[0] = (-3.0 + 6.0 * f - 3.0 * f2) / 6.0;
  (*dw)[1] = (-12.0 * f + 9.0 * f2) / 6.0;
  (*dw)[2] = (3.0 + 6.0 * f - 9.0 * f2) / 6.0;
  (*dw)[3] = (3.0 * f2) / 6.0;
  return i32(base) - 1;
}
const TAPS = 4;`;
}

/**
 * Sampling (and, with `fixed`, SSD terms): out[p] = (I, ∂I/∂x_k …) per point, or for SSD
 * (r², 2 r ∂I/∂x_k …) with r = I − F.
 */
function sampleShader(d: number, kind: Interpolation, mode: "sample" | "ssd" | "ncc"): string {
  const loopsZ = d === 3 ? "for (var c = 0; c < TAPS; c++) {" : "{ let c = 0;";
  return `struct Info { count: u32, rowStride: u32, nx: i32, ny: i32, nz: i32, pad0: u32, pad1: u32, pad2: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> image: array<f32>;
@group(0) @binding(2) var<storage, read> coords: array<f32>;
@group(0) @binding(3) var<storage, read> fixedValues: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${weightsWgsl(kind)}
fn clampIndex(i: i32, n: i32) -> i32 { return clamp(i, 0, n - 1); }

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x + gid.y * info.rowStride;
  if (p >= info.count) { return; }
  var w0: array<f32, 4>; var d0: array<f32, 4>;
  var w1: array<f32, 4>; var d1: array<f32, 4>;
  var w2 = array<f32, 4>(1.0, 0.0, 0.0, 0.0); var d2 = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
  let f0 = weights(coords[p * ${d}u], &w0, &d0);
  let f1 = weights(coords[p * ${d}u + 1u], &w1, &d1);
  var f2 = 0;
  ${d === 3 ? "f2 = weights(coords[p * 3u + 2u], &w2, &d2);" : ""}
  var value = 0.0; var gx = 0.0; var gy = 0.0; var gz = 0.0;
  ${loopsZ}
    let zi = ${d === 3 ? "clampIndex(f2 + c, info.nz)" : "0"};
    for (var b = 0; b < TAPS; b++) {
      let yi = clampIndex(f1 + b, info.ny);
      for (var a = 0; a < TAPS; a++) {
        let xi = clampIndex(f0 + a, info.nx);
        let v = image[xi + info.nx * (yi + info.ny * zi)];
        value += w0[a] * w1[b] * w2[c] * v;
        gx += d0[a] * w1[b] * w2[c] * v;
        gy += w0[a] * d1[b] * w2[c] * v;
        gz += w0[a] * w1[b] * d2[c] * v;
      }
    }
  }
  ${
    mode === "ncc"
      ? `let f = fixedValues[p];
  out[p * 5u] = value;
  out[p * 5u + 1u] = f;
  out[p * 5u + 2u] = value * value;
  out[p * 5u + 3u] = f * f;
  out[p * 5u + 4u] = value * f;`
      : mode === "ssd"
        ? `let r = value - fixedValues[p];
  out[p * ${1 + d}u] = r * r;
  out[p * ${1 + d}u + 1u] = 2.0 * r * gx;
  out[p * ${1 + d}u + 2u] = 2.0 * r * gy;
  ${d === 3 ? "out[p * 4u + 3u] = 2.0 * r * gz;" : ""}`
        : `out[p * ${1 + d}u] = value;
  out[p * ${1 + d}u + 1u] = gx;
  out[p * ${1 + d}u + 2u] = gy;
  ${d === 3 ? "out[p * 4u + 3u] = gz;" : ""}`
  }
}
`;
}

/** Threads of a histogram workgroup, and the points each of them adds: a chunk of 4,096 points per workgroup. */
const HISTOGRAM_THREADS = 256;
const HISTOGRAM_POINTS_PER_THREAD = 16;
const HISTOGRAM_CHUNK = HISTOGRAM_THREADS * HISTOGRAM_POINTS_PER_THREAD;
/**
 * One point's unit of weight in the chunk histograms: 2¹⁹, so a bin of a 4,096-point chunk stays below 2³¹.
 * Quantising a weight costs at most 1/2²⁰ ≈ 1e-6 of a point (far below the f32 sampling's own effect).
 */
const HISTOGRAM_UNIT = 2 ** 19;

/**
 * Joint histogram partial sums: one workgroup per chunk of points adds each point's four Parzen weights,
 * in fixed point, to the chunk's histogram in workgroup memory with integer atomics. Integer addition is
 * exact and order-free, so the result does not depend on the order in which threads arrive (unlike float
 * atomics); the point's unit is split exactly (moving marginal first, then fixed), so every point adds
 * exactly one unit. A second pass sums each bin over the chunks in chunk order. Work per point is constant
 * (the earlier version had every thread scan its chunk for each bin it owned: bins² checks per point).
 */
function histogramChunkShader(bins: number): string {
  return `struct Info { count: u32, bins: u32, movingLo: f32, movingHi: f32, fixedLo: f32, fixedHi: f32, stride: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> samples: array<f32>;
@group(0) @binding(2) var<storage, read> fixedValues: array<f32>;
@group(0) @binding(3) var<storage, read_write> partial: array<f32>;
const BINS = ${bins};
const UNIT = ${HISTOGRAM_UNIT}u;
var<workgroup> counts: array<atomic<u32>, ${bins * bins}>;
fn position(value: f32, lo: f32, hi: f32) -> vec2f {
  let t = clamp((value - lo) / (hi - lo) * f32(BINS - 1), 0.0, f32(BINS - 1));
  let lower = min(floor(t), f32(BINS - 2));
  return vec2f(lower, t - lower);
}
fn add(bin: u32, amount: u32) { if (amount > 0u) { atomicAdd(&counts[bin], amount); } }
@compute @workgroup_size(${HISTOGRAM_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  for (var bin = tid; bin < u32(BINS * BINS); bin += ${HISTOGRAM_THREADS}u) { atomicStore(&counts[bin], 0u); }
  workgroupBarrier();
  for (var k = 0u; k < ${HISTOGRAM_POINTS_PER_THREAD}u; k++) {
    let p = wid.x * ${HISTOGRAM_CHUNK}u + k * ${HISTOGRAM_THREADS}u + tid;
    if (p < info.count) {
      let m = position(samples[p * info.stride], info.movingLo, info.movingHi);
      let f = position(fixedValues[p], info.fixedLo, info.fixedHi);
      // the unit split exactly: moving upper / lower, then each by the fixed weight
      let movingUpper = u32(round(m.y * f32(UNIT)));
      let movingLower = UNIT - movingUpper;
      let upperUpper = u32(round(f32(movingUpper) * f.y));
      let lowerUpper = u32(round(f32(movingLower) * f.y));
      let a = u32(m.x);
      let b = u32(f.x);
      add(a + u32(BINS) * b, movingLower - lowerUpper);
      add(a + 1u + u32(BINS) * b, movingUpper - upperUpper);
      add(a + u32(BINS) * (b + 1u), lowerUpper);
      add(a + 1u + u32(BINS) * (b + 1u), upperUpper);
    }
  }
  workgroupBarrier();
  for (var bin = tid; bin < u32(BINS * BINS); bin += ${HISTOGRAM_THREADS}u) {
    partial[wid.x * u32(BINS * BINS) + bin] = f32(atomicLoad(&counts[bin])) / f32(UNIT);
  }
}
`;
}

/** The uniform of the histogram kernels. */
function histogramInfo(
  count: number,
  bins: number,
  movingRange: readonly [number, number],
  fixedRange: readonly [number, number],
  stride: number,
  rowStride: number,
): DataView {
  const info = new DataView(new ArrayBuffer(32));
  info.setUint32(0, count, true);
  info.setUint32(4, bins, true);
  info.setFloat32(8, movingRange[0], true);
  info.setFloat32(12, movingRange[1], true);
  info.setFloat32(16, fixedRange[0], true);
  info.setFloat32(20, fixedRange[1], true);
  info.setUint32(24, stride, true);
  info.setUint32(28, rowStride, true);
  return info;
}

/**
 * ∂L/∂m_p for a histogram cotangent G: with the point's lower bins (a, b) and weights (wa, wb),
 * s · ((1 − wb)(G[b][a+1] − G[b][a]) + wb (G[b+1][a+1] − G[b+1][a])), s = (bins − 1)/(hi − lo) inside the
 * range and 0 where the position was clamped.
 */
const histogramVjpShader = `struct Info { count: u32, bins: u32, movingLo: f32, movingHi: f32, fixedLo: f32, fixedHi: f32, stride: u32, rowStride: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> moving: array<f32>;
@group(0) @binding(2) var<storage, read> fixedValues: array<f32>;
@group(0) @binding(3) var<storage, read> cotangent: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
fn position(value: f32, lo: f32, hi: f32) -> vec2f {
  let top = f32(info.bins - 1u);
  let t = clamp((value - lo) / (hi - lo) * top, 0.0, top);
  let lower = min(floor(t), top - 1.0);
  return vec2f(lower, t - lower);
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = gid.x + gid.y * info.rowStride;
  if (p >= info.count) { return; }
  let top = f32(info.bins - 1u);
  let raw = (moving[p] - info.movingLo) / (info.movingHi - info.movingLo) * top;
  let scale = select(0.0, top / (info.movingHi - info.movingLo), raw >= 0.0 && raw <= top);
  let m = position(moving[p], info.movingLo, info.movingHi);
  let f = position(fixedValues[p], info.fixedLo, info.fixedHi);
  let a = u32(m.x);
  let b = u32(f.x);
  let n = info.bins;
  let lowerRow = cotangent[a + 1u + n * b] - cotangent[a + n * b];
  let upperRow = cotangent[a + 1u + n * (b + 1u)] - cotangent[a + n * (b + 1u)];
  out[p] = scale * ((1.0 - f.y) * lowerRow + f.y * upperRow);
}
`;

/** Sums each bin over chunks, in chunk order. */
const histogramSumShader = `struct Info { chunks: u32, size: u32, pad0: u32, pad1: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> partial: array<f32>;
@group(0) @binding(2) var<storage, read_write> histogram: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let bin = gid.x;
  if (bin >= info.size) { return; }
  var s = 0.0;
  for (var c = 0u; c < info.chunks; c++) { s += partial[c * info.size + bin]; }
  histogram[bin] = s;
}
`;

/** Image kernels on one device. */
export class GpuImageKernels {
  readonly context: GpuContext;

  constructor(context: GpuContext) {
    this.context = context;
  }

  private samplePipeline(d: number, kind: Interpolation, mode: "sample" | "ssd" | "ncc"): GPUComputePipeline {
    return this.context.pipeline(`image:${d}:${kind}:${mode}`, () => sampleShader(d, kind, mode), 4);
  }

  /**
   * Joint histogram of sampled moving values against fixed values (linear Parzen windows, `bins` ≤ 64 per
   * axis), `bins by bins` with the moving index fastest — deterministic (fixed-point integer sums per
   * chunk, then chunks in order).
   */
  async jointHistogram(
    image: ScalarImage,
    coords: ArrayLike<number>,
    fixed: ArrayLike<number>,
    kind: Interpolation,
    bins: number,
    movingRange: readonly [number, number],
    fixedRange: readonly [number, number],
  ): Promise<Float32Array> {
    if (!Number.isInteger(bins) || bins < 2 || bins > 64)
      throw new RangeError(`bins must be an integer from 2 to 64, got ${bins}`);
    const { device, pool } = this.context;
    const d = image.size.length;
    const count = coords.length / d;
    const [imageBuffer, coordBuffer, fixedBuffer] = this.uploadInputs(image, coords, fixed);
    const samples = pool.acquire(count * (1 + d) * 4, STORAGE);
    this.sampleTerms("sample", image.size, imageBuffer, coordBuffer, fixedBuffer, samples, count, kind);
    const histogram = this.encodeHistogram(samples, 1 + d, fixedBuffer, count, bins, movingRange, fixedRange);
    const size = bins * bins;
    const result = await readFloat32(device, histogram, size);
    for (const b of [imageBuffer, coordBuffer, fixedBuffer, samples, histogram]) pool.release(b);
    return result;
  }

  /** NCC partial sums [Σ I, Σ F, Σ I², Σ F², Σ I F] over the points (deterministic tree sums). */
  async nccSums(
    image: ScalarImage,
    coords: ArrayLike<number>,
    fixed: ArrayLike<number>,
    kind: Interpolation,
  ): Promise<Float64Array> {
    const { device, pool } = this.context;
    const d = image.size.length;
    const count = coords.length / d;
    const [imageBuffer, coordBuffer, fixedBuffer] = this.uploadInputs(image, coords, fixed);
    const [terms, results] = this.encodeNccSums(
      image.size,
      imageBuffer,
      coordBuffer,
      fixedBuffer,
      count,
      kind,
    );
    const sums = new Float64Array(5);
    for (let k = 0; k < 5; k++) {
      [sums[k]] = await readFloat32(device, results[k], 1);
      pool.release(results[k]);
    }
    for (const b of [imageBuffer, coordBuffer, fixedBuffer, terms]) pool.release(b);
    return sums;
  }

  /**
   * Encodes the NCC terms per point and their five tree sums over buffers on the device: returns the terms
   * buffer and the five one-value sum buffers [Σ I, Σ F, Σ I², Σ F², Σ I F] (the caller releases them).
   */
  encodeNccSums(
    size: readonly number[],
    image: GPUBuffer,
    coords: GPUBuffer,
    fixed: GPUBuffer,
    count: number,
    kind: Interpolation,
  ): [GPUBuffer, GPUBuffer[]] {
    const terms = this.context.pool.acquire(count * 5 * 4, STORAGE);
    this.sampleTerms("ncc", size, image, coords, fixed, terms, count, kind);
    return [terms, [0, 1, 2, 3, 4].map((k) => this.sumBuffer(terms, count, 5, k))];
  }

  /** Values and gradients at coordinates: `#points by (1+d)` (value, then ∂/∂x_k). */
  async sample(image: ScalarImage, coords: ArrayLike<number>, kind: Interpolation): Promise<Float32Array> {
    return this.sampleOrSsd(image, coords, kind, undefined);
  }

  /** SSD: the sum of squared residuals, and per point 2 r ∇I (`#points by d`). */
  async ssd(
    image: ScalarImage,
    coords: ArrayLike<number>,
    fixed: ArrayLike<number>,
    kind: Interpolation,
  ): Promise<{ value: number; gradient: Float32Array }> {
    const d = image.size.length;
    const terms = await this.sampleOrSsd(image, coords, kind, fixed, true);
    const count = coords.length / d;
    const value = await this.sum(terms, count, 1 + d, 0);
    const gradient = new Float32Array(count * d);
    for (let p = 0; p < count; p++)
      for (let k = 0; k < d; k++) gradient[p * d + k] = terms[p * (1 + d) + 1 + k];
    return { value, gradient };
  }

  /**
   * Encodes the SSD terms kernel on buffers already on the device (for benchmarks and loops):
   * `out  #points by (1+d)` gets (r², 2 r ∂I/∂x_k …).
   */
  ssdTerms(
    size: readonly number[],
    image: GPUBuffer,
    coords: GPUBuffer,
    fixed: GPUBuffer,
    out: GPUBuffer,
    count: number,
    kind: Interpolation,
  ): void {
    this.sampleTerms("ssd", size, image, coords, fixed, out, count, kind);
  }

  /** Encodes the sampling kernel in one mode over buffers on the device (one thread per point). */
  private sampleTerms(
    mode: "sample" | "ssd" | "ncc",
    size: readonly number[],
    image: GPUBuffer,
    coords: GPUBuffer,
    fixed: GPUBuffer,
    out: GPUBuffer,
    count: number,
    kind: Interpolation,
  ): void {
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    const info = new Int32Array([count, wx * 64, size[0], size[1], size[2] ?? 1, 0, 0, 0]);
    this.context.submit(
      this.samplePipeline(size.length, kind, mode),
      info,
      [image, coords, fixed, out],
      wx,
      wy,
    );
  }

  /**
   * Encodes the joint histogram of moving[p · stride] against fixed[p] (`bins by bins`, moving index
   * fastest): fixed-point chunk histograms, then a chunk-ordered sum. Returns the histogram buffer.
   */
  encodeHistogram(
    moving: GPUBuffer,
    stride: number,
    fixed: GPUBuffer,
    count: number,
    bins: number,
    movingRange: readonly [number, number],
    fixedRange: readonly [number, number],
  ): GPUBuffer {
    const { pool } = this.context;
    const chunks = Math.max(1, Math.ceil(count / HISTOGRAM_CHUNK));
    if (chunks > 65535)
      throw new RangeError(
        `jointHistogram takes at most ${65535 * HISTOGRAM_CHUNK} points per call, got ${count}`,
      );
    const size = bins * bins;
    const partial = pool.acquire(chunks * size * 4, STORAGE);
    const chunkPipeline = this.context.pipeline(`histogram:${bins}`, () => histogramChunkShader(bins), 3);
    this.context.submit(
      chunkPipeline,
      histogramInfo(count, bins, movingRange, fixedRange, stride, 0),
      [moving, fixed, partial],
      chunks,
    );
    const histogram = pool.acquire(size * 4, STORAGE);
    const sumPipeline = this.context.pipeline("histogram:sum", () => histogramSumShader, 2);
    this.context.submit(
      sumPipeline,
      new Uint32Array([chunks, size, 0, 0]),
      [partial, histogram],
      Math.ceil(size / 64),
    );
    pool.release(partial);
    return histogram;
  }

  /**
   * Encodes the VJP of the joint histogram with respect to the moving values: per point, the bin
   * cotangents it touched, weighted by its Parzen weights' derivative (a gather, no atomics).
   */
  encodeHistogramVjp(
    moving: GPUBuffer,
    fixed: GPUBuffer,
    cotangent: GPUBuffer,
    count: number,
    bins: number,
    movingRange: readonly [number, number],
    fixedRange: readonly [number, number],
  ): GPUBuffer {
    const out = this.context.pool.acquire(Math.max(1, count) * 4, STORAGE);
    const [wx, wy] = workgroupGrid(Math.ceil(count / 64));
    const pipeline = this.context.pipeline("histogram:vjp", () => histogramVjpShader, 4);
    if (count > 0)
      this.context.submit(
        pipeline,
        histogramInfo(count, bins, movingRange, fixedRange, 1, wx * 64),
        [moving, fixed, cotangent, out],
        wx,
        wy,
      );
    return out;
  }

  /** Encodes sampling: `out  #points by (1+d)` gets (I, ∂I/∂x_k …) at `coords` (buffers on the device). */
  encodeSample(
    size: readonly number[],
    image: GPUBuffer,
    coords: GPUBuffer,
    out: GPUBuffer,
    count: number,
    kind: Interpolation,
  ): void {
    // the sample mode reads no fixed values; the coordinates stand in for that binding
    this.sampleTerms("sample", size, image, coords, coords, out, count, kind);
  }

  /** Uploads an image, coordinates and fixed values (a placeholder when there are none). */
  private uploadInputs(
    image: ScalarImage,
    coords: ArrayLike<number>,
    fixed: ArrayLike<number> | undefined,
  ): GPUBuffer[] {
    const { device, pool } = this.context;
    return [
      upload(device, pool, Float32Array.from(image.values)),
      upload(device, pool, Float32Array.from(coords)),
      upload(device, pool, Float32Array.from(fixed ?? [0])),
    ];
  }

  /** Encodes the tree sum of buffer[offset + stride·i], i < count; returns the 1-value result buffer. */
  sumBuffer(buffer: GPUBuffer, count: number, stride: number, offset: number): GPUBuffer {
    return treeSum(this.context, buffer, count, stride, offset);
  }

  private async sampleOrSsd(
    image: ScalarImage,
    coords: ArrayLike<number>,
    kind: Interpolation,
    fixed: ArrayLike<number> | undefined,
    ssd = false,
  ): Promise<Float32Array> {
    const { device, pool } = this.context;
    const d = image.size.length;
    const count = coords.length / d;
    const [imageBuffer, coordBuffer, fixedBuffer] = this.uploadInputs(image, coords, fixed);
    const out = pool.acquire(count * (1 + d) * 4, STORAGE);
    this.sampleTerms(
      ssd ? "ssd" : "sample",
      image.size,
      imageBuffer,
      coordBuffer,
      fixedBuffer,
      out,
      count,
      kind,
    );
    const values = await readFloat32(device, out, count * (1 + d));
    for (const b of [imageBuffer, coordBuffer, fixedBuffer, out]) pool.release(b);
    return values;
  }

  /** Deterministic sum of values[offset + stride·i], i < count: tree passes until one value remains. */
  async sum(values: Float32Array, count: number, stride = 1, offset = 0): Promise<number> {
    const { device, pool } = this.context;
    const input = upload(device, pool, values);
    const result = this.sumBuffer(input, count, stride, offset);
    const [total] = await readFloat32(device, result, 1);
    pool.release(input);
    if (result !== input) pool.release(result);
    return total;
  }
}
