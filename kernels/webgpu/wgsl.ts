/**
 * WGSL sources of the THB kernels (their shared pieces in wgslPrelude.ts), generated per variant: parametric dimension D, degrees P_k, output
 * dimension DIM and derivative order are compile-time constants, so loops have constant bounds.
 *
 * Shared bindings (see thbGpu.ts for the buffers):
 *   0 uniform Meta     counts and offsets into the packed plan buffers
 *   1 planInts         [knotStart | elementLevel | elementSpan | treeNodes | rootCells]   (i32)
 *   2 planFloats       [1/h of uniform level-0 cells per direction (4) | knots | rootBreaks] (f32)
 * Per kernel, further storage buffers follow (params, local control, cotangents, outputs, …).
 */
import { derivativeCount, secondDerivativeBlock } from "../../splines/tensorBasis.js";
import {
  basesAt,
  blockSize,
  forComponents,
  localBlock,
  pointKernel,
  prelude,
  product,
  readPoint,
  tensorLoops,
  type Variant,
} from "./wgslPrelude.js";

/**
 * Point location alone: elementOut[i] = the element containing point i (the first phase of the scattered
 * kernels, timed on its own by bench:gpu). Bindings: 3 params, 4 out (i32).
 */
export function locateShader(v: Variant): string {
  return pointKernel(
    v,
    `@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> elementOut: array<i32>;`,
    "elementOut[i] = locate(x);",
  );
}

/**
 * Forward at scattered points: out[i] = Σ_j b_j(x_i) P_e[j] (order 0), or with derivatives:
 * `out  #points by derivativeCount(D, order) by DIM` (value, ∂/∂x_k, then for order 2 ∂²/∂x_k² and the mixed
 * ∂²/∂x_k∂x_l, k < l) — the CPU's block order.
 */
export function forwardShader(v: Variant, order: 0 | 1 | 2): string {
  const blocks = derivativeCount(v.d, order);
  const block = localBlock(v, 4);
  const row = block.row;
  const accumulate = (j: number, idx: number[]) => {
    const lines = [
      `{ let w = ${product(v, idx)}; ${forComponents(v.dim, (c) => `acc[${c}] += w * ${row(j, c)};`)} }`,
    ];
    const add = (derivative: Record<number, "D" | "S">, block: number) =>
      lines.push(
        `{ let w = ${product(v, idx, derivative)}; ${forComponents(v.dim, (c) => `acc[${block * v.dim + c}] += w * ${row(j, c)};`)} }`,
      );
    if (order >= 1) for (let k = 0; k < v.d; k++) add({ [k]: "D" }, 1 + k);
    if (order === 2) {
      for (let k = 0; k < v.d; k++) add({ [k]: "S" }, 1 + v.d + k);
      let block = 1 + 2 * v.d;
      for (let a = 0; a < v.d; a++) for (let b = a + 1; b < v.d; b++) add({ [a]: "D", [b]: "D" }, block++);
    }
    return lines.join(" ");
  };
  return pointKernel(
    v,
    `@group(0) @binding(3) var<storage, read> params: array<f32>;
${block.declaration}
@group(0) @binding(5) var<storage, read_write> out: array<f32>;`,
    `let e = locate(x);
  ${block.load}
  ${basesAt(v, order)}
  var acc = array<f32, ${blocks * v.dim}>();
  ${tensorLoops(v, accumulate)}
  ${forComponents(blocks * v.dim, (c) => `out[i * ${blocks * v.dim} + ${c}] = acc[${c}];`)}`,
  );
}

/**
 * How the per-element kernels find their points: slots pointStart[e] … pointStart[e+1] of the element order.
 * With an `order` buffer, slot s holds point order[s] (points kept where the caller stored them); without
 * one, the points are stored in element order and slot s is point s, so every access is contiguous.
 */
function elementSlots(contiguous: boolean, firstBinding: number): { bindings: string; point: string } {
  const bindings = [
    `@group(0) @binding(${firstBinding}) var<storage, read> pointStart: array<i32>;`,
    contiguous ? "" : `@group(0) @binding(${firstBinding + 1}) var<storage, read> order: array<i32>;`,
  ];
  return {
    bindings: bindings.filter(Boolean).join("\n"),
    point: contiguous ? "let i = s;" : "let i = order[s];",
  };
}

