import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { type Tensor, tensor } from "../../autodiff/index.js";
import { compile } from "../../hierarchy/plan.js";
import { gridPoints } from "../../kernels/cpu/gridPoints.js";
import { thbOps } from "../../primitives/thbPrimitive.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

const rand = seededRandom(7);
const randomTensor = (shape: number[]) =>
  tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rand() - 1),
    shape,
  );

/** A loss that touches every op that accumulates into its output (sum over an axis, sumTo, matmul, scatterAdd, embed). */
function accumulatingLoss(a: Tensor, b: Tensor): (x: Tensor) => Tensor {
  return (x) => {
    const rows = ad.scatterAdd(ad.mul(x, a), [2, 0, 2, 1], 3); // [3, 5]
    const product = ad.matmul(rows, b); // [3, 2]
    const joined = ad.concat([product, ad.reshape(ad.sum(rows, 1), [3, 1])], 1); // [3, 3]
    const part = ad.slice(joined, 0, 1, 3); // its VJP embeds into zeros
    const broadcast = ad.add(x, ad.sum(x, 0)); // row broadcast: the VJP sums to [5]
    return ad.add(ad.sum(ad.square(part)), ad.sum(ad.mul(broadcast, broadcast)));
  };
}

describe("host pool: scopes reuse the arrays ops allocate", () => {
  it("gradients in scopes equal those outside bit for bit, run after run (reused arrays are zeroed where ops accumulate)", () => {
    const a = randomTensor([4, 5]);
    const b = randomTensor([5, 2]);
    const x = randomTensor([4, 5]);
    const f = accumulatingLoss(a, b);
    const reference = ad.valueAndGrad(f, x);
    for (let run = 0; run < 4; run++) {
      const { value, gradient } = ad.scope(() => {
        const r = ad.valueAndGrad(f, x);
        return { value: r.value.item(), gradient: Float64Array.from(r.grad.values) };
      });
      expect(value).toBe(reference.value.item());
      expect(Array.from(gradient)).toEqual(Array.from(reference.grad.values));
    }
  });

  it("a loop of THB gradients in scopes allocates no fresh host arrays after its first step, with unchanged results", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 3,
      steps: 4,
      nonUniform: true,
    });
    const plan = compile(space);
    const ops = thbOps(plan);
    const r = seededRandom(11);
    const C = tensor(randomArray(r, space.size * 3), [space.size, 3]);
    const X = tensor(randomParams(r, 2000, [0, 0], [1, 1]), [2000, 2]);
    const T = tensor(randomArray(r, 2000 * 3), [2000, 3]);
    const set = ops.pointSet(X);
    for (const evaluate of [(c: Tensor) => ops.evaluate(c, X), (c: Tensor) => ops.evaluatePoints(c, set)]) {
      const loss = (c: Tensor) => ad.mean(ad.square(ad.sub(evaluate(c), T)));
      const reference = ad.valueAndGrad(loss, C);
      const step = () =>
        ad.scope(() => {
          const { value, grad } = ad.valueAndGrad(loss, C);
          return { value: value.item(), gradient: Float64Array.from(grad.values) };
        });
      step();
      const before = ad.hostAllocationStatistics();
      for (let k = 0; k < 3; k++) {
        const { value, gradient } = step();
        expect(value).toBe(reference.value.item());
        expect(Array.from(gradient)).toEqual(Array.from(reference.grad.values));
      }
      const after = ad.hostAllocationStatistics();
      expect(after.freshBytes - before.freshBytes).toBe(0);
      // the residual, square and their cotangents (#points × dim each) came from the pool
      expect(after.reusedBytes - before.reusedBytes).toBeGreaterThan(3 * 4 * 2000 * 3 * 8);
    }
  });

  it("keeps what a scope returns (tensors, their views, raw arrays) and never recycles an input made outside", () => {
    const x = randomTensor([6]);
    const xValues = Array.from(x.values);
    const kept = ad.scope(() => {
      const { value, grad } = ad.valueAndGrad((y: Tensor) => ad.sum(ad.mul(y, y)), x);
      return { value, grad, raw: ad.mul(x, 3).values };
    });
    const gradValues = Array.from(kept.grad.values);
    const rawValues = Array.from(kept.raw);
    // later scopes draw arrays of the same lengths from the pool and overwrite them
    for (let k = 0; k < 3; k++) ad.scope(() => ad.sum(ad.mul(ad.add(x, 1), ad.neg(x))).item());
    expect(Array.from(kept.grad.values)).toEqual(gradValues);
    expect(Array.from(kept.raw)).toEqual(rawValues);
    expect(gradValues).toEqual(xValues.map((v) => 2 * v));
    expect(Array.from(x.values)).toEqual(xValues);
    expect(kept.value.item()).toBeCloseTo(
      xValues.reduce((s, v) => s + v * v, 0),
      14,
    );
  });

  it("outside scopes ops allocate new arrays, as before pooling (the pool serves scopes only)", () => {
    const x = randomTensor([64]);
    ad.scope(() => ad.sum(ad.mul(x, 2)).item()); // leaves arrays of 64 in the pool
    const before = ad.hostAllocationStatistics();
    const y = ad.mul(x, 3);
    const after = ad.hostAllocationStatistics();
    expect(after.freshBytes - before.freshBytes).toBe(64 * 8);
    expect(after.reusedBytes).toBe(before.reusedBytes);
    expect(y.values[5]).toBe(3 * x.values[5]);
  });

  it("a traced result keeps its graph: arrays its VJPs read survive later scopes", () => {
    const x = randomTensor([5]);
    const v = randomTensor([5]);
    const g = ad.grad((y: Tensor) => {
      // e^y · y: the product's VJP reads e^y, an array allocated inside the scope
      const inner = ad.scope(() => ad.mul(ad.exp(y), y));
      for (let k = 0; k < 2; k++) ad.scope(() => ad.sum(ad.mul(ad.add(y, 1), ad.neg(y))).item());
      return ad.dot(inner, v);
    }, x);
    for (let i = 0; i < 5; i++) {
      const y = x.values[i];
      expect(g.values[i]).toBeCloseTo(v.values[i] * Math.exp(y) * (y + 1), 13);
    }
  });

  it("gradients stay differentiable with respect to traced tensors f captures (mixed partials), and are cut off otherwise", () => {
    const x = randomTensor([4]);
    const z0 = randomTensor([4]);
    // ∂/∂z Σ_i ∂/∂y_i Σ_j y_j² z_j = ∂/∂z Σ_i 2 y_i z_i = 2 y
    const mixed = ad.grad(
      (z: Tensor) => ad.sum(ad.grad((y: Tensor) => ad.sum(ad.mul(ad.mul(y, y), z)), x)),
      z0,
    );
    for (let i = 0; i < 4; i++) expect(mixed.values[i]).toBeCloseTo(2 * x.values[i], 14);
    expect(ad.grad((y: Tensor) => ad.sum(ad.mul(y, y)), x).traced).toBe(false);
  });
});

