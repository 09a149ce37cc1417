/**
 * `npm run bench:gpu`: THB kernels on the CPU and on WebGPU — parity first, then a throughput table.
 * One script so that a lent GPU runs it in a few minutes. Sizes reach 10 M points on a real GPU
 * (1 M on a software adapter); effective GB/s counts the unavoidable traffic per point (parameters in,
 * values out, cotangents in), and the bandwidth fraction compares it with a measured buffer copy.
 */

import * as ad from "../autodiff/index.js";
import type { Tensor } from "../autodiff/tensor.js";
import { compile } from "../hierarchy/plan.js";
import { refineBoxes } from "../hierarchy/refinement.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { elementOrder, permuteRows } from "../kernels/cpu/elementOrder.js";
import { gridPoints } from "../kernels/cpu/gridPoints.js";
import { jointHistogramCpu, nccFromSums, nccSumsCpu, ssdCpu } from "../kernels/cpu/imageKernels.js";
import { localControl } from "../kernels/cpu/planEvaluate.js";
import { evaluateSurfaceField } from "../kernels/cpu/surfaceEvaluate.js";
import {
  elementGradientsCpu,
  gatherFunctionGradientsCpu,
  thbBackwardControlCpu,
} from "../kernels/cpu/thbKernels.js";
import { requestWebGPU } from "../kernels/webgpu/device.js";
import { readFloat32, STORAGE, upload } from "../kernels/webgpu/gpuBuffers.js";
import { GpuImageKernels } from "../kernels/webgpu/imageGpu.js";
import { PassTimer } from "../kernels/webgpu/passTimer.js";
import {
  GpuContext,
  GpuPlan,
  gpuBackwardControl,
  gpuEvaluate,
  type PointOrder,
  workgroupGrid,
} from "../kernels/webgpu/thbGpu.js";
import { thbOps } from "../primitives/thbPrimitive.js";
import { WebGpuTensors } from "../primitives/webgpuTensors.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { median, medianSeconds, printTable, si } from "./harness.js";
import { registrationLossRows } from "./registrationGpu.js";

const webgpu = await requestWebGPU();
if (!webgpu) {
  console.error("bench:gpu: no WebGPU adapter (see README: WebGPU). Nothing measured.");
  process.exit(1);
}
const { device } = webgpu;
const info = webgpu.adapterInfo;
console.log(
  `adapter: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" / ")}${webgpu.isSoftware ? " (software)" : ""}`,
);
const context = new GpuContext(device);
const maxPoints = Number(process.env.THB_BENCH_POINTS ?? (webgpu.isSoftware ? 1_000_000 : 10_000_000));

// the hierarchy benchmark's surface: bicubic, three levels, about 9,300 functions
const U = uniformKnotVector(3, 40);
const space = refineBoxes(THBSpace.create({ degrees: [3, 3], knots: [U, U] }), [
  [1, 8, 8, 72, 72],
  [2, 40, 40, 120, 120],
]);
const plan = compile(space);
const gpu = new GpuPlan(context, plan);
const dim = 3;
const rand = seededRandom(3);
const control = Float64Array.from({ length: space.size * dim }, () => rand());
const local = localControl(plan, control, dim);

/** max |a − b| / max |b|. */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let scale = 1e-30;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}

// ---- parity ------------------------------------------------------------------------------------------
{
  const n = 100_000;
  const params = Float64Array.from({ length: 2 * n }, () => rand());
  const cotangent = Float64Array.from({ length: n * dim }, () => rand() - 0.5);

  const forward = relativeError(
    await gpuEvaluate(gpu, control, dim, params),
    evaluateSurfaceField(plan, local, dim, params),
  );
  const backward = relativeError(
    await gpuBackwardControl(gpu, params, cotangent, dim),
    thbBackwardControlCpu(plan, params, cotangent, dim),
  );
  console.log(
    `parity at ${n} points (max |gpu − cpu| / max |cpu|): forward ${forward.toExponential(2)}, backward ${backward.toExponential(2)}`,
  );
  if (!(forward < 1e-5 && backward < 1e-5)) {
    console.error("bench:gpu: parity failed, not timing a wrong kernel");
    process.exit(1);
  }
}

