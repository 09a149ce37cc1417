import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { type Tensor, tensor } from "../../autodiff/index.js";
import { BSpline } from "../../splines/bspline.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { seededRandom } from "../helpers/random.js";

/** Σ 100 (x_{i+1} − x_i²)² + (1 − x_i)², written with tensor ops. */
function rosenbrock(x: Tensor): Tensor {
  const n = x.size;
  const head = ad.slice(x, 0, 0, n - 1);
  const tail = ad.slice(x, 0, 1, n);
  return ad.add(
    ad.mul(100, ad.sum(ad.square(ad.sub(tail, ad.square(head))))),
    ad.sum(ad.square(ad.sub(1, head))),
  );
}

describe("optimisers", () => {
  for (const n of [2, 100]) {
    it(`L-BFGS minimises the ${n}-D Rosenbrock function to 1e-8`, () => {
      const x0 = Array.from({ length: n }, (_, i) => (i % 2 === 0 ? -1.2 : 1));
      const result = ad.minimize(rosenbrock, x0, { method: "lbfgs", maxIterations: 2000, tolerance: 1e-9 });
      expect(result.converged).toBe(true);
      expect(result.value).toBeLessThan(1e-16);
      for (const xi of result.x) expect(Math.abs(xi - 1)).toBeLessThan(1e-8);
    });
  }

  it("Adam fits a cubic B-spline curve to noisy samples of sin (error near the noise level)", () => {
    const rand = seededRandom(4);
    const knots = uniformKnotVector(3, 8);
    const n = knots.length - 4;
    const m = 400;
    const params = Float64Array.from({ length: m }, (_, i) => i / (m - 1));
    const truth = Float64Array.from(params, (u) => Math.sin(2 * Math.PI * u));
    const noisy = Float64Array.from(truth, (y) => y + 0.05 * (rand() - 0.5));
    // the curve is linear in its control points: S = N C, with N from the B-spline basis (identity control)
    const basisRows: number[] = [];
    for (let j = 0; j < n; j++) {
      const unit = new Float64Array(n);
      unit[j] = 1;
      basisRows.push(...BSpline.create({ degrees: [3], knots: [knots], control: unit }).evaluate(params));
    }
    const N = ad.transpose(tensor(basisRows, [n, m]));
    const target = tensor(noisy, [m, 1]);
    const loss = (c: Tensor) => ad.mean(ad.square(ad.sub(ad.matmul(N, ad.reshape(c, [n, 1])), target)));
    const result = ad.minimize(loss, new Float64Array(n), {
      method: "adam",
      learningRate: 0.05,
      maxIterations: 3000,
    });
    const fitted = ad.matmul(N, ad.reshape(tensor(result.x), [n, 1])).values;
    let worst = 0;
    for (let i = 0; i < m; i++) worst = Math.max(worst, Math.abs(fitted[i] - truth[i]));
    expect(worst).toBeLessThan(0.03);
    expect(result.history[0].value).toBeGreaterThan(100 * result.value);
  });

  it("SGD with momentum decreases a quadratic", () => {
    const q = (x: Tensor) => ad.sum(ad.mul(ad.square(x), tensor([1, 10])));
    const result = ad.minimize(q, [1, 1], {
      method: "sgd",
      learningRate: 0.01,
      momentum: 0.9,
      maxIterations: 500,
    });
    expect(result.value).toBeLessThan(1e-6);
  });

  it("stops with a clear error at the iteration where the loss becomes non-finite", () => {
    const f = (x: Tensor) => ad.sum(ad.log(x)); // log of a negative number once SGD crosses zero
    expect(() =>
      ad.minimize(f, [0.05], { method: "sgd", learningRate: 1, momentum: 0, maxIterations: 10 }),
    ).toThrow(/loss became NaN at iteration 1/);
  });

  it("honours an AbortSignal", () => {
    const controller = new AbortController();
    controller.abort();
    const result = ad.minimize(rosenbrock, [0, 0], { signal: controller.signal });
    expect(result.reason).toBe("aborted");
  });
});
