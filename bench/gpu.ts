/**
 * `npm run bench:gpu`: THB kernels on the CPU and on WebGPU — parity first, then a throughput table.
 * One script so that a lent GPU runs it in a few minutes. Sizes reach 10 M points on a real GPU
 * (1 M on a software adapter); effective GB/s counts the unavoidable traffic per point (parameters in,
 * values out, cotangents in), and the bandwidth fraction compares it with a measured buffer copy.
 */

import * as ad from "../autodiff/index.js";
import type { Tensor } from "../autodiff/tensor.js";
import { thbOps } from "../fitting/thbPrimitive.js";
import { compile } from "../hierarchy/plan.js";
import { localControl } from "../hierarchy/planEvaluate.js";
import { refineBoxes } from "../hierarchy/refinement.js";
import { evaluateSurfaceField } from "../hierarchy/surfaceEvaluate.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { jointHistogramCpu, nccFromSums, nccSumsCpu, ssdCpu } from "../kernels/cpu/imageKernels.js";
import {
  elementGradientsCpu,
  gatherFunctionGradientsCpu,
  thbBackwardControlCpu,
} from "../kernels/cpu/thbKernels.js";
import { requestWebGPU } from "../kernels/webgpu/device.js";
import { readFloat32, upload } from "../kernels/webgpu/gpuBuffers.js";
import { GpuImageKernels } from "../kernels/webgpu/imageGpu.js";
import { WebGpuTensors } from "../kernels/webgpu/tensorGpu.js";
import { GpuContext, GpuPlan, gpuBackwardControl, gpuEvaluate } from "../kernels/webgpu/thbGpu.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { median, medianSeconds, printTable, si } from "./harness.js";

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

// ---- measured device bandwidth (buffer copy, bytes read + written) ---------------------------------------
/**
 * Seconds per run: `batch` runs submitted back to back, then one wait, so submission latency is amortised
 * as in an optimisation loop; the median over `repeats` batches.
 */
async function timeGpu(
  run: () => void,
  repeats: number,
  batch = webgpu!.isSoftware ? 1 : 10,
): Promise<number> {
  // the warm-up run doubles as a validation check: a rejected dispatch would otherwise time as "fast"
  device.pushErrorScope("validation");
  device.pushErrorScope("out-of-memory");
  run();
  const oom = await device.popErrorScope();
  const invalid = await device.popErrorScope();
  if (oom || invalid) throw new Error(`GPU error during a timed operation: ${(oom ?? invalid)?.message}`);
  await device.queue.onSubmittedWorkDone();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let b = 0; b < batch; b++) run();
    await device.queue.onSubmittedWorkDone();
    times.push((performance.now() - t0) / 1000 / batch);
  }
  return median(times);
}
const copyBytes = webgpu.isSoftware ? 64 << 20 : 1 << 30;
const copySource = device.createBuffer({
  size: copyBytes,
  usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.STORAGE,
});
const copyTarget = device.createBuffer({
  size: copyBytes,
  usage: GPUBufferUsage.COPY_DST | GPUBufferUsage.STORAGE,
});
const copyTime = await timeGpu(() => {
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(copySource, 0, copyTarget, 0, copyBytes);
  device.queue.submit([encoder.finish()]);
}, 5);
const bandwidth = (2 * copyBytes) / copyTime; // each copy reads and writes copyBytes
copySource.destroy();
copyTarget.destroy();
console.log(`measured copy bandwidth: ${si(bandwidth)}B/s`);