// ---- timing ------------------------------------------------------------------------------------------------
/** Wall seconds per call (host submission included) and, with timestamp queries, device seconds per call. */
interface Timing {
  wall: number;
  device?: number;
}
const timer = webgpu.timestamps ? new PassTimer(device) : undefined;
console.log(
  timer
    ? "device times from timestamp queries (the kernels' own time); wall times include the host's submissions"
    : "no timestamp queries on this adapter: times are wall-clock per call, host submission included",
);

/**
 * Times `run`: `batch` calls submitted back to back, then one wait, so submission latency is amortised as
 * in an optimisation loop; medians over `repeats` batches, of the wall time and of the device time.
 */
async function timeGpu(
  run: () => void,
  repeats: number,
  batch = webgpu!.isSoftware ? 1 : 10,
): Promise<Timing> {
  // the first run doubles as a validation check: a rejected dispatch would otherwise time as "fast"
  device.pushErrorScope("validation");
  device.pushErrorScope("out-of-memory");
  run();
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (oom || invalid) throw new Error(`GPU error during a timed operation: ${(oom ?? invalid)?.message}`);
  for (let w = 0; w < (webgpu!.isSoftware ? 0 : 3); w++) run();
  await device.queue.onSubmittedWorkDone();
  const walls: number[] = [];
  const devices: number[] = [];
  context.timer = timer;
  try {
    for (let r = 0; r < repeats; r++) {
      const t0 = performance.now();
      for (let b = 0; b < batch; b++) run();
      await device.queue.onSubmittedWorkDone();
      walls.push((performance.now() - t0) / 1000 / batch);
      if (timer) devices.push((await timer.collect()).seconds / batch);
    }
  } finally {
    context.timer = undefined;
  }
  return { wall: median(walls), device: timer ? median(devices) : undefined };
}

/** Keeps the GPU busy for `seconds` so that its clocks have risen before the first timed row. */
async function warmUp(run: () => void, seconds: number): Promise<void> {
  const until = performance.now() + 1000 * seconds;
  while (performance.now() < until) {
    for (let b = 0; b < 10; b++) run();
    await device.queue.onSubmittedWorkDone();
  }
}

// ---- measured device bandwidth: a buffer copy, and a compute kernel streaming vec4s ---------------------------
const copyBytes = webgpu.isSoftware ? 64 << 20 : 1 << 30;
const copySource = device.createBuffer({
  size: copyBytes,
  usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE,
});
const copyTarget = device.createBuffer({
  size: copyBytes,
  usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE,
});
const copy = () => {
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(copySource, 0, copyTarget, 0, copyBytes);
  device.queue.submit([encoder.finish()]);
};
await warmUp(copy, webgpu.isSoftware ? 0 : 1);
const copyTime = await timeGpu(copy, 5);
const streamPipeline = context.pipeline(
  "bench:stream",
  () => `struct Meta { count: u32, rowStride: u32 };
@group(0) @binding(0) var<uniform> info: Meta;
@group(0) @binding(1) var<storage, read> source: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> destination: array<vec4f>;
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * info.rowStride;
  if (i < info.count) { destination[i] = source[i]; }
}`,
  2,
);
const vectors = copyBytes / 16;
const streamGroups = workgroupGrid(Math.ceil(vectors / 256));
const streamTime = await timeGpu(
  () =>
    context.submit(
      streamPipeline,
      new Uint32Array([vectors, streamGroups[0] * 256, 0, 0]),
      [copySource, copyTarget],
      ...streamGroups,
    ),
  5,
);
// each copy reads and writes copyBytes; the larger of the two measurements is the reference
const copyBandwidth = (2 * copyBytes) / copyTime.wall;
const streamBandwidth = (2 * copyBytes) / (streamTime.device ?? streamTime.wall);
const bandwidth = Math.max(copyBandwidth, streamBandwidth);
copySource.destroy();
copyTarget.destroy();
console.log(
  `measured bandwidth: buffer copy ${si(copyBandwidth)}B/s, vec4 streaming kernel ${si(streamBandwidth)}B/s`,
);

