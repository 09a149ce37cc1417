import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { tensor } from "../../autodiff/index.js";
import { compile, type EvaluationPlan } from "../../hierarchy/plan.js";
import { localControl } from "../../kernels/cpu/planEvaluate.js";
import { PointSetError, pointSetFits } from "../../primitives/thbPointSet.js";
import { thbOps } from "../../primitives/thbPrimitive.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

/** max |a − b| / max |b| (the scale of the reference). */
function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

/** The general path of the fitting losses: mean over points of ρ(‖S − t‖), with the loss code of gradientFit. */
function generalLoss(
  ops: ReturnType<typeof thbOps>,
  X: ad.Tensor,
  T: ad.Tensor,
  penalty: "squared" | "huber" | "l1",
  delta: number,
): (c: ad.Tensor) => ad.Tensor {
  return (c) => {
    const squared = ad.sum(ad.square(ad.sub(ops.evaluate(c, X), T)), 1);
    if (penalty === "squared") return ad.mean(squared);
    const r = ad.sqrt(ad.add(squared, 1e-24));
    if (penalty === "l1") return ad.mean(r);
    const m = ad.minimum(r, delta);
    return ad.mean(ad.add(ad.mul(ad.square(m), 1 / (2 * delta)), ad.sub(r, m)));
  };
}

interface Case {
  plan: EvaluationPlan;
  ops: ReturnType<typeof thbOps>;
  C: ad.Tensor;
  X: ad.Tensor;
  T: ad.Tensor;
  dim: number;
}

function randomCase(dimension: 2 | 3, degree: number, seed: number, dim: number, count: number): Case {
  const space = buildHierarchy({
    dimension,
    degree,
    truncated: seed % 2 === 1,
    m: 2,
    seed,
    steps: dimension === 2 ? 5 : 2,
    nonUniform: seed % 3 !== 0,
  });
  const plan = compile(space);
  const rand = seededRandom(100 + seed);
  return {
    plan,
    ops: thbOps(plan),
    C: tensor(randomArray(rand, space.size * dim), [space.size, dim]),
    X: tensor(randomParams(rand, count, new Array(dimension).fill(0), new Array(dimension).fill(1)), [
      count,
      dimension,
    ]),
    T: tensor(randomArray(rand, count * dim), [count, dim]),
    dim,
  };
}

const cases: [2 | 3, number, number, number][] = [
  [2, 3, 1, 3],
  [2, 3, 2, 1],
  [2, 2, 3, 2],
  [2, 1, 4, 3],
  [3, 2, 5, 1],
  [3, 1, 6, 3],
  // odd local sizes (B = 9, 27) in dim 3: the remainders of the paired and blocked loops
  [2, 2, 7, 3],
  [3, 2, 8, 3],
];