describe("host pool and caches keyed by arrays", () => {
  it("a grid whose points an op computed in a scope is tabulated afresh when the pool hands that array out again", () => {
    const plan = compile(
      buildHierarchy({
        dimension: 2,
        degree: 2,
        truncated: true,
        m: 2,
        seed: 3,
        steps: 3,
        nonUniform: false,
      }),
    );
    const lo = [0, 1].map((k) => plan.rootBreaks[plan.rootBreakStart[k]]);
    const hi = [0, 1].map((k) => plan.rootBreaks[plan.rootBreakStart[k + 1] - 1]);
    // three components: the outputs (#points × 3) do not share the points' (#points × 2) pool list
    const control = tensor(randomArray(seededRandom(5), plan.functionCount * 3), [plan.functionCount, 3]);
    const counts = [6, 5];
    // the same counts at two origins: points of equal length, different values
    const gridAt = (shift: number) => {
      const origin = lo.map((l, k) => l + shift * (hi[k] - l));
      const spacing = lo.map((l, k) => ((hi[k] - l) * (1 - shift)) / (counts[k] - 1));
      return { origin, spacing, points: gridPoints(origin, spacing, counts) };
    };
    const ops = thbOps(plan);
    const arrays: object[] = []; // not returned from the scope, which would keep them out of the pool
    const through = (shift: number) =>
      ad.scope(() => {
        const { origin, spacing, points } = gridAt(shift);
        // an op's output array: from the pool inside a scope
        const computed = ad.mul(tensor(points, [points.length / 2, 2]), 1);
        const grid = { origin, spacing, counts, points: computed };
        arrays.push(computed.values);
        return {
          grid: Float64Array.from(ops.evaluateGrid(control, grid).values),
          general: Float64Array.from(ops.evaluate(control, computed).values),
        };
      });
    const first = through(0);
    const second = through(0.3);
    expect(arrays[1]).toBe(arrays[0]); // the pool did hand the same array out again
    expect(Array.from(second.grid)).not.toEqual(Array.from(first.grid));
    for (let i = 0; i < second.grid.length; i++) expect(second.grid[i]).toBeCloseTo(second.general[i], 12);
  });
});
