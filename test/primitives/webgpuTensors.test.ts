import { afterAll, describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { DeviceTensorError, dispose, scope, type Tensor } from "../../autodiff/tensor.js";
import { compile } from "../../hierarchy/plan.js";
import { permuteRows } from "../../kernels/cpu/elementOrder.js";
import { locatePoints } from "../../kernels/cpu/planEvaluate.js";
import { webgpuBackend } from "../../primitives/backend.js";
import { thbGrid, thbOps } from "../../primitives/thbPrimitive.js";
import { relativeError, webgpuForTests } from "../helpers/gpu.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

const webgpu = await webgpuForTests("WebGPU device-tensor tests");
const backend = webgpu ? webgpuBackend(webgpu) : undefined;
const gpu = backend?.tensors;
afterAll(() => backend?.dispose());

describe.skipIf(!gpu)("device tensors on WebGPU vs host tensors", () => {
  const rand = seededRandom(7);
  const host = (shape: number[], lo = -2, hi = 2) => {
    const n = shape.reduce((a, k) => a * k, 1);
    return ad.tensor(
      Float64Array.from({ length: n }, () => lo + (hi - lo) * rand()),
      shape,
    );
  };
  const dev = (t: Tensor) => gpu!.toDevice(t.values, t.shape);

  it("elementwise ops with broadcasting, sums, slices and reshapes agree with the host within 1e-6", async () => {
    const a = host([4, 5, 3]);
    const b = host([5, 3]);
    const c = host([4, 1, 3]);
    const s = host([], 0.5, 1.5);
    const positive = host([4, 5, 3], 0.1, 3);
    const cases: [
      string,
      (x: typeof ad) => Tensor,
      (da: Tensor, db: Tensor, dc: Tensor, ds: Tensor, dp: Tensor) => Tensor,
    ][] = [];
    const both = (name: string, f: (a: Tensor, b: Tensor, c: Tensor, s: Tensor, p: Tensor) => Tensor) =>
      cases.push([name, () => f(a, b, c, s, positive), f]);
    both("add broadcast", (x, y) => ad.add(x, y));
    both("sub broadcast middle", (x, _, z) => ad.sub(x, z));
    both("mul scalar", (x, _, __, w) => ad.mul(x, w));
    both("div", (x, _, __, ___, p) => ad.div(x, p));
    both("maximum", (x, y) => ad.maximum(x, y));
    both("minimum", (x, _, z) => ad.minimum(x, z));
    both("neg, square", (x) => ad.square(ad.neg(x)));
    both("sqrt, exp, log", (_, __, ___, ____, p) => ad.log(ad.exp(ad.sqrt(p))));
    both("abs", (x) => ad.abs(x));
    both("pow 3 of negatives", (x) => ad.pow(x, 3));
    both("pow 2 of negatives", (x) => ad.pow(x, 2));
    both("pow 1.5", (_, __, ___, ____, p) => ad.pow(p, 1.5));
    both("clamp", (x) => ad.clamp(x, -0.5, 0.75));
    both("sum all", (x) => ad.sum(x));
    both("sum axis 0", (x) => ad.sum(x, 0));
    both("sum axis 1", (x) => ad.sum(x, 1));
    both("sum axis 2", (x) => ad.sum(x, 2));
    both("broadcastTo", (_, y) => ad.broadcastTo(y, [2, 5, 3]));
    both("reshape then slice", (x) => ad.slice(ad.reshape(x, [20, 3]), 0, 3, 11));
    both("slice middle axis", (x) => ad.slice(x, 1, 1, 4));
    for (const [name, onHost, onDevice] of cases) {
      const expected = onHost(ad).values;
      const got = await onDevice(dev(a), dev(b), dev(c), dev(s), dev(positive)).read();
      expect(relativeError(got, expected), name).toBeLessThan(1e-6);
    }
  });

  it("gradients of a robust loss (sqrt, minimum, sums, broadcasting) agree with the host within 1e-5", async () => {
    const x = host([50, 3]);
    const weights = host([3], 0.5, 2);
    const huber = (r: Tensor, w: Tensor) => {
      const norm = ad.sqrt(ad.add(ad.sum(ad.mul(ad.square(r), w), 1), 1e-12));
      const m = ad.minimum(norm, 1.2);
      return ad.mean(ad.add(ad.div(ad.square(m), 2.4), ad.sub(norm, m)));
    };
    const hostResult = ad.valueAndGrad(([r, w]: Tensor[]) => huber(r, w), [x, weights]);
    const devResult = ad.valueAndGrad(([r, w]: Tensor[]) => huber(r, w), [dev(x), dev(weights)]);
    expect(devResult.value.onDevice).toBe(true);
    expect(relativeError(await devResult.value.read(), hostResult.value.values)).toBeLessThan(1e-6);
    expect(relativeError(await devResult.grad[0].read(), hostResult.grad[0].values)).toBeLessThan(1e-5);
    expect(relativeError(await devResult.grad[1].read(), hostResult.grad[1].values)).toBeLessThan(1e-5);
  });

  it("THB primitive on the GPU: loss, gradient to coefficients and to parameters match the CPU within 1e-5", async () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 11,
      steps: 4,
      nonUniform: true,
    });
    const plan = compile(space);
    const r = seededRandom(3);
    const count = 4000;
    const control = ad.tensor(randomArray(r, plan.functionCount * 3), [plan.functionCount, 3]);
    const params = ad.tensor(randomParams(r, count, [0, 0], [1, 1]), [count, 2]);
    const targets = ad.tensor(randomArray(r, count * 3), [count, 3]);
    const ops = thbOps(plan);
    const loss = (c: Tensor, x: Tensor, f: Tensor) =>
      ad.mean(ad.sum(ad.square(ad.sub(ops.evaluate(c, x), f)), 1));
    const onHost = ad.valueAndGrad(([c, x]: Tensor[]) => loss(c, x, targets), [control, params]);
    const deviceParams = dev(params);
    const deviceTargets = dev(targets);
    const onDevice = ad.valueAndGrad(
      ([c, x]: Tensor[]) => loss(c, x, deviceTargets),
      [control, deviceParams],
    );
    expect(relativeError(await onDevice.value.read(), onHost.value.values)).toBeLessThan(1e-5);
    expect(relativeError(await onDevice.grad[0].read(), onHost.grad[0].values)).toBeLessThan(1e-5);
    expect(relativeError(await onDevice.grad[1].read(), onHost.grad[1].values)).toBeLessThan(1e-5);
    // deterministic: the same gradient bit for bit
    const again = ad.valueAndGrad(([c]: Tensor[]) => loss(c, deviceParams, deviceTargets), [control]);
    expect(Array.from(await again.grad[0].read())).toEqual(Array.from(await onDevice.grad[0].read()));
    // that evaluation already found the points sorted by element (no point location): same loss
    expect(relativeError(await again.value.read(), onHost.value.values)).toBeLessThan(1e-5);
  });

  it("points stored in element order (toDeviceByElement): same loss and gradients, contiguous kernels", async () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 12,
      steps: 3,
      nonUniform: false,
    });
    const plan = compile(space);
    const r = seededRandom(4);
    const count = 3000;
    const control = ad.tensor(randomArray(r, plan.functionCount * 2), [plan.functionCount, 2]);
    const params = randomParams(r, count, [0, 0], [1, 1]);
    const targets = randomArray(r, count * 2);
    const ops = thbOps(plan);
    const loss = (c: Tensor, x: Tensor, f: Tensor) =>
      ad.mean(ad.sum(ad.square(ad.sub(ops.evaluate(c, x), f)), 1));
    const onHost = ad.valueAndGrad(
      ([c, x]: Tensor[]) => loss(c, x, ad.tensor(targets, [count, 2])),
      [control, ad.tensor(params, [count, 2])],
    );
    const stored = gpu!.toDeviceByElement(plan, params, [{ values: targets, width: 2 }]);
    // the slots follow the elements: every point's element index is at least its predecessor's
    const elements = locatePoints(plan, await stored.params.read());
    expect(elements.every((e, s) => s === 0 || e >= elements[s - 1])).toBe(true);
    expect(gpu!.knownPointOrder(gpu!.plan(plan), stored.params)?.order).toBeUndefined();
    const onDevice = ad.valueAndGrad(
      ([c, x]: Tensor[]) => loss(c, x, stored.companions[0]),
      [control, stored.params],
    );
    expect(relativeError(await onDevice.value.read(), onHost.value.values)).toBeLessThan(1e-5);
    expect(relativeError(await onDevice.grad[0].read(), onHost.grad[0].values)).toBeLessThan(1e-5);
    // parameter gradients come in slot order
    const expectedParams = permuteRows(onHost.grad[1].values as Float64Array, stored.order, 2);
    expect(relativeError(await onDevice.grad[1].read(), expectedParams)).toBeLessThan(1e-5);
    dispose(stored.params, ...stored.companions);
  });

  it("the host point set with the fused loss agrees with the device general path over element-ordered points; device tensors given to a point set are refused by name", async () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 13,
      steps: 3,
      nonUniform: true,
    });
    const plan = compile(space);
    const r = seededRandom(5);
    const count = 2000;
    const control = ad.tensor(randomArray(r, plan.functionCount * 3), [plan.functionCount, 3]);
    const params = randomParams(r, count, [0, 0], [1, 1]);
    const targets = randomArray(r, count * 3);
    const ops = thbOps(plan);
    const set = ops.pointSet(params);
    const F = ad.tensor(targets, [count, 3]);
    const onHost = ad.valueAndGrad((c: Tensor) => ops.residualLoss(c, set, F), control);
    const stored = gpu!.toDeviceByElement(plan, params, [{ values: targets, width: 3 }]);
    const onDevice = ad.valueAndGrad(
      (c: Tensor) =>
        ad.mean(ad.sum(ad.square(ad.sub(ops.evaluate(c, stored.params), stored.companions[0])), 1)),
      control,
    );
    expect(relativeError(await onDevice.value.read(), onHost.value.values)).toBeLessThan(1e-5);
    expect(relativeError(await onDevice.grad.read(), onHost.grad.values)).toBeLessThan(1e-5);
    const deviceControl = dev(control);
    expect(() => ops.evaluatePoints(deviceControl, set)).toThrow(/control lives on the GPU/);
    expect(() => ops.residualLoss(control, set, stored.companions[0])).toThrow(/host tensor of shape/);
    dispose(stored.params, ...stored.companions, deviceControl);
  });

  it("the fused residual loss on the device (cached layout resident there) matches the f64 host path within f32 tolerance: each penalty, mean and sum, dim 1 and 3, 2D and 3D", async () => {
    for (const [dimension, degree, dim, seed] of [
      [2, 3, 3, 21],
      [2, 2, 1, 22],
      [3, 2, 3, 23],
    ] as const) {
      const space = buildHierarchy({
        dimension,
        degree,
        truncated: true,
        m: 2,
        seed,
        steps: 3,
        nonUniform: true,
      });
      const plan = compile(space);
      const r = seededRandom(seed);
      const count = 3000;
      const control = ad.tensor(randomArray(r, plan.functionCount * dim), [plan.functionCount, dim]);
      const params = randomParams(r, count, new Array(dimension).fill(0), new Array(dimension).fill(1));
      const F = ad.tensor(randomArray(r, count * dim), [count, dim]);
      const ops = thbOps(plan);
      const set = ops.pointSet(params);
      const deviceControl = dev(control);
      for (const penalty of ["squared", "huber", "l1"] as const) {
        for (const reduction of ["mean", "sum"] as const) {
          const options = { penalty, delta: 0.6 * Math.sqrt(dim), reduction };
          const onHost = ad.valueAndGrad((c: Tensor) => ops.residualLoss(c, set, F, options), control);
          const onDevice = scope(() =>
            ad.valueAndGrad((c: Tensor) => ad.mul(ops.residualLoss(c, set, F, options), 2), deviceControl),
          );
          expect(onDevice.value.onDevice && onDevice.grad.onDevice).toBe(true);
          const what = `${dimension}D degree ${degree} dim ${dim} ${penalty} ${reduction}`;
          const value = (await onDevice.value.read())[0];
          expect(Math.abs(value / 2 - onHost.value.item()), what).toBeLessThan(
            1e-5 * Math.abs(onHost.value.item()),
          );
          const doubled = Float64Array.from(onHost.grad.values, (x) => 2 * x);
          expect(relativeError(await onDevice.grad.read(), doubled), what).toBeLessThan(1e-5);
          // the forward alone (untraced) gives the same value
          const plain = scope(() => ops.residualLoss(deviceControl, set, F, options));
          expect((await plain.read())[0], what).toBe(value / 2);
          dispose(onDevice.value, onDevice.grad, plain);
        }
      }
      set.releaseDevice();
      dispose(deviceControl);
    }
  });

  it("THB values and first derivatives on the GPU: gradients to coefficients and parameters match the CPU", async () => {
    for (const d of [2, 3] as const) {
      const space = buildHierarchy({
        dimension: d,
        degree: 3,
        truncated: true,
        m: 2,
        seed: 50 + d,
        steps: 2,
        nonUniform: true,
      });
      const plan = compile(space);
      const r = seededRandom(60 + d);
      const count = 1500;
      const control = ad.tensor(randomArray(r, plan.functionCount * 2), [plan.functionCount, 2]);
      const lower = new Array(d).fill(0.01);
      const upper = new Array(d).fill(0.99);
      const params = ad.tensor(randomParams(r, count, lower, upper), [count, d]);
      const targets = ad.tensor(randomArray(r, count * 2), [count, 2]);
      const ops = thbOps(plan);
      // a fit term on the values plus a slope penalty on the derivatives; and a derivatives-only term
      const both = (t: Tensor) => (c: Tensor, x: Tensor) => {
        const { values, derivatives } = ops.evaluateWithDerivatives(c, x);
        return ad.add(ad.mean(ad.square(ad.sub(values, t))), ad.mul(ad.mean(ad.square(derivatives)), 0.01));
      };
      const slopesOnly = (c: Tensor, x: Tensor) =>
        ad.mean(ad.square(ops.evaluateWithDerivatives(c, x).derivatives));
      const deviceTargets = dev(targets);
      const deviceParams = dev(params);
      for (const [name, onHost, onDevice] of [
        ["values and slopes", both(targets), both(deviceTargets)],
        ["slopes only", slopesOnly, slopesOnly],
      ] as const) {
        const host = ad.valueAndGrad(([c, x]: Tensor[]) => onHost(c, x), [control, params]);
        const device = ad.valueAndGrad(([c, x]: Tensor[]) => onDevice(c, x), [control, deviceParams]);
        expect(relativeError(await device.value.read(), host.value.values), name).toBeLessThan(1e-5);
        // derivative terms scale with 1/h: relative to the largest component
        for (const k of [0, 1]) {
          const got = await device.grad[k].read();
          const want = host.grad[k].values;
          let diff = 0;
          let largest = 0;
          for (let i = 0; i < want.length; i++) {
            diff = Math.max(diff, Math.abs(got[i] - want[i]));
            largest = Math.max(largest, Math.abs(want[i]));
          }
          expect(diff / largest, `${name}, ${d}D, gradient ${k}`).toBeLessThan(2e-5);
        }
      }
    }
  });

  it("THB on a regular grid: the GPU grid kernel and its gradient match the host (2D and 3D)", async () => {
    for (const d of [2, 3] as const) {
      const space = buildHierarchy({
        dimension: d,
        degree: 2,
        truncated: true,
        m: 2,
        seed: 30 + d,
        steps: 3,
        nonUniform: false,
      });
      const plan = compile(space);
      const r = seededRandom(d);
      const counts = d === 2 ? [37, 29] : [13, 11, 9];
      const spacing = counts.map((n) => 1 / (n - 1));
      const origin = counts.map(() => 0);
      const total = counts.reduce((a, n) => a * n, 1);
      const control = ad.tensor(randomArray(r, plan.functionCount * 2), [plan.functionCount, 2]);
      const target = ad.tensor(randomArray(r, total * 2), [total, 2]);
      const ops = thbOps(plan);
      const hostGrid = thbGrid(plan, origin, spacing, counts);
      const deviceGrid = thbGrid(plan, origin, spacing, counts, gpu!);
      const deviceTarget = dev(target);
      const loss = (grid: typeof hostGrid, t: Tensor) => (c: Tensor) =>
        ad.mean(ad.square(ad.sub(ops.evaluateGrid(c, grid), t)));
      const onHost = ad.valueAndGrad(loss(hostGrid, target), control);
      const onDevice = ad.valueAndGrad(loss(deviceGrid, deviceTarget), control);
      // the host grid is the same field as evaluate at the grid points
      const atPoints = ad.valueAndGrad(
        (c: Tensor) => ad.mean(ad.square(ad.sub(ops.evaluate(c, hostGrid.points), target))),
        control,
      );
      expect(relativeError(onHost.grad.values, atPoints.grad.values)).toBeLessThan(1e-14);
      expect(
        relativeError(
          await ops.evaluateGrid(control, deviceGrid).read(),
          ops.evaluateGrid(control, hostGrid).values,
        ),
      ).toBeLessThan(1e-5);
      expect(relativeError(await onDevice.value.read(), onHost.value.values)).toBeLessThan(1e-5);
      expect(relativeError(await onDevice.grad.read(), onHost.grad.values)).toBeLessThan(1e-5);
    }
  });

  it("scopes and dispose return device buffers to the pool: repeated steps and new point sets allocate nothing new", async () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 5,
      steps: 2,
      nonUniform: false,
    });
    const plan = compile(space);
    const r = seededRandom(9);
    const count = 1000;
    const ops = thbOps(plan);
    let params = gpu!.toDevice(randomParams(r, count, [0, 0], [1, 1]), [count, 2]);
    let targets = gpu!.toDevice(randomArray(r, count), [count, 1]);
    const step = async () => {
      const c = ad.tensor(randomArray(r, plan.functionCount), [plan.functionCount, 1]);
      const { value, grad } = scope(() =>
        ad.valueAndGrad((x: Tensor) => ad.mean(ad.square(ad.sub(ops.evaluate(x, params), targets))), c),
      );
      const out = [await value.read(), await grad.read()];
      dispose(value, grad);
      return out;
    };
    // the pool settles after two steps (acquisition order differs once), then must stay flat
    await step();
    await step();
    const before = gpu!.context.pool.allocatedBytes;
    for (let i = 0; i < 5; i++) await step();
    expect(gpu!.context.pool.allocatedBytes).toBe(before);
    // new points each round (an adaptive fit uploads its points again): disposing them returns their
    // buffers and their cached sort by element to the pool
    const newPoints = async () => {
      dispose(params, targets);
      params = gpu!.toDevice(randomParams(r, count, [0, 0], [1, 1]), [count, 2]);
      targets = gpu!.toDevice(randomArray(r, count), [count, 1]);
      await step();
    };
    await newPoints();
    await newPoints();
    const settled = gpu!.context.pool.allocatedBytes;
    for (let i = 0; i < 4; i++) await newPoints();
    expect(gpu!.context.pool.allocatedBytes).toBe(settled);
  });

  it("says clearly what a device tensor cannot do, and refuses bad shapes and indices as the host does", () => {
    const t = dev(host([3, 3]));
    expect(() => t.values).toThrow(DeviceTensorError);
    expect(() => t.values).toThrow(/await t.read\(\)/);
    expect(() => ad.matmul(t, dev(host([4, 2])))).toThrow(
      /matmul needs \[m, k\] × \[k, n\], got \[3,3\] × \[4,2\]/,
    );
    expect(() => ad.gather(t, [0, 3])).toThrow(/gather: index 3 at 1 is outside 0 … 2/);
    expect(() => ad.scatterAdd(t, [0, -1, 2], 3)).toThrow(/scatterAdd: index -1 at 1/);
    expect(() => ad.where([1, 0], t, t)).toThrow(/where: condition holds 2 flags, expected 9/);
    expect(() => ad.add(t, dev(host([4])))).toThrow(/do not broadcast/);
  });

  it("matmul, transpose, gather, scatterAdd, where and concat agree with the host, gradients too", async () => {
    const a = host([7, 5]);
    const b = host([5, 4]);
    const c = host([7, 1, 3]);
    const d = host([7, 2, 3]);
    const rows = Int32Array.from([6, 0, 3, 3, 1, 6, 6, 2, 0]);
    const flags = Array.from({ length: 36 }, () => (rand() < 0.5 ? 1 : 0));
    const cases: [string, (x: Tensor, y: Tensor, z: Tensor, w: Tensor) => Tensor][] = [
      ["matmul", (x, y) => ad.matmul(x, y)],
      ["transpose", (x) => ad.transpose(x)],
      ["transpose of a product", (x, y) => ad.transpose(ad.matmul(x, y))],
      ["gather with repeats", (x) => ad.gather(x, rows)],
      ["scatterAdd with repeats", (x) => ad.scatterAdd(ad.gather(x, rows), rows, 7)],
      ["where", (x) => ad.where(flags.slice(0, 35), x, ad.neg(x))],
      ["where broadcasting a scalar", (x) => ad.where(flags.slice(0, 35), x, 0.5)],
      ["concat axis 0", (x) => ad.concat([x, ad.slice(x, 0, 2, 5)], 0)],
      ["concat axis 1", (_, __, z, w) => ad.concat([z, w, z], 1)],
      ["concat last axis", (x) => ad.concat([ad.slice(x, 1, 0, 2), x], 1)],
    ];
    for (const [name, f] of cases) {
      const expected = f(a, b, c, d).values;
      const got = await f(dev(a), dev(b), dev(c), dev(d)).read();
      expect(got.length, name).toBe(expected.length);
      expect(relativeError(got, expected), name).toBeLessThan(1e-6);
    }
    // gradients flow through the same ops (matmul's VJP is matmul and transpose, gather's is scatterAdd, …)
    const weights = host([9, 4]);
    const loss = ([x, y]: Tensor[], w: Tensor) => {
      const picked = ad.gather(ad.matmul(x, y), rows);
      const mixed = ad.where(flags, picked, ad.square(picked));
      return ad.sum(
        ad.mul(ad.concat([mixed, ad.slice(mixed, 0, 0, 2)], 0), ad.concat([w, ad.slice(w, 0, 0, 2)], 0)),
      );
    };
    const hostResult = ad.valueAndGrad((xs: Tensor[]) => loss(xs, weights), [a, b]);
    const devResult = ad.valueAndGrad((xs: Tensor[]) => loss(xs, dev(weights)), [dev(a), dev(b)]);
    expect(relativeError(await devResult.value.read(), hostResult.value.values)).toBeLessThan(1e-5);
    for (const k of [0, 1]) {
      const grads = devResult.grad as Tensor[];
      const expected = (hostResult.grad as Tensor[])[k].values;
      expect(relativeError(await grads[k].read(), expected), `gradient ${k}`).toBeLessThan(1e-5);
    }
  });
});