// ---- throughput ------------------------------------------------------------------------------------------
const rows: string[][] = [];
/** A table row; rates from the device time when there is one. */
const add = (op: string, backend: string, points: number, time: Timing | number, bytesPerPoint: number) => {
  const { wall, device: onDevice } = typeof time === "number" ? { wall: time, device: undefined } : time;
  const seconds = onDevice ?? wall;
  const gbs = (points * bytesPerPoint) / seconds;
  rows.push([
    op,
    backend,
    si(points),
    `${(wall * 1e3).toFixed(3)} ms`,
    onDevice === undefined ? "" : `${(onDevice * 1e3).toFixed(3)} ms`,
    si(points / seconds),
    `${(gbs / 1e9).toFixed(1)}`,
    backend === "webgpu" ? `${((100 * gbs) / bandwidth).toFixed(1)} %` : "",
  ]);
};
const timeOf = (t: Timing) => t.device ?? t.wall;
const sizes = [1_000_000, maxPoints].filter((n, i, a) => a.indexOf(n) === i);
const forwardBytes = 8 + 4 * dim;
const backwardBytes = 8 + 4 * dim + 4;
const ratios: string[] = [];
/** The issue's H100 targets, judged on device times of bicubic THB with the points stored in element order. */
const targets: string[] = [];
{
  // CPU at 1 M points (f64 reference)
  const n = 1_000_000;
  const params = Float64Array.from({ length: 2 * n }, () => rand());
  const cotangent = Float64Array.from({ length: n * dim }, () => rand() - 0.5);
  const out = new Float64Array(n * dim);
  const fwd = medianSeconds(() => evaluateSurfaceField(plan, local, dim, params, out), 3);
  add("THB forward, scattered", "cpu", n, fwd, forwardBytes);
  const bwd = medianSeconds(
    () => gatherFunctionGradientsCpu(plan, elementGradientsCpu(plan, params, cotangent, dim), dim),
    3,
  );
  add("THB backward to coefficients", "cpu", n, bwd, backwardBytes);
  ratios.push(`cpu backward ÷ forward at 1 M: ${(bwd / fwd).toFixed(2)}`);
  // the CPU has no grid kernel: the grid's points go through the scattered surface path
  const side = 1000;
  const gridParams = gridPoints([0, 0], [1 / (side - 1), 1 / (side - 1)], [side, side]);
  for (let i = 0; i < gridParams.length; i++) gridParams[i] = Math.min(gridParams[i], 1);
  const gridOut = new Float64Array(side * side * dim);
  const grid = medianSeconds(() => evaluateSurfaceField(plan, local, dim, gridParams, gridOut), 3);
  add("THB forward, regular grid", "cpu", side * side, grid, 4 * dim);
}
for (const n of sizes) {
  // random points, and the same points stored in element order (what a fitting loop uploads)
  const params = Float32Array.from({ length: 2 * n }, () => rand());
  const cotangent = Float32Array.from({ length: n * dim }, () => rand() - 0.5);
  const t0 = performance.now();
  const byElement = elementOrder(plan, params);
  const sortSeconds = (performance.now() - t0) / 1000;
  const storedParams = permuteRows(params, byElement.order, 2);
  const storedCotangent = permuteRows(cotangent, byElement.order, dim);
  const [paramsBuffer, cotangentBuffer, storedParamsBuffer, storedCotangentBuffer, controlBuffer] = [
    params,
    cotangent,
    storedParams,
    storedCotangent,
    Float32Array.from(control),
  ].map((a) => upload(device, context.pool, a));
  const localBuffer = gpu.localControl(controlBuffer, dim);
  const order = gpu.uploadOrder(byElement.pointStart, byElement.order);
  const stored = gpu.sortPoints(storedParams);
  if (stored.order) throw new Error("points permuted into element order were not recognised as stored in it");
  const repeats = webgpu.isSoftware ? 2 : 7;
  const forwardScattered = () => context.pool.release(gpu.forward(localBuffer, paramsBuffer, n, dim));
  if (n === sizes[0]) await warmUp(forwardScattered, webgpu.isSoftware ? 0 : 1);
  const fwd = await timeGpu(forwardScattered, repeats);
  add("THB forward, scattered", "webgpu", n, fwd, forwardBytes);
  // its first phase alone: how much of the scattered forward is point location
  const locate = await timeGpu(() => context.pool.release(gpu.locate(paramsBuffer, n)), repeats);
  add("THB point location alone (scattered)", "webgpu", n, locate, 8 + 4);
  const sortedFwd = await timeGpu(
    () => context.pool.release(gpu.forwardSorted(localBuffer, paramsBuffer, order, dim)),
    repeats,
  );
  add("THB forward, scattered, sorted by element once", "webgpu", n, sortedFwd, forwardBytes);
  const storedFwd = await timeGpu(
    () => context.pool.release(gpu.forwardSorted(localBuffer, storedParamsBuffer, stored, dim)),
    repeats,
  );
  add("THB forward, scattered, stored in element order", "webgpu", n, storedFwd, forwardBytes);
  // the one-thread-per-point kernel on the same stored points: location and control reads then coherent
  const storedPerPoint = await timeGpu(
    () => context.pool.release(gpu.forward(localBuffer, storedParamsBuffer, n, dim)),
    repeats,
  );
  add("THB forward, stored in element order, a thread per point", "webgpu", n, storedPerPoint, forwardBytes);
  const backward = (p: GPUBuffer, g: GPUBuffer, o: PointOrder, threads?: number) => () => {
    const G = gpu.elementGradients(p, g, o, dim, threads);
    context.pool.release(gpu.gatherFunctions(G, dim));
    context.pool.release(G);
  };
  const bwd = await timeGpu(backward(paramsBuffer, cotangentBuffer, order), repeats);
  add("THB backward to coefficients, sorted by element once", "webgpu", n, bwd, backwardBytes);
  const storedBwd = await timeGpu(backward(storedParamsBuffer, storedCotangentBuffer, stored), repeats);
  add("THB backward to coefficients, stored in element order", "webgpu", n, storedBwd, backwardBytes);
  if (n === sizes[0]) {
    // the backward's second step alone: its cost depends on the plan (functions × rows), not on the points
    const G = gpu.elementGradients(storedParamsBuffer, storedCotangentBuffer, stored, dim);
    const gather = await timeGpu(() => context.pool.release(gpu.gatherFunctions(G, dim)), repeats);
    context.pool.release(G);
    add(
      "THB transposed extraction alone (backward's 2nd step)",
      "webgpu",
      plan.functionCount,
      gather,
      4 * dim,
    );
  }
  // the reduction's threads per element: the default (reduceThreads) against twice as many
  const wideBwd = await timeGpu(backward(storedParamsBuffer, storedCotangentBuffer, stored, 64), repeats);
  add("THB backward to coefficients, stored, 64 threads per element", "webgpu", n, wideBwd, backwardBytes);
  const bwdParams = await timeGpu(
    () => context.pool.release(gpu.backwardParams(localBuffer, paramsBuffer, cotangentBuffer, n, dim)),
    repeats,
  );
  add("THB backward to parameters, scattered", "webgpu", n, bwdParams, 8 + 4 * dim + 8);
  const storedBwdParams = await timeGpu(
    () =>
      context.pool.release(
        gpu.backwardParamsSorted(localBuffer, storedParamsBuffer, storedCotangentBuffer, stored, dim),
      ),
    repeats,
  );
  add("THB backward to parameters, stored in element order", "webgpu", n, storedBwdParams, 8 + 4 * dim + 8);
  if (n === 1_000_000) {
    const ratio = timeOf(storedBwd) / timeOf(storedFwd);
    targets.push(
      `backward ≤ 2× forward at 1 M points: ${ratio.toFixed(2)}× (points stored in element order) — ${ratio <= 2 ? "met" : "NOT met"}`,
    );
  }
  if (n === 10_000_000) {
    const rate = n / timeOf(storedFwd);
    targets.push(
      `forward ≥ 20 G points/s at 10 M scattered points: ${si(rate)} points/s stored in element order (${si(n / timeOf(storedPerPoint))} a thread per point on them, ${si(n / timeOf(sortedFwd))} sorted once, ${si(n / timeOf(fwd))} unsorted) — ${rate >= 20e9 ? "met" : "NOT met"}`,
    );
  }
  ratios.push(
    `webgpu at ${si(n)}: backward to coefficients ÷ forward — points stored in element order ${(timeOf(storedBwd) / timeOf(storedFwd)).toFixed(2)}; sorted once ${(timeOf(bwd) / timeOf(sortedFwd)).toFixed(2)}; ÷ the scattered forward ${(timeOf(bwd) / timeOf(fwd)).toFixed(2)}. One-time sort by element on the CPU: ${(sortSeconds * 1e3).toFixed(0)} ms`,
  );
  // grid of about n points
  const side = Math.round(Math.sqrt(n));
  const grid = await timeGpu(
    () =>
      context.pool.release(
        gpu.gridForward(localBuffer, dim, [0, 0], [1 / (side - 1), 1 / (side - 1)], [side, side]),
      ),
    repeats,
  );
  add("THB forward, regular grid", "webgpu", side * side, grid, 4 * dim);
  // the timed buffers hold right answers at this size: every forward on the last 1,000 slots (the far end of
  // the buffers) and the coefficient gradients of all points, against the CPU
  {
    const tail = Math.min(n, 1000);
    const start = n - tail;
    const readTail = async (out: GPUBuffer) => {
      const values = (await readFloat32(device, out, n * dim)).subarray(dim * start);
      context.pool.release(out);
      return values;
    };
    const expected = evaluateSurfaceField(plan, local, dim, Float64Array.from(params.subarray(2 * start)));
    const expectedStored = evaluateSurfaceField(
      plan,
      local,
      dim,
      Float64Array.from(storedParams.subarray(2 * start)),
    );
    const gradient = async (p: GPUBuffer, g: GPUBuffer, o: PointOrder) => {
      const G = gpu.elementGradients(p, g, o, dim);
      const out = gpu.gatherFunctions(G, dim);
      const values = await readFloat32(device, out, plan.functionCount * dim);
      for (const b of [G, out]) context.pool.release(b);
      return values;
    };
    const gradExpected = thbBackwardControlCpu(
      plan,
      Float64Array.from(params),
      Float64Array.from(cotangent),
      dim,
    );
    const errors = {
      forward: relativeError(await readTail(gpu.forward(localBuffer, paramsBuffer, n, dim)), expected),
      "sorted forward": relativeError(
        await readTail(gpu.forwardSorted(localBuffer, paramsBuffer, order, dim)),
        expected,
      ),
      "stored forward": relativeError(
        await readTail(gpu.forwardSorted(localBuffer, storedParamsBuffer, stored, dim)),
        expectedStored,
      ),
      backward: relativeError(await gradient(paramsBuffer, cotangentBuffer, order), gradExpected),
      "stored backward": relativeError(
        await gradient(storedParamsBuffer, storedCotangentBuffer, stored),
        gradExpected,
      ),
    };
    console.log(
      `check at ${si(n)} points (relative): ${Object.entries(errors)
        .map(([name, e]) => `${name} ${e.toExponential(1)}`)
        .join(", ")}`,
    );
    if (!Object.values(errors).every((e) => e < 1e-4))
      throw new Error("GPU results at this size disagree with the CPU");
  }
  gpu.releaseOrder(order);
  gpu.releaseOrder(stored);
  for (const b of [
    paramsBuffer,
    cotangentBuffer,
    storedParamsBuffer,
    storedCotangentBuffer,
    controlBuffer,
    localBuffer,
  ])
    context.pool.release(b);
}
// ---- image warp + SSD gradient (2D, cubic B-spline sampling, 2048² image) ------------------------------------
{
  const side = 2048;
  const image = {
    size: [side, side],
    values: Float32Array.from(
      { length: side * side },
      (_, t) => Math.sin(0.01 * (t % side)) * Math.cos(0.013 * Math.floor(t / side)),
    ),
  };
  const kernels = new GpuImageKernels(context);
  const imageBuffer = upload(device, context.pool, image.values);
  for (const n of sizes) {
    const coords = Float32Array.from({ length: 2 * n }, () => (side - 1) * rand());
    const fixed = Float32Array.from({ length: n }, () => rand() - 0.5);
    if (n === 1_000_000) {
      const cpu = medianSeconds(() => ssdCpu(image, coords, fixed, "cubic"), 3);
      add("image warp + SSD gradient (cubic)", "cpu", n, cpu, 8 + 4 + 8);
      const check = await kernels.ssd(image, coords.subarray(0, 20000), fixed.subarray(0, 20000), "cubic");
      const reference = ssdCpu(image, coords.subarray(0, 20000), fixed.subarray(0, 20000), "cubic");
      console.log(
        `image SSD check at 20k points: relative difference ${(Math.abs(check.value - reference.value) / reference.value).toExponential(1)}`,
      );
    }
    const coordBuffer = upload(device, context.pool, coords);
    const fixedBuffer = upload(device, context.pool, fixed);
    const out = context.pool.acquire(n * 3 * 4, STORAGE);
    const seconds = await timeGpu(
      () => {
        kernels.ssdTerms([side, side], imageBuffer, coordBuffer, fixedBuffer, out, n, "cubic");
        context.pool.release(kernels.sumBuffer(out, n, 3, 0));
      },
      webgpu.isSoftware ? 2 : 5,
    );
    add("image warp + SSD gradient (cubic)", "webgpu", n, seconds, 8 + 4 + 12);
    // NCC partial sums (five tree sums) and the joint histogram for mutual information (32 bins)
    const nccSeconds = await timeGpu(
      () => {
        const [terms, sums] = kernels.encodeNccSums(
          [side, side],
          imageBuffer,
          coordBuffer,
          fixedBuffer,
          n,
          "cubic",
        );
        for (const b of [terms, ...sums]) context.pool.release(b);
      },
      webgpu.isSoftware ? 2 : 5,
    );
    add("image warp + NCC sums (cubic)", "webgpu", n, nccSeconds, 8 + 4 + 20);
    const histogramSeconds = await timeGpu(
      () => {
        kernels.encodeSample([side, side], imageBuffer, coordBuffer, out, n, "cubic");
        context.pool.release(kernels.encodeHistogram(out, 3, fixedBuffer, n, 32, [-1, 1], [-0.5, 0.5]));
      },
      webgpu.isSoftware ? 2 : 5,
    );
    add("image warp + joint histogram 32² (cubic)", "webgpu", n, histogramSeconds, 8 + 4 + 12 + 4);
    if (n === 1_000_000) {
      const cpuNcc = medianSeconds(() => nccSumsCpu(image, coords, fixed, "cubic"), 3);
      add("image warp + NCC sums (cubic)", "cpu", n, cpuNcc, 8 + 4);
      const cpuHistogram = medianSeconds(
        () => jointHistogramCpu(image, coords, fixed, "cubic", 32, [-1, 1], [-0.5, 0.5]),
        3,
      );
      add("image warp + joint histogram 32² (cubic)", "cpu", n, cpuHistogram, 8 + 4);
      // parity of both at 20k points before their numbers count
      const small = 20000;
      const [someCoords, someFixed] = [coords.subarray(0, 2 * small), fixed.subarray(0, small)];
      const sums = await kernels.nccSums(image, someCoords, someFixed, "cubic");
      const nccError = Math.abs(
        nccFromSums(sums, small) - nccFromSums(nccSumsCpu(image, someCoords, someFixed, "cubic"), small),
      );
      const histogramArgs = ["cubic", 32, [-1, 1], [-0.5, 0.5]] as const;
      const histogramError = relativeError(
        await kernels.jointHistogram(image, someCoords, someFixed, ...histogramArgs),
        jointHistogramCpu(image, someCoords, someFixed, ...histogramArgs),
      );
      console.log(
        `image NCC / histogram check at 20k points: |ΔNCC| ${nccError.toExponential(1)}, histogram ${histogramError.toExponential(1)} (relative)`,
      );
      if (!(nccError < 1e-4 && histogramError < 1e-4))
        throw new Error("image metric kernels disagree with the CPU");
    }
    for (const b of [coordBuffer, fixedBuffer, out]) context.pool.release(b);
  }
  context.pool.release(imageBuffer);
}