/**
 * The per-element point kernels: one workgroup per element walks the element's slots, so no point is
 * located. P_e is read once per workgroup: into registers when it is a whole number of vec4s (`localBlock`),
 * else staged in workgroup memory. `body(row)` runs per point with i (the point), x (its parameters) and e in
 * scope, `row(j, c)` reading P_e. Bindings: 3 params, 4 local, then `inputs` (read-only f32), pointStart,
 * order (not when `contiguous`), then out.
 */
function elementPointsKernel(
  v: Variant,
  contiguous: boolean,
  inputs: string[],
  body: (row: (j: number, c: number) => string) => string,
): string {
  const size = blockSize(v);
  const slots = elementSlots(contiguous, 5 + inputs.length);
  const block = localBlock(v, 4);
  const staged = !block.vectorised;
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> params: array<f32>;
${block.declaration}
${inputs.map((name, k) => `@group(0) @binding(${5 + k}) var<storage, read> ${name}: array<f32>;`).join("\n")}
${slots.bindings}
@group(0) @binding(${5 + inputs.length + (contiguous ? 1 : 2)}) var<storage, read_write> out: array<f32>;

${staged ? `var<workgroup> block: array<f32, ${size}>;` : ""}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = i32(wid.x + wid.y * info.rowStride);
  if (u32(e) >= info.elementCount) { return; }
  ${
    staged
      ? `for (var k = i32(tid); k < ${size}; k += 64) { block[k] = local[e * ${size} + k]; }
  workgroupBarrier();`
      : block.load
  }
  for (var s = pointStart[e] + i32(tid); s < pointStart[e + 1]; s += 64) {
    ${slots.point}
    ${readPoint(v)}
    ${body(staged ? (j, c) => `block[${j * v.dim + c}]` : block.row)}
  }
}
`;
}

/**
 * Forward at scattered points sorted by element once (for loops that evaluate the same points many times),
 * written at each point's own index. Bindings: 3 params, 4 local, 5 pointStart (i32), 6 order (i32, not
 * when `contiguous`), then out.
 */
export function sortedForwardShader(v: Variant, contiguous = false): string {
  return elementPointsKernel(
    v,
    contiguous,
    [],
    (row) => `${basesAt(v, false)}
    var acc: array<f32, ${v.dim}>;
    ${forComponents(v.dim, (c) => `acc[${c}] = 0.0;`)}
    ${tensorLoops(v, (j, idx) => `{ let w = ${product(v, idx)}; ${forComponents(v.dim, (c) => `acc[${c}] += w * ${row(j, c)};`)} }`)}
    ${forComponents(v.dim, (c) => `out[i * DIM + ${c}] = acc[${c}];`)}`,
  );
}

/**
 * Backward to parameters at points sorted by element once: ∂L/∂x_k = Σ_c g_c Σ_j ∂_k b_j(x) P_e[j][c].
 * Bindings: 3 params, 4 local, 5 cotangent, 6 pointStart, 7 order (not when `contiguous`), then out (#points × D).
 */
export function sortedBackwardParamsShader(v: Variant, contiguous = false): string {
  return elementPointsKernel(
    v,
    contiguous,
    ["cotangent"],
    (row) => `${basesAt(v, true)}
    ${parameterGradient(v, row)}`,
  );
}

/**
 * Local control P_e[j] = Σ_r E[r, j] C[f_r]: one thread per (element, j), so every output has one owner.
 * Bindings: 3 extractionStart (i32), 4 extractionFunctions (i32), 5 coefficients (f32), 6 control, 7 out.
 */
export function localControlShader(v: Variant): string {
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> extractionStart: array<i32>;
@group(0) @binding(4) var<storage, read> extractionFunctions: array<i32>;
@group(0) @binding(5) var<storage, read> coefficients: array<f32>;
@group(0) @binding(6) var<storage, read> control: array<f32>;
@group(0) @binding(7) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = pointIndex(gid);
  if (t >= info.elementCount * u32(B)) { return; }
  let e = i32(t) / B;
  let j = i32(t) % B;
  var acc = array<f32, DIM>();
  for (var r = extractionStart[e]; r < extractionStart[e + 1]; r++) {
    let a = coefficients[r * B + j];
    let f = extractionFunctions[r];
    ${forComponents(v.dim, (c) => `acc[${c}] += a * control[f * DIM + ${c}];`)}
  }
  ${forComponents(v.dim, (c) => `out[(e * B + j) * DIM + ${c}] = acc[${c}];`)}
}
`;
}

