import { describe, expect, it } from "vitest";
import { ArgumentError, BSpline, derivativeMultiIndices, uniformKnotVector } from "../../splines/index.js";
import { randomArray, randomOpenKnots, randomParams, seededRandom } from "../helpers/random.js";

/** A random B-spline with d parameters, degrees 1–3, output dimension dim. */
function randomSpline(seed: number, d: number, dim: number): BSpline {
  const rand = seededRandom(seed);
  const degrees = Array.from({ length: d }, () => 1 + Math.floor(rand() * 3));
  const knots = degrees.map((p) => randomOpenKnots(rand, p, 1 + Math.floor(rand() * 4)));
  const size = knots.reduce((acc, U, k) => acc * (U.length - degrees[k] - 1), 1);
  return BSpline.create({ degrees, knots, control: randomArray(rand, size * dim) });
}

describe("tensor-product B-splines", () => {
  for (const d of [1, 2, 3]) {
    it(`${d}-parameter spline: first and second derivatives (mixed included) match finite differences`, () => {
      for (let seed = 0; seed < 8; seed++) {
        const spline = randomSpline(100 * d + seed, d, 1 + (seed % 3));
        const rand = seededRandom(seed);
        const lower = Array.from(spline.basis.lower, (a) => a + 0.01);
        const upper = Array.from(spline.basis.upper, (b) => b - 0.01);
        const params = randomParams(rand, 20, lower, upper);
        const dim = spline.dim;
        const multi = derivativeMultiIndices(d, 2);
        const blocks = multi.length;
        const D = spline.derivatives(params, 2);
        const values = spline.evaluate(params);
        const h = 1e-5;
        const shifted = new Float64Array(d);
        for (let pt = 0; pt < 20; pt++) {
          for (let c = 0; c < dim; c++)
            expect(D[pt * blocks * dim + c]).toBeCloseTo(values[pt * dim + c], 13);
          // first derivatives from values, second derivatives from first ones
          for (let b = 1; b < blocks; b++) {
            const m = multi[b];
            const k = m.findIndex((o) => o > 0);
            const lowerOrder = m.slice();
            lowerOrder[k]--;
            const lowerBlock = multi.findIndex((x) => x.every((o, i) => o === lowerOrder[i]));
            for (let i = 0; i < d; i++) shifted[i] = params[pt * d + i];
            shifted[k] += h;
            const plus = spline.derivatives(shifted, 2);
            shifted[k] -= 2 * h;
            const minus = spline.derivatives(shifted, 2);
            for (let c = 0; c < dim; c++) {
              const fd = (plus[lowerBlock * dim + c] - minus[lowerBlock * dim + c]) / (2 * h);
              const exact = D[(pt * blocks + b) * dim + c];
              // knots inside [x-h, x+h] make the FD one-sided; tolerate via a scale tied to the magnitude
              expect(Math.abs(fd - exact)).toBeLessThan(2e-3 * (1 + Math.abs(exact)));
            }
          }
        }
      }
    });
  }

  it("a bilinear surface on a single element reproduces bilinear interpolation exactly", () => {
    const s = BSpline.create({
      degrees: [1, 1],
      knots: [
        [0, 0, 1, 1],
        [0, 0, 2, 2],
      ],
      control: [0, 1, 2, 7],
    });
    // S(u, v) = (1-u)(1-v/2)·0 + u(1-v/2)·1 + (1-u)(v/2)·2 + u(v/2)·7
    for (const [u, v] of [
      [0.3, 0.4],
      [1, 2],
      [0, 0],
      [0.9, 1.7],
    ]) {
      const expected = u * (1 - v / 2) + 2 * (1 - u) * (v / 2) + 7 * u * (v / 2);
      expect(s.evaluate([u, v])[0]).toBeCloseTo(expected, 14);
    }
  });

  it("rejects parameters outside the domain, NaN, and control of the wrong length with named errors", () => {
    const s = randomSpline(7, 2, 3);
    expect(() => s.evaluate([0.5, 1.5])).toThrow(/point 0, coordinate 1 is 1.5, outside the domain/);
    expect(() => s.evaluate([Number.NaN, 0.5])).toThrow(ArgumentError);
    expect(() => s.evaluate([0.5])).toThrow(/#points × 2 numbers/);
    expect(() => s.derivatives([0.5, 0.5], 3)).toThrow(/order must be 0, 1 or 2/);
    expect(() => BSpline.create({ degrees: [1], knots: [[0, 0, 1, 1]], control: [1, 2, 3] })).toThrow(
      /must hold 2 rows/,
    );
    expect(() =>
      BSpline.create({ degrees: [1], knots: [[0, 0, 1, 1]], control: [1, 2, 3, 4], dim: 3 }),
    ).toThrow(/dim is 3/);
  });
});

describe("surface fast paths", () => {
  it("the bicubic and general surface value paths equal the generic derivative evaluator (order 0), any dim", () => {
    for (let seed = 0; seed < 12; seed++) {
      const rand = seededRandom(500 + seed);
      const degrees = seed < 6 ? [3, 3] : [1 + (seed % 4), 1 + ((seed + 1) % 4)];
      // uniform knots (every third seed) exercise the closed-form uniform-span path of the bicubic kernel
      const knots = degrees.map((p) =>
        seed % 3 === 0
          ? uniformKnotVector(p, 3 + seed, -1, 2)
          : randomOpenKnots(rand, p, 1 + Math.floor(rand() * 6)),
      );
      const size = knots.reduce((a, U, k) => a * (U.length - degrees[k] - 1), 1);
      const dim = 1 + (seed % 4);
      const spline = BSpline.create({ degrees, knots, control: randomArray(rand, size * dim) });
      const params = randomParams(rand, 500, spline.basis.lower, spline.basis.upper);
      const [lo0, lo1] = spline.basis.lower;
      const [hi0, hi1] = spline.basis.upper;
      params.set([lo0, lo1, hi0, hi1, hi0, lo1, lo0, hi1], 0); // corners, including the right ends
      const fast = spline.evaluate(params);
      const generic = spline.derivatives(params, 0);
      for (let i = 0; i < fast.length; i++) expect(Math.abs(fast[i] - generic[i])).toBeLessThan(1e-14);
    }
  });
});
