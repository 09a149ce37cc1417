import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { tensor } from "../../autodiff/index.js";
import { compile } from "../../hierarchy/plan.js";
import { thbOps } from "../../primitives/thbPrimitive.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

describe("THB evaluation as an autodiff primitive", () => {
  for (const dimension of [2, 3] as const) {
    it(`${dimension}D: gradcheck with respect to the coefficients and the parameters`, () => {
      for (let seed = 1; seed <= 3; seed++) {
        const space = buildHierarchy({
          dimension,
          degree: 1 + seed,
          truncated: seed !== 2,
          m: 2,
          seed,
          steps: dimension === 2 ? 4 : 2,
          nonUniform: true,
        });
        const plan = compile(space);
        const ops = thbOps(plan);
        const rand = seededRandom(seed);
        const dim = seed;
        const control = tensor(randomArray(rand, space.size * dim), [space.size, dim]);
        // keep parameters away from element boundaries so finite differences stay inside one polynomial piece
        const params = tensor(
          randomParams(rand, 30, new Array(dimension).fill(0.02), new Array(dimension).fill(0.98)),
          [30, dimension],
        );
        const loss = ([c, x]: ad.Tensor[]) => ad.sum(ad.square(ops.evaluate(c, x)));
        const result = ad.gradcheck(loss, [control, params], { eps: 1e-7, directions: 4, tolerance: 1e-5 });
        expect(result.maxError).toBeLessThan(1e-5);
      }
    });
  }

  for (const dimension of [2, 3] as const) {
    it(`${dimension}D: first-derivative outputs — gradcheck on both inputs, including bending-type losses`, () => {
      const space = buildHierarchy({
        dimension,
        degree: 3,
        truncated: true,
        m: 2,
        seed: 6,
        steps: dimension === 2 ? 3 : 1,
        nonUniform: true,
      });
      const plan = compile(space);
      const ops = thbOps(plan);
      const rand = seededRandom(6);
      const control = tensor(randomArray(rand, space.size * 2), [space.size, 2]);
      const params = tensor(
        randomParams(rand, 25, new Array(dimension).fill(0.02), new Array(dimension).fill(0.98)),
        [25, dimension],
      );
      const loss = ([c, x]: ad.Tensor[]) => {
        const { values, derivatives } = ops.evaluateWithDerivatives(c, x);
        return ad.add(ad.sum(ad.square(derivatives)), ad.mul(ad.sum(ad.pow(values, 3)), 0.1));
      };
      const result = ad.gradcheck(loss, [control, params], { eps: 1e-7, directions: 4, tolerance: 1e-5 });
      expect(result.maxError).toBeLessThan(1e-5);
      // values agree with the values-only primitive
      const both = ops.evaluateWithDerivatives(control, params).values.values;
      const only = ops.evaluate(control, params).values;
      for (let i = 0; i < only.length; i++) expect(both[i]).toBeCloseTo(only[i], 14);
    });
  }

  it("the coefficient gradient equals an explicit basis-matrix product and is bitwise deterministic", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 8,
      steps: 4,
      nonUniform: false,
    });
    const plan = compile(space);
    const ops = thbOps(plan);
    const rand = seededRandom(8);
    const control = tensor(randomArray(rand, space.size * 2), [space.size, 2]);
    const params = tensor(randomParams(rand, 500, [0, 0], [1, 1]), [500, 2]);
    const target = tensor(randomArray(rand, 1000), [500, 2]);
    const loss = (c: ad.Tensor) => ad.mean(ad.square(ad.sub(ops.evaluate(c, params), target)));
    const g1 = ad.grad(loss, control);
    const g2 = ad.grad(loss, control);
    expect(Array.from(g1.values)).toEqual(Array.from(g2.values));
    // reference: d/dC mean((N C − T)²) = 2/(#points·dim) Nᵀ (N C − T), with N built column by column
    const N = new Float64Array(500 * space.size);
    for (let a = 0; a < space.size; a++) {
      const unit = new Float64Array(space.size);
      unit[a] = 1;
      const column = ops.evaluate(tensor(unit, [space.size, 1]), params).values;
      for (let i = 0; i < 500; i++) N[i * space.size + a] = column[i];
    }
    const residual = ad.sub(ad.matmul(tensor(N, [500, space.size]), control), target);
    const reference = ad.mul(ad.matmul(ad.transpose(tensor(N, [500, space.size])), residual), 2 / 1000);
    for (let i = 0; i < g1.size; i++) expect(g1.values[i]).toBeCloseTo(reference.values[i], 13);
  });

  it("Hessian-vector products with respect to the coefficients match finite differences of gradients", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 3,
      steps: 3,
      nonUniform: false,
    });
    const ops = thbOps(compile(space));
    const rand = seededRandom(2);
    const params = tensor(randomParams(rand, 200, [0, 0], [1, 1]), [200, 2]);
    const f = (c: ad.Tensor) => ad.sum(ad.pow(ops.evaluate(c, params), 4));
    const c = tensor(randomArray(rand, space.size), [space.size, 1]);
    const v = tensor(randomArray(rand, space.size), [space.size, 1]);
    const hv = ad.hessianVectorProduct(f, c, v);
    const h = 1e-6;
    const plus = ad.grad(
      f,
      tensor(
        Array.from(c.values, (x, i) => x + h * v.values[i]),
        c.shape,
      ),
    );
    const minus = ad.grad(
      f,
      tensor(
        Array.from(c.values, (x, i) => x - h * v.values[i]),
        c.shape,
      ),
    );
    for (let i = 0; i < space.size; i++) {
      const fd = (plus.values[i] - minus.values[i]) / (2 * h);
      expect(Math.abs(hv.values[i] - fd)).toBeLessThan(1e-5 * (1 + Math.abs(fd)));
    }
  });
});