/**
 * Threads per workgroup of the per-element reduction. The reduction's tail (every thread's B × DIM partial
 * sums written to workgroup memory and read back once) costs in proportion to the thread count, while the
 * points are shared among the threads: with ~100 points per element (1 M points on a 10⁴-element plan) two
 * warps of 32 take two rounds each and one warp takes four — the same warp-rounds — but two warps write and
 * read twice the partials. So 32 (one NVIDIA warp) unless asked otherwise, and fewer when the padded
 * partials ((threads + 1) × B × DIM floats) would exceed WebGPU's guaranteed 16 KiB of workgroup memory.
 */
export function reduceThreads(v: Variant, preferred = 32): number {
  if (!Number.isInteger(preferred) || preferred < 1 || preferred > 256)
    throw new RangeError(`threads per element must be an integer from 1 to 256, got ${preferred}`);
  const size = blockSize(v);
  let threads = preferred;
  while (threads > 1 && (threads + 1) * size * 4 > 16384) threads = Math.floor(threads / 2);
  return threads;
}

/**
 * Per-element reduction G_e = Σ_{x∈e} b(x) ⊗ g(x), one workgroup of `threads` (T, see reduceThreads) per
 * element over its points (sorted by element once: order[pointStart[e] … pointStart[e+1]) lists them).
 * Thread t sums points t, t+T, …
 * into private accumulators; thread k then adds component k of the T partial sums in thread order: deterministic,
 * no atomics. Bindings: 3 params, 4 cotangent, 5 pointStart (i32), 6 order (i32, not when `contiguous`), then
 * out G.
 */
export function elementReduceShader(
  v: Variant,
  ofDerivatives = false,
  contiguous = false,
  threads = reduceThreads(v),
): string {
  const size = blockSize(v);
  // with ofDerivatives the cotangent is `#points by D by DIM` against the first derivatives of the basis:
  // G_e[j] = Σ_x Σ_k ∂_k b_j(x) g_k(x)
  const gather = ofDerivatives
    ? `${Array.from({ length: v.d }, (_, k) => forComponents(v.dim, (c) => `let g${k}_${c} = cotangent[(i * D + ${k}) * DIM + ${c}];`)).join(" ")}
    ${tensorLoops(v, (j, idx) =>
      Array.from(
        { length: v.d },
        (_, k) =>
          `{ let w = ${product(v, idx, { [k]: "D" })}; ${forComponents(v.dim, (c) => `acc[${j * v.dim + c}] += w * g${k}_${c};`)} }`,
      ).join(" "),
    )}`
    : `${forComponents(v.dim, (c) => `let g${c} = cotangent[i * DIM + ${c}];`)}
    ${tensorLoops(v, (j, idx) => `{ let w = ${product(v, idx)}; ${forComponents(v.dim, (c) => `acc[${j * v.dim + c}] += w * g${c};`)} }`)}`;
  const REDUCE_THREADS = threads;
  const slots = elementSlots(contiguous, 5);
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> params: array<f32>;
@group(0) @binding(4) var<storage, read> cotangent: array<f32>;
${slots.bindings}
@group(0) @binding(${contiguous ? 6 : 7}) var<storage, read_write> out: array<f32>;

var<workgroup> partial: array<f32, ${(REDUCE_THREADS + 1) * size}>;

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = i32(wid.x + wid.y * info.rowStride);
  if (u32(e) >= info.elementCount) { return; }
  var acc = array<f32, ${size}>();
  for (var s = pointStart[e] + i32(tid); s < pointStart[e + 1]; s += ${REDUCE_THREADS}) {
    ${slots.point}
    ${readPoint(v)}
    ${basesAt(v, ofDerivatives)}
    ${gather}
  }
  // thread t's partial sums go to partial[k·(T+1) + t]; then thread k adds component k's T partials in
  // thread order. The odd row stride T+1 keeps both phases free of bank conflicts, and one barrier suffices
  ${Array.from({ length: size }, (_, k) => `partial[${k * (REDUCE_THREADS + 1)}u + tid] = acc[${k}];`).join(" ")}
  workgroupBarrier();
  for (var k = tid; k < ${size}u; k += ${REDUCE_THREADS}u) {
    var total = 0.0;
    for (var t = 0u; t < ${REDUCE_THREADS}u; t++) { total += partial[k * ${REDUCE_THREADS + 1}u + t]; }
    out[u32(e) * ${size}u + k] = total;
  }
}
`;
}

/**
 * Backward to parameters of values and first derivatives together, from the order-2 forward H
 * (`#points by derivativeCount(D, 2) by DIM`): ∂L/∂x_l = Σ_c gV_c ∂_l S_c + Σ_{k,c} gD_{k,c} ∂_k∂_l S_c.
 * Bindings: 3 H, 4 gValues (`#points by DIM`), 5 gDerivatives (`#points by D by DIM`), 6 out (`#points by D`).
 */
