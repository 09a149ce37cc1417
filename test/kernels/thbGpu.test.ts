import { afterAll, describe, expect, it } from "vitest";
import { compile } from "../../hierarchy/plan.js";
import { refineBoxes } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { elementOrder, permuteRows } from "../../kernels/cpu/elementOrder.js";
import { evaluateLocalField, localControl } from "../../kernels/cpu/planEvaluate.js";
import { thbBackwardControlCpu, thbBackwardParamsCpu } from "../../kernels/cpu/thbKernels.js";
import { readFloat32, upload } from "../../kernels/webgpu/gpuBuffers.js";
import {
  GpuContext,
  GpuPlan,
  gpuBackwardControl,
  gpuBackwardParams,
  gpuEvaluate,
} from "../../kernels/webgpu/thbGpu.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { derivativeCount } from "../../splines/tensorBasis.js";
import { relativeError, webgpuForTests } from "../helpers/gpu.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

const webgpu = await webgpuForTests("WebGPU kernel tests");
const context = webgpu ? new GpuContext(webgpu.device) : undefined;
afterAll(() => {
  context?.pool.destroy();
  webgpu?.device.destroy();
});

/** Parameters with element boundaries and the domain's end mixed in. */
function edgeParams(rand: () => number, count: number, d: number): Float64Array {
  const params = new Float64Array(count * d);
  for (let i = 0; i < params.length; i++) {
    const r = rand();
    params[i] = r < 0.08 ? 1 : r < 0.12 ? 0 : r < 0.25 ? Math.round(rand() * 32) / 32 : rand();
  }
  return params;
}

const cases: { d: 2 | 3; degree: number; levels: number; dim: number }[] = [];
for (const d of [2, 3] as const)
  for (const degree of [1, 2, 3])
    for (const dim of [1, 2, 3]) cases.push({ d, degree, levels: 1 + ((degree + dim) % 4), dim });