describe("THB primitives at a fixed point set (cached basis, fused loss)", () => {
  it("values at a point set equal thbOps.evaluate to 1e-13 on random THB hierarchies (2D and 3D, degrees 1–3, dim 1–3)", () => {
    for (const [dimension, degree, seed, dim] of cases) {
      const { ops, C, X } = randomCase(dimension, degree, seed, dim, 700);
      const set = ops.pointSet(X);
      expect(relativeError(ops.evaluatePoints(C, set).values, ops.evaluate(C, X).values)).toBeLessThan(1e-13);
    }
  });

  it("the fused loss and its gradient equal the general path (evaluate + sub/square/sum/mean) to 1e-12, for squared, Huber and L1", () => {
    for (const [dimension, degree, seed, dim] of cases) {
      const { ops, C, X, T } = randomCase(dimension, degree, seed, dim, 900);
      const set = ops.pointSet(X);
      for (const penalty of ["squared", "huber", "l1"] as const) {
        // δ near the median residual norm, so that both Huber branches are taken
        const delta = 0.6 * Math.sqrt(dim);
        const general = ad.valueAndGrad(generalLoss(ops, X, T, penalty, delta), C);
        const fused = ad.valueAndGrad((c) => ops.residualLoss(c, set, T, { penalty, delta }), C);
        expect(Math.abs(fused.value.item() - general.value.item())).toBeLessThan(
          1e-12 * Math.abs(general.value.item()),
        );
        expect(relativeError(fused.grad.values, general.grad.values)).toBeLessThan(1e-12);
        // the forward alone (no traced input) gives the same value
        expect(ops.residualLoss(C, set, T, { penalty, delta }).item()).toBe(fused.value.item());
      }
    }
  });

  it("Huber really takes both branches here, and sum is mean times #points", () => {
    const { ops, C, X, T } = randomCase(2, 3, 1, 3, 900);
    const set = ops.pointSet(X);
    const norms = ad.sqrt(ad.sum(ad.square(ad.sub(ops.evaluate(C, X), T)), 1)).values;
    const delta = 0.6 * Math.sqrt(3);
    const inside = Array.from(norms).filter((r) => r <= delta).length;
    expect(inside).toBeGreaterThan(50);
    expect(inside).toBeLessThan(850);
    const mean = ops.residualLoss(C, set, T, { penalty: "huber", delta }).item();
    const sum = ops.residualLoss(C, set, T, { penalty: "huber", delta, reduction: "sum" }).item();
    expect(Math.abs(sum - 900 * mean)).toBeLessThan(1e-12 * sum);
  });

  it("gradcheck: the fused loss (each penalty) and general losses through evaluatePoints", () => {
    for (const [dimension, degree, seed, dim] of cases.slice(0, 4)) {
      const { ops, C, X, T } = randomCase(dimension, degree, seed, dim, 60);
      const set = ops.pointSet(X);
      for (const penalty of ["squared", "huber", "l1"] as const) {
        const f = ([c]: ad.Tensor[]) => ops.residualLoss(c, set, T, { penalty, delta: 0.5 });
        expect(ad.gradcheck(f, [C], { eps: 1e-6, directions: 4, tolerance: 1e-6 }).maxError).toBeLessThan(
          1e-6,
        );
      }
      const cubic = ([c]: ad.Tensor[]) => ad.sum(ad.pow(ops.evaluatePoints(c, set), 3));
      expect(ad.gradcheck(cubic, [C], { eps: 1e-6, directions: 4, tolerance: 1e-6 }).maxError).toBeLessThan(
        1e-6,
      );
    }
  });

  it("Hessian-vector products through evaluatePoints equal those through evaluate; through the fused loss they refuse by name", () => {
    const { ops, C, X, T } = randomCase(2, 2, 3, 2, 300);
    const set = ops.pointSet(X);
    const v = tensor(randomArray(seededRandom(9), C.size), C.shape);
    const viaSet = ad.hessianVectorProduct(
      (c) => ad.sum(ad.pow(ad.sub(ops.evaluatePoints(c, set), T), 4)),
      C,
      v,
    );
    const viaEvaluate = ad.hessianVectorProduct(
      (c) => ad.sum(ad.pow(ad.sub(ops.evaluate(c, X), T), 4)),
      C,
      v,
    );
    expect(relativeError(viaSet.values, viaEvaluate.values)).toBeLessThan(1e-12);
    expect(() => ad.hessianVectorProduct((c) => ops.residualLoss(c, set, T), C, v)).toThrow(PointSetError);
    expect(() => ad.hessianVectorProduct((c) => ops.residualLoss(c, set, T), C, v)).toThrow(
      /first derivatives only/,
    );
  });

  it("refuses, by name, a set over its memory limit, traced parameters, targets of the wrong shape and another plan's set", () => {
    const { plan, ops, C, X, T } = randomCase(2, 3, 1, 3, 100);
    expect(pointSetFits(plan, 100)).toBe(true);
    expect(pointSetFits(plan, 100, 1000)).toBe(false);
    expect(() => ops.pointSet(X, 1000)).toThrow(/MiB, over the limit/);
    expect(() => ad.grad((x) => ad.sum(ops.evaluatePoints(C, ops.pointSet(x))), X)).toThrow(
      /params is traced/,
    );
    const set = ops.pointSet(X);
    expect(() => ops.residualLoss(C, set, tensor(new Float64Array(99 * 3), [99, 3]))).toThrow(
      /targets must be a host tensor of shape \[100, 3\]/,
    );
    expect(() => ad.grad((t) => ops.residualLoss(C, set, t), T)).toThrow(/targets is traced/);
    expect(() => ops.residualLoss(C, set, T, { penalty: "huber", delta: 0 })).toThrow(
      /delta must be positive/,
    );
    const other = randomCase(2, 3, 1, 3, 100);
    expect(() => ops.evaluatePoints(C, other.ops.pointSet(other.X))).toThrow(/made for another plan/);
  });

  it("local control blocks through the sparse extraction equal the dense product E_eᵀ C_e bit for bit", () => {
    for (const [dimension, degree, seed, dim] of cases) {
      const { plan, C } = randomCase(dimension, degree, seed, dim, 1);
      const B = plan.localSize;
      const dense = new Float64Array(plan.elementCount * B * dim);
      for (let e = 0; e < plan.elementCount; e++) {
        for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) {
          for (let j = 0; j < B; j++) {
            const a = plan.extractionCoefficients[r * B + j];
            for (let k = 0; k < dim; k++)
              dense[(e * B + j) * dim + k] += a * C.values[plan.extractionFunctions[r] * dim + k];
          }
        }
      }
      expect(localControl(plan, C.values, dim)).toEqual(dense);
    }
  });
});
