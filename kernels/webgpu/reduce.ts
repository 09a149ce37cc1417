/**
 * The deterministic tree sum shared by the image kernels and device tensors: each workgroup sums a fixed
 * contiguous chunk in a fixed order, then the partial sums are summed again, until one value remains.
 * No atomics, so two runs give bitwise equal results.
 */
import { STORAGE } from "./gpuBuffers.js";
import type { GpuContext } from "./thbGpu.js";

const WORKGROUP = 256;

const reduceShader = `struct Info { count: u32, stride: u32, offset: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Info;
@group(0) @binding(1) var<storage, read> input: array<f32>;
@group(0) @binding(2) var<storage, read_write> partial: array<f32>;
var<workgroup> tree: array<f32, ${WORKGROUP}>;
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  // each workgroup owns a contiguous chunk of ${WORKGROUP * 16} values; thread t sums every ${WORKGROUP}th
  let chunk = wid.x * ${WORKGROUP * 16}u;
  var s = 0.0;
  for (var k = 0u; k < 16u; k++) {
    let i = chunk + k * ${WORKGROUP}u + tid;
    if (i < info.count) { s += input[i * info.stride + info.offset]; }
  }
  tree[tid] = s;
  workgroupBarrier();
  for (var half = ${WORKGROUP / 2}u; half > 0u; half /= 2u) {
    if (tid < half) { tree[tid] += tree[tid + half]; }
    workgroupBarrier();
  }
  if (tid == 0u) { partial[wid.x] = tree[0]; }
}
`;

/**
 * Encodes the tree sum of buffer[offset + stride·i], i < count; returns a new pooled buffer whose first
 * value is the sum (0 for count 0).
 */
export function treeSum(
  context: GpuContext,
  buffer: GPUBuffer,
  count: number,
  stride: number,
  offset: number,
): GPUBuffer {
  const { pool } = context;
  const pipeline = context.pipeline("reduce:sum", () => reduceShader, 2);
  let input = buffer;
  let n = count;
  let s = stride;
  let o = offset;
  for (;;) {
    const groups = Math.max(1, Math.ceil(n / (WORKGROUP * 16)));
    if (groups > 65535) throw new RangeError(`treeSum takes at most ${65535 * WORKGROUP * 16} values`);
    const partial = pool.acquire(groups * 4, STORAGE);
    context.submit(pipeline, new Uint32Array([n, s, o, 0]), [input, partial], groups);
    if (input !== buffer) pool.release(input);
    input = partial;
    n = groups;
    s = 1;
    o = 0;
    if (n === 1) return input;
  }
}