// ---- throughput ------------------------------------------------------------------------------------------
const rows: string[][] = [];
const add = (op: string, backend: string, points: number, seconds: number, bytesPerPoint: number) => {
  const gbs = (points * bytesPerPoint) / seconds;
  rows.push([
    op,
    backend,
    si(points),
    `${(seconds * 1e3).toFixed(2)} ms`,
    si(points / seconds),
    `${(gbs / 1e9).toFixed(1)}`,
    backend === "webgpu" ? `${((100 * gbs) / bandwidth).toFixed(1)} %` : "",
  ]);
};
const sizes = [1_000_000, maxPoints].filter((n, i, a) => a.indexOf(n) === i);
const forwardBytes = 8 + 4 * dim;
const backwardBytes = 8 + 4 * dim + 4;
const ratios: string[] = [];
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
}
for (const n of sizes) {
  const params = Float32Array.from({ length: 2 * n }, () => rand());
  const cotangent = Float32Array.from({ length: n * dim }, () => rand() - 0.5);
  const paramsBuffer = upload(device, context.pool, params);
  const cotangentBuffer = upload(device, context.pool, cotangent);
  const controlBuffer = upload(device, context.pool, Float32Array.from(control));
  const localBuffer = gpu.localControl(controlBuffer, dim);
  const repeats = webgpu.isSoftware ? 2 : 5;
  const fwd = await timeGpu(
    () => context.pool.release(gpu.forward(localBuffer, paramsBuffer, n, dim)),
    repeats,
  );
  add("THB forward, scattered", "webgpu", n, fwd, forwardBytes);
  const t0 = performance.now();
  const order = gpu.sortPoints(params);
  const sortSeconds = (performance.now() - t0) / 1000;
  const bwd = await timeGpu(() => {
    const G = gpu.elementGradients(paramsBuffer, cotangentBuffer, order, dim);
    context.pool.release(gpu.gatherFunctions(G, dim));
    context.pool.release(G);
  }, repeats);
  add("THB backward to coefficients", "webgpu", n, bwd, backwardBytes);
  const sortedFwd = await timeGpu(
    () => context.pool.release(gpu.forwardSorted(localBuffer, paramsBuffer, order, dim)),
    repeats,
  );
  add("THB forward, scattered, sorted by element once", "webgpu", n, sortedFwd, forwardBytes);
  const bwdParams = await timeGpu(
    () => context.pool.release(gpu.backwardParams(localBuffer, paramsBuffer, cotangentBuffer, n, dim)),
    repeats,
  );
  add("THB backward to parameters", "webgpu", n, bwdParams, 8 + 4 * dim + 8);
  ratios.push(
    `webgpu at ${si(n)}: backward (coefficients) ÷ forward ${(bwd / fwd).toFixed(2)} (÷ sorted forward ${(bwd / sortedFwd).toFixed(2)}); one-time sort by element on the CPU ${(sortSeconds * 1e3).toFixed(0)} ms`,
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
  // the timed buffers hold right answers at this size: forward on the last 1,000 points (the far end of
  // the buffers) and the coefficient gradient of all points, against the CPU
  {
    const tail = Math.min(n, 1000);
    const start = n - tail;
    const out = gpu.forward(localBuffer, paramsBuffer, n, dim);
    const values = (await readFloat32(device, out, n * dim)).subarray(dim * start);
    context.pool.release(out);
    const expected = evaluateSurfaceField(plan, local, dim, Float64Array.from(params.subarray(2 * start)));
    const sortedOut = gpu.forwardSorted(localBuffer, paramsBuffer, order, dim);
    const sortedValues = (await readFloat32(device, sortedOut, n * dim)).subarray(dim * start);
    context.pool.release(sortedOut);
    const G = gpu.elementGradients(paramsBuffer, cotangentBuffer, order, dim);
    const gradOut = gpu.gatherFunctions(G, dim);
    const grad = await readFloat32(device, gradOut, plan.functionCount * dim);
    for (const b of [G, gradOut]) context.pool.release(b);
    const gradExpected = thbBackwardControlCpu(
      plan,
      Float64Array.from(params),
      Float64Array.from(cotangent),
      dim,
    );
    const errors = [
      relativeError(values, expected),
      relativeError(grad, gradExpected),
      relativeError(sortedValues, expected),
    ];
    console.log(
      `check at ${si(n)} points: forward ${errors[0].toExponential(1)}, backward ${errors[1].toExponential(1)}, sorted forward ${errors[2].toExponential(1)} (relative)`,
    );
    if (!errors.every((e) => e < 1e-4)) throw new Error("GPU results at this size disagree with the CPU");
  }
  for (const b of [paramsBuffer, cotangentBuffer, controlBuffer, localBuffer, order.pointStart, order.order])
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
    const out = context.pool.acquire(n * 3 * 4, 0x80 | 0x08 | 0x04);
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
    const X = tensors.toDevice(params, [n, 2]);
    const F = tensors.toDevice(targets, [n, dim]);
    const step = async () => {
      const { value, grad } = ad.scope(() => ad.valueAndGrad(loss(X, F), c0));
      const out = [await value.read(), await grad.read()] as const;
      ad.dispose(value, grad);
      return out;
    };
    await step(); // warm-up: pipelines, point sorting (once per parameter tensor)
    const times: number[] = [];
    let last: readonly [ad.Values, ad.Values] | undefined;
    for (let r = 0; r < (webgpu.isSoftware ? 2 : 5); r++) {
      const t0 = performance.now();
      last = await step();
      times.push((performance.now() - t0) / 1000);
    }
    add("fit gradient via autodiff (+ read-back)", "webgpu", n, median(times), forwardBytes + backwardBytes);
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

printTable(
  `THB kernels: bicubic, ${plan.levelCount} levels, ${space.size} functions, ${plan.elementCount} elements, dim ${dim} (medians)`,
  ["operation", "backend", "points", "time", "points/s", "GB/s", "of copy bandwidth"],
  rows,
);
for (const r of ratios) console.log(r);
gpu.release();
context.pool.destroy();
device.destroy();