describe.skipIf(!webgpu)("WebGPU THB kernels vs the CPU reference", () => {
  for (const { d, degree, levels, dim } of cases) {
    it(`${d}D, degree ${degree}, ~${levels} levels, dim ${dim}: forward, first and second derivatives and both backwards within 1e-5`, async () => {
      const seed = 100 * d + 10 * degree + dim;
      const space = buildHierarchy({
        dimension: d,
        degree,
        truncated: seed % 2 === 0,
        m: 2,
        seed,
        steps: levels - 1,
        nonUniform: seed % 3 === 0,
      });
      const plan = compile(space);
      const gpu = new GpuPlan(context!, plan);
      const rand = seededRandom(seed);
      const control = randomArray(rand, space.size * dim);
      const count = 3000;
      const params = edgeParams(rand, count, d);
      const local = localControl(plan, control, dim);
      const expected = evaluateLocalField(plan, local, dim, params, 1);
      const values = await gpuEvaluate(gpu, control, dim, params, 0);
      const valuesCpu = evaluateLocalField(plan, local, dim, params, 0);
      expect(relativeError(values, valuesCpu)).toBeLessThan(1e-5);
      // the same values from points sorted by element once (no point location)
      const order = gpu.sortPoints(params);
      const [controlBuffer, paramsBuffer] = [Float32Array.from(control), Float32Array.from(params)].map((a) =>
        upload(context!.device, context!.pool, a),
      );
      const localBuffer = gpu.localControl(controlBuffer, dim);
      const sortedOut = gpu.forwardSorted(localBuffer, paramsBuffer, order, dim);
      const sorted = await readFloat32(context!.device, sortedOut, count * dim);
      expect(relativeError(sorted, valuesCpu)).toBeLessThan(1e-5);
      // and from the points stored in element order (contiguous kernels, no order buffer)
      const byElement = elementOrder(plan, params);
      expect(byElement.stored).toBe(false);
      const storedParams = permuteRows(params, byElement.order, d);
      const stored = gpu.sortPoints(storedParams);
      expect(stored.order).toBeUndefined();
      const storedParamsBuffer = upload(context!.device, context!.pool, Float32Array.from(storedParams));
      const storedOut = gpu.forwardSorted(localBuffer, storedParamsBuffer, stored, dim);
      expect(
        relativeError(
          await readFloat32(context!.device, storedOut, count * dim),
          evaluateLocalField(plan, local, dim, storedParams, 0),
        ),
      ).toBeLessThan(1e-5);
      // point location alone: every point lies in the box of the element it was given (f32 rounding aside)
      const located = new Int32Array(
        (await readFloat32(context!.device, gpu.locate(paramsBuffer, count), count)).buffer,
      );
      let misplaced = 0;
      for (let i = 0; i < count; i++) {
        const e = located[i];
        let inside = e >= 0 && e < plan.elementCount;
        for (let k = 0; k < d && inside; k++) {
          const x = params[i * d + k];
          inside =
            x >= plan.elementBox[e * 2 * d + k] - 1e-6 && x <= plan.elementBox[e * 2 * d + d + k] + 1e-6;
        }
        if (!inside) misplaced++;
      }
      expect(misplaced).toBe(0);
      const withDerivatives = await gpuEvaluate(gpu, control, dim, params, 1);
      // derivative blocks scale with 1/h of the finest level: each block relative to its own magnitude
      expect(relativeError(withDerivatives, expected, undefined, { blocks: 1 + d, dim })).toBeLessThan(1e-4);
      // second derivatives scale with 1/h²; f32 A2.2 differences cost a little more
      const withSeconds = await gpuEvaluate(gpu, control, dim, params, 2);
      const secondsLayout = { blocks: derivativeCount(d, 2), dim };
      expect(
        relativeError(withSeconds, evaluateLocalField(plan, local, dim, params, 2), undefined, secondsLayout),
      ).toBeLessThan(2e-4);
      const cotangent = randomArray(rand, count * dim);
      const gradControl = await gpuBackwardControl(gpu, params, cotangent, dim);
      const gradControlCpu = thbBackwardControlCpu(plan, params, cotangent, dim);
      expect(relativeError(gradControl, gradControlCpu)).toBeLessThan(1e-5);
      // the contiguous reduction over the stored points gives the same gradient (the sum is over the same set)
      const storedCotangent = permuteRows(cotangent, byElement.order, dim);
      const storedCotangentBuffer = upload(
        context!.device,
        context!.pool,
        Float32Array.from(storedCotangent),
      );
      const storedG = gpu.elementGradients(storedParamsBuffer, storedCotangentBuffer, stored, dim);
      const storedGradient = await readFloat32(
        context!.device,
        gpu.gatherFunctions(storedG, dim),
        plan.functionCount * dim,
      );
      expect(relativeError(storedGradient, gradControlCpu)).toBeLessThan(1e-5);
      // other threads per element sum in another order, to the same gradient (1 thread: no reduction tail)
      for (const threads of [1, 64]) {
        const G = gpu.elementGradients(storedParamsBuffer, storedCotangentBuffer, stored, dim, threads);
        const gradient = await readFloat32(
          context!.device,
          gpu.gatherFunctions(G, dim),
          plan.functionCount * dim,
        );
        expect(relativeError(gradient, gradControlCpu)).toBeLessThan(1e-5);
      }
      // backward to parameters without point location, both layouts, at points off the boundaries
      // (on a boundary the one-sided derivatives of two elements may differ)
      const gradParamsSorted = await readFloat32(
        context!.device,
        gpu.backwardParamsSorted(localBuffer, storedParamsBuffer, storedCotangentBuffer, stored, dim),
        count * d,
      );
      const interior = (p: Float64Array) =>
        p.every((x) => x > 0 && x < 1 && Math.abs(x * 32 - Math.round(x * 32)) > 1e-9);
      const storedInterior = Array.from({ length: count }, (_, i) =>
        interior(storedParams.subarray(i * d, (i + 1) * d)),
      );
      const expectedParamsGrad = thbBackwardParamsCpu(plan, local, dim, storedParams, storedCotangent);
      const mask = (a: ArrayLike<number>) =>
        Float64Array.from(a, (x, t) => (storedInterior[Math.floor(t / d)] ? x : 0));
      expect(relativeError(mask(gradParamsSorted), mask(expectedParamsGrad))).toBeLessThan(1e-4);
      const gradParamsIndirect = await readFloat32(
        context!.device,
        gpu.backwardParamsSorted(
          localBuffer,
          paramsBuffer,
          upload(context!.device, context!.pool, Float32Array.from(cotangent)),
          order,
          dim,
        ),
        count * d,
      );
      const originalInterior = Array.from({ length: count }, (_, i) =>
        interior(params.subarray(i * d, (i + 1) * d)),
      );
      const maskOriginal = (a: ArrayLike<number>) =>
        Float64Array.from(a, (x, t) => (originalInterior[Math.floor(t / d)] ? x : 0));
      expect(
        relativeError(
          maskOriginal(gradParamsIndirect),
          maskOriginal(thbBackwardParamsCpu(plan, local, dim, params, cotangent)),
        ),
      ).toBeLessThan(1e-4);
      const inner = Float64Array.from({ length: count * d }, (_, i) => 0.02 + 0.96 * params[i]);
      const gradParams = await gpuBackwardParams(gpu, control, dim, inner, cotangent);
      expect(
        relativeError(gradParams, thbBackwardParamsCpu(plan, local, dim, inner, cotangent)),
      ).toBeLessThan(1e-4);
      gpu.release();
    });
  }

  it("backward to coefficients is bitwise deterministic across runs", async () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 77,
      steps: 3,
      nonUniform: false,
    });
    const gpu = new GpuPlan(context!, compile(space));
    const rand = seededRandom(77);
    const params = randomParams(rand, 20000, [0, 0], [1, 1]);
    const cotangent = randomArray(rand, 20000 * 2);
    const a = await gpuBackwardControl(gpu, params, cotangent, 2);
    const b = await gpuBackwardControl(gpu, params, cotangent, 2);
    expect(Buffer.from(a.buffer).equals(Buffer.from(b.buffer))).toBe(true);
    gpu.release();
  });

  it("a shifted, scaled domain with uniform level-0 cells (located by one multiply): points on every break and at both ends", async () => {
    const knots = (cells: number, lo: number, hi: number) =>
      uniformKnotVector(3, cells).map((t) => lo + (hi - lo) * t);
    const space = refineBoxes(
      THBSpace.create({ degrees: [3, 3], knots: [knots(7, 2, 5), knots(5, -1, 0.5)] }),
      [[1, 2, 2, 9, 7]],
    );
    const plan = compile(space);
    const gpu = new GpuPlan(context!, plan);
    const rand = seededRandom(71);
    const control = randomArray(rand, space.size * 3);
    // every level-1 break in each direction, crossed with random values, plus the four corners
    const points: number[] = [];
    for (let i = 0; i <= 14; i++) points.push(2 + (3 * i) / 14, -1 + 1.5 * rand());
    for (let j = 0; j <= 10; j++) points.push(2 + 3 * rand(), -1 + (1.5 * j) / 10);
    points.push(2, -1, 5, -1, 2, 0.5, 5, 0.5);
    // just either side of every level-0 break: a cell index off by one would put these in the wrong element
    for (let c = 1; c < 7; c++)
      for (const side of [-1, 1]) points.push(2 + (3 * c) / 7 + side * 1e-4, -1 + 1.5 * rand());
    for (let c = 1; c < 5; c++)
      for (const side of [-1, 1]) points.push(2 + 3 * rand(), -1 + (1.5 * c) / 5 + side * 1e-4);
    const params = Float64Array.from(points);
    const count = params.length / 2;
    const values = await gpuEvaluate(gpu, control, 3, params);
    const expected = evaluateLocalField(plan, localControl(plan, control, 3), 3, params, 0);
    expect(relativeError(values, expected)).toBeLessThan(1e-5);
    const paramsBuffer = upload(context!.device, context!.pool, Float32Array.from(params));
    const located = new Int32Array(
      (await readFloat32(context!.device, gpu.locate(paramsBuffer, count), count)).buffer,
    );
    const misplaced = Array.from(located).filter((e, i) =>
      [0, 1].some(
        (k) =>
          params[2 * i + k] < plan.elementBox[e * 4 + k] - 1e-6 ||
          params[2 * i + k] > plan.elementBox[e * 4 + 2 + k] + 1e-6,
      ),
    );
    expect(misplaced).toEqual([]);
    gpu.release();
  });

  it("an output beyond the device's storage-buffer limit is refused with the sizes, before anything runs", () => {
    const plan = compile(
      buildHierarchy({
        dimension: 2,
        degree: 1,
        truncated: true,
        m: 2,
        seed: 2,
        steps: 0,
        nonUniform: false,
      }),
    );
    const gpu = new GpuPlan(context!, plan);
    const params = upload(context!.device, context!.pool, new Float32Array(2));
    const limit = context!.device.limits.maxStorageBufferBindingSize;
    const count = Math.ceil(limit / 12) + 1; // 3 floats out per point: just over the limit
    expect(() => gpu.forward(params, params, count, 3)).toThrow(/exceeds this device's limit of .* MiB/);
    gpu.release();
  });

  it("edge cases: a single element, elements without points, a million points", async () => {
    const single = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 1,
      steps: 0,
      nonUniform: false,
    });
    const plan = compile(single);
    const gpu = new GpuPlan(context!, plan);
    const rand = seededRandom(5);
    const control = randomArray(rand, single.size);
    // all points in one corner element: every other element gets none
    const few = randomParams(rand, 50, [0, 0], [0.2, 0.2]);
    const cot = randomArray(rand, 50);
    expect(
      relativeError(await gpuBackwardControl(gpu, few, cot, 1), thbBackwardControlCpu(plan, few, cot, 1)),
    ).toBeLessThan(1e-5);
    const million = randomParams(rand, 1_000_000, [0, 0], [1, 1]);
    const values = await gpuEvaluate(gpu, control, 1, million);
    const reference = evaluateLocalField(plan, localControl(plan, control, 1), 1, million, 0);
    expect(relativeError(values, reference)).toBeLessThan(1e-5);
    gpu.release();
  });

  // degree 2 (9 or 27 local functions × 2: read as floats) and degrees 3 / 1 (16 × 2, 8 × 2: vec4 registers)
  for (const [d, degree] of [
    [2, 2],
    [3, 2],
    [2, 3],
    [3, 1],
  ] as const) {
    it(`${d}D degree ${degree} grid forward: each grid point computed once by its element, equal to scattered evaluation`, async () => {
      const space = buildHierarchy({
        dimension: d,
        degree,
        truncated: true,
        m: 2,
        seed: 9 + d,
        steps: 2,
        nonUniform: true,
      });
      const plan = compile(space);
      const gpu = new GpuPlan(context!, plan);
      const rand = seededRandom(d);
      const control = randomArray(rand, space.size * 2);
      const counts = d === 2 ? [37, 29] : [13, 11, 9];
      const spacing = counts.map((n) => 1 / (n - 1));
      const { device, pool } = context!;
      const local = gpu.localControl(upload(device, pool, Float32Array.from(control)), 2);
      const out = gpu.gridForward(local, 2, new Array(d).fill(0), spacing, counts);
      const total = counts.reduce((a, b) => a * b, 1);
      const values = await readFloat32(device, out, total * 2);
      const points = new Float64Array(total * d);
      for (let t = 0; t < total; t++) {
        let rest = t;
        for (let k = 0; k < d; k++) {
          const i = rest % counts[k];
          rest = (rest - i) / counts[k];
          points[t * d + k] = Math.fround(Math.fround(spacing[k]) * i);
        }
      }
      const reference = evaluateLocalField(
        plan,
        localControl(plan, control, 2),
        2,
        points.map((x) => Math.min(x, 1)),
        0,
      );
      expect(relativeError(values, reference)).toBeLessThan(1e-5);
      gpu.release();
    });
  }
});