// ---- one fitting gradient through autodiff: mean ‖S(x; C) − p‖² with device tensors ----------------------
// (forward, loss, backward, and the read-back of loss and ∂/∂C — what each L-BFGS/Adam step costs)
{
  const tensors = new WebGpuTensors(context);
  ad.setDeviceExecutor(tensors);
  const ops = thbOps(plan);
  for (const n of sizes) {
    const params = Float64Array.from({ length: 2 * n }, () => rand());
    const targets = Float64Array.from({ length: n * dim }, () => rand());
    const loss = (X: Tensor, F: Tensor) => (c: Tensor) =>
      ad.mean(ad.sum(ad.square(ad.sub(ops.evaluate(ad.reshape(c, [plan.functionCount, dim]), X), F)), 1));
    const c0 = ad.tensor(control);
    // as fitSurface uploads them: stored in element order once
    const {
      params: X,
      companions: [F],
    } = tensors.toDeviceByElement(plan, params, [{ values: targets, width: dim }]);
    const step = async () => {
      const { value, grad } = ad.scope(() => ad.valueAndGrad(loss(X, F), c0));
      const out = [await value.read(), await grad.read()] as const;
      ad.dispose(value, grad);
      return out;
    };
    await step(); // warm-up: pipelines
    const times: number[] = [];
    let last: readonly [ad.Values, ad.Values] | undefined;
    for (let r = 0; r < (webgpu.isSoftware ? 2 : 5); r++) {
      const t0 = performance.now();
      last = await step();
      times.push((performance.now() - t0) / 1000);
    }
    add("fit gradient via autodiff (+ read-back)", "webgpu", n, median(times), forwardBytes + backwardBytes);
    // the same loss fused, at a point set whose cached layout stays on the device (control uploaded per step)
    const set = ops.pointSet(params);
    const hostF = ad.tensor(targets, [n, dim]);
    const fusedStep = async () => {
      const { value, grad } = ad.scope(() =>
        ad.valueAndGrad(
          (c: Tensor) => ops.residualLoss(c, set, hostF),
          tensors.toDevice(control, [plan.functionCount, dim]),
        ),
      );
      const out = [await value.read(), await grad.read()] as const;
      ad.dispose(value, grad);
      return out;
    };
    let fused = await fusedStep(); // warm-up: pipelines and the layout's upload
    const fusedTimes: number[] = [];
    for (let r = 0; r < (webgpu.isSoftware ? 2 : 5); r++) {
      const t0 = performance.now();
      fused = await fusedStep();
      fusedTimes.push((performance.now() - t0) / 1000);
    }
    add(
      "fit gradient, point set + fused loss (+ read-back)",
      "webgpu",
      n,
      median(fusedTimes),
      (2 * plan.localSize + dim + 3 * (1 + dim)) * 4, // per point: basis twice, targets, terms written and read twice
    );
    const fusedError = relativeError(fused[1], last![1]);
    console.log(
      `fused device gradient vs general device gradient at ${si(n)} points: ${fusedError.toExponential(1)}`,
    );
    if (!(fusedError < 1e-4)) throw new Error("the device fused loss disagrees with the device general path");
    set.releaseDevice();
    if (n === 1_000_000) {
      const hostX = ad.tensor(params, [n, 2]);
      const hostF = ad.tensor(targets, [n, dim]);
      let reference: { value: ad.Tensor; grad: ad.Tensor } | undefined;
      const cpu = medianSeconds(() => {
        reference = ad.valueAndGrad(loss(hostX, hostF), c0);
      }, 3);
      add("fit gradient via autodiff (+ read-back)", "cpu", n, cpu, forwardBytes + backwardBytes);
      const gradError = relativeError(last![1], reference!.grad.values);
      console.log(`autodiff gradient check at ${si(n)} points: ${gradError.toExponential(1)} (relative)`);
      if (!(gradError < 1e-4)) throw new Error("device autodiff gradient disagrees with the host");
    }
    ad.dispose(X, F);
  }
  ad.setDeviceExecutor(undefined);
}

// ---- registration: one evaluation of a level's loss and gradient (bench/registrationGpu.ts) ----------------
{
  const error = await registrationLossRows(context, webgpu.isSoftware, add);
  console.log(`registration gradient, webgpu vs cpu: ${error.toExponential(1)} of its largest entry`);
  if (!(error < 1e-4)) throw new Error("the registration loss on the GPU disagrees with the CPU's");
}

printTable(
  `THB kernels: bicubic, ${plan.levelCount} levels, ${space.size} functions, ${plan.elementCount} elements, dim ${dim} (medians)`,
  ["operation", "backend", "points", "wall per call", "device", "points/s", "GB/s", "of bandwidth"],
  rows,
);
for (const r of ratios) console.log(r);
if (webgpu.isSoftware || !timer) {
  console.log("targets: not judged (they are for a real GPU's device times)");
} else {
  for (const t of targets) console.log(`target: ${t}`);
}
gpu.release();
context.pool.destroy();
device.destroy();
