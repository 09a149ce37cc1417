import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { relativeError } from "../helpers/gpu.js";

/** x ↦ scale · Σ x² as a custom primitive whose VJP is off by the factor `wrong`. */
const scaledSquares = (scale: number, wrong: number) =>
  ad.defineOp<ad.Tensor>({
    name: "scaledSquares",
    implementations: {
      cpu: {
        forward: ([x]) => {
          let s = 0;
          for (const v of x.values) s += v * v;
          return { outputs: [ad.tensor([scale * s], [])], residuals: x };
        },
        vjp: (x, [g]) => [g ? ad.mul(ad.mul(x, 2 * scale * wrong), g) : undefined],
      },
    },
  });

describe("oracles judge relative errors, small values included", () => {
  const x = ad.tensor([0.3, -0.7, 0.2, 0.9], [4]);
  const run = (scale: number, wrong: number) => {
    const op = scaledSquares(scale, wrong);
    return ad.gradcheck(([t]) => op([t])[0], [x]);
  };

  it("gradcheck passes a right gradient and fails one 1% off, at any scale of the function", () => {
    for (const scale of [1e3, 1, 1e-4, 1e-8]) {
      expect(run(scale, 1).passed, `right, scale ${scale}`).toBe(true);
      const wrong = run(scale, 1.01);
      expect(wrong.passed, `1% off, scale ${scale}`).toBe(false);
      // the error is the relative one, whatever the scale (a floor at 1 made it 1e-2 · scale for small ones)
      expect(wrong.maxError, `scale ${scale}`).toBeGreaterThan(0.009);
      expect(wrong.maxError, `scale ${scale}`).toBeLessThan(0.011);
    }
  });

  it("relativeError sees a 1% error of small values, and is 0 for equal arrays", () => {
    const b = [2e-4, -1e-4, 3e-4];
    expect(
      relativeError(
        b.map((v) => v * 1.01),
        b,
      ),
    ).toBeCloseTo(0.01 / 1.01, 12);
    expect(relativeError(b, b)).toBe(0);
    expect(relativeError([0, 0], [0, 0])).toBe(0);
    expect(relativeError([Number.NaN], [1])).toBe(Number.POSITIVE_INFINITY);
    // below the floor (a quarter of the largest value), values are judged against the floor
    expect(relativeError([1, 1e-6], [1, 0])).toBeCloseTo(4e-6, 12);
  });

  it("judges each input on its own: a sign-flipped gradient of a small input next to a large one fails", () => {
    // f(a, b) = 1e3 a + 1e-3 b, with b's gradient reported with the wrong sign
    const wrong = ad.defineOp<null>({
      name: "wrongSign",
      implementations: {
        cpu: {
          forward: ([a, b]) => ({
            outputs: [ad.tensor([1e3 * a.values[0] + 1e-3 * b.values[0]], [])],
            residuals: null,
          }),
          vjp: (_residuals, [g]) => [g ? ad.mul(g, 1e3) : undefined, g ? ad.mul(g, -1e-3) : undefined],
        },
      },
    });
    const result = ad.gradcheck(([a, b]) => wrong([a, b])[0], [ad.tensor([0.3], []), ad.tensor([0.2], [])]);
    expect(result.maxError).toBeGreaterThan(1);
  });

  it("steps relative to the input's size: a correct gradient at |x| ~ 1e6 passes", () => {
    const result = ad.gradcheck(([x]) => ad.sum(ad.square(x)), [ad.tensor([1e6, -2e6, 3e6], [3])]);
    expect(result.passed).toBe(true);
  });

  it("with a block layout, values 1% off are caught beside second derivatives 1e4 times larger", () => {
    // two points, blocks [value, second derivative], dim 1: the values' scale is their own block's
    const exact = [0.5, 4e3, -0.7, 6e3];
    const valuesOff = exact.map((v, i) => (i % 2 === 0 ? v * 1.01 : v));
    expect(relativeError(valuesOff, exact)).toBeLessThan(1e-5); // one scale for all: the error hides
    expect(relativeError(valuesOff, exact, undefined, { blocks: 2, dim: 1 })).toBeGreaterThan(9e-3);
  });
});