export function paramsFromSecondDerivativesShader(v: Variant): string {
  const d = v.d;
  const blocks = derivativeCount(d, 2);
  const second = (k: number, l: number) => secondDerivativeBlock(d, k, l);
  const lines: string[] = [];
  for (let l = 0; l < d; l++) {
    const terms: string[] = [];
    for (let c = 0; c < v.dim; c++) {
      terms.push(`gValues[i * DIM + ${c}] * H[(i * ${blocks} + ${1 + l}) * DIM + ${c}]`);
      for (let k = 0; k < d; k++)
        terms.push(
          `gDerivatives[(i * D + ${k}) * DIM + ${c}] * H[(i * ${blocks} + ${second(k, l)}) * DIM + ${c}]`,
        );
    }
    lines.push(`out[i * D + ${l}] = ${terms.join(" + ")};`);
  }
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> H: array<f32>;
@group(0) @binding(4) var<storage, read> gValues: array<f32>;
@group(0) @binding(5) var<storage, read> gDerivatives: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = pointIndex(gid);
  if (p >= info.count) { return; }
  let i = i32(p);
  ${lines.join("\n  ")}
}
`;
}

/** Threads that share one function's rows in the transposed extraction; 64 / this functions per workgroup. */
export const GATHER_LANES = 16;

/**
 * Transposed extraction ∂C[a] = Σ_{rows r of a} Σ_j E[r, j] G_{element(r)}[j], rows listed per function in
 * ascending order (CSR of the transposed extraction, built once per plan). GATHER_LANES threads share a
 * function: lane l takes items l, l+16, … of its (row, j) pairs, so neighbouring lanes read neighbouring
 * coefficients and G entries, and a 10⁴-function plan still fills the GPU (one thread per function left
 * ~10⁴ threads, each with hundreds of dependent loads). Lane c < DIM then adds component c of the 16 lane
 * sums in lane order: deterministic, no atomics.
 * Bindings: 3 functionRowStart (i32), 4 functionRows (i32), 5 rowElement (i32), 6 coefficients, 7 G, 8 out.
 */
export function gatherFunctionsShader(v: Variant): string {
  const lanes = GATHER_LANES;
  const perGroup = 64 / lanes;
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> functionRowStart: array<i32>;
@group(0) @binding(4) var<storage, read> functionRows: array<i32>;
@group(0) @binding(5) var<storage, read> rowElement: array<i32>;
@group(0) @binding(6) var<storage, read> coefficients: array<f32>;
@group(0) @binding(7) var<storage, read> G: array<f32>;
@group(0) @binding(8) var<storage, read_write> out: array<f32>;

// lane sums: partial[(slot · DIM + c) · ${lanes} + lane]
var<workgroup> partial: array<f32, ${64 * v.dim}>;

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let group = wid.x + wid.y * info.rowStride;
  if (group * ${perGroup}u >= info.functionCount) { return; }
  let slot = tid / ${lanes}u;
  let lane = tid % ${lanes}u;
  let a = i32(group * ${perGroup}u + slot);
  var acc = array<f32, DIM>();
  if (u32(a) < info.functionCount) {
    let start = functionRowStart[a];
    let items = (functionRowStart[a + 1] - start) * B;
    for (var q = i32(lane); q < items; q += ${lanes}) {
      let r = functionRows[start + q / B];
      let j = q % B;
      let e = rowElement[r];
      let coefficient = coefficients[r * B + j];
      ${forComponents(v.dim, (c) => `acc[${c}] += coefficient * G[(e * B + j) * DIM + ${c}];`)}
    }
  }
  ${forComponents(v.dim, (c) => `partial[(slot * DIM + ${c}u) * ${lanes}u + lane] = acc[${c}];`)}
  workgroupBarrier();
  if (lane < u32(DIM) && u32(a) < info.functionCount) {
    var total = 0.0;
    for (var l = 0u; l < ${lanes}u; l++) { total += partial[(slot * DIM + lane) * ${lanes}u + l]; }
    out[u32(a) * u32(DIM) + lane] = total;
  }
}
`;
}

/**
 * Backward to parameters: ∂L/∂x_k = Σ_c g_c Σ_j ∂_k b_j(x) P_e[j][c], one thread per point.
 * Bindings: 3 params, 4 local, 5 cotangent, 6 out (#points × D).
 */
export function backwardParamsShader(v: Variant): string {
  const block = localBlock(v, 4);
  return pointKernel(
    v,
    `@group(0) @binding(3) var<storage, read> params: array<f32>;
${block.declaration}
@group(0) @binding(5) var<storage, read> cotangent: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;`,
    `let e = locate(x);
  ${block.load}
  ${basesAt(v, true)}
  ${parameterGradient(v, block.row)}`,
  );
}

/** WGSL lines writing out[i] = ∂L/∂x for point i from its cotangent and its element's control `row(j, c)`. */
function parameterGradient(v: Variant, row: (j: number, c: number) => string): string {
  const terms = (idx: number[]) =>
    Array.from({ length: v.d }, (_, k) => `gx[${k}] += ${product(v, idx, { [k]: "D" })} * s;`).join(" ");
  return `var gx = array<f32, ${v.d}>();
    ${forComponents(v.dim, (c) => `let g${c} = cotangent[i * DIM + ${c}];`)}
    ${tensorLoops(v, (j, idx) => `{ let s = ${Array.from({ length: v.dim }, (_, c) => `g${c} * ${row(j, c)}`).join(" + ")}; ${terms(idx)} }`)}
    ${forComponents(v.d, (k) => `out[i * D + ${k}] = gx[${k}];`)}`;
}

/**
 * Forward on a regular grid without search: one workgroup per element walks the grid points inside its
 * box (half-open, closed at the domain's end), so every grid point has exactly one owner.
 * Grid: gridCount0..2 = points per direction. Bindings: 3 local, 4 gridFloats [origin_k, spacing_k … then the
 * domain's upper bound per direction], 5 elementBox (f32, nE × 2D), 6 out (#grid points × DIM).
 */
export function gridForwardShader(v: Variant): string {
  const d = v.d;
  const block = localBlock(v, 3);
  return `${prelude(v)}
${block.declaration}
@group(0) @binding(4) var<storage, read> gridFloats: array<f32>;
@group(0) @binding(5) var<storage, read> elementBox: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

fn gridCount(k: i32) -> i32 {
  if (k == 0) { return i32(info.gridCount0); }
  if (k == 1) { return i32(info.gridCount1); }
  return i32(info.gridCount2);
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) tid: u32) {
  let e = i32(wid.x + wid.y * info.rowStride);
  if (u32(e) >= info.elementCount) { return; }
  // index range of grid points inside the element box per direction: [first, last)
  var first: array<i32, ${d}>;
  var extent: array<i32, ${d}>;
  var total = 1;
  for (var k = 0; k < D; k++) {
    let origin = gridFloats[2 * k];
    let spacing = gridFloats[2 * k + 1];
    let n = gridCount(k);
    let lo = elementBox[e * 2 * D + k];
    let hi = elementBox[e * 2 * D + D + k];
    let domainEnd = gridFloats[2 * D + k];
    var a = max(0, i32(ceil((lo - origin) / spacing - 1e-4)));
    while (a > 0 && origin + spacing * f32(a - 1) >= lo) { a -= 1; }
    while (a < n && origin + spacing * f32(a) < lo) { a += 1; }
    var b = a;
    while (b < n && (origin + spacing * f32(b) < hi || (hi >= domainEnd && origin + spacing * f32(b) <= hi))) { b += 1; }
    first[k] = a;
    extent[k] = b - a;
    total *= extent[k];
  }
  ${block.load}
  for (var t = i32(tid); t < total; t += 64) {
    var rest = t;
    var x: array<f32, ${d}>;
    var flat = 0;
    var stride = 1;
    for (var k = 0; k < D; k++) {
      let idx = first[k] + rest % extent[k];
      rest /= extent[k];
      x[k] = gridFloats[2 * k] + gridFloats[2 * k + 1] * f32(idx);
      flat += idx * stride;
      stride *= gridCount(k);
    }
    ${basesAt(v, false)}
    var acc = array<f32, DIM>();
    ${tensorLoops(v, (j, idx) => `{ let w = ${product(v, idx)}; ${forComponents(v.dim, (c) => `acc[${c}] += w * ${block.row(j, c)};`)} }`)}
    ${forComponents(v.dim, (c) => `out[flat * DIM + ${c}] = acc[${c}];`)}
  }
}
`;
}
