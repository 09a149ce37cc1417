import { describe, expect, it } from "vitest";
import {
  BSpline,
  dyadicRefine,
  insertKnot,
  KnotVectorError,
  refineBSpline,
  refinementMatrix,
} from "../../splines/index.js";
import {
  maxAbsDifference,
  randomArray,
  randomOpenKnots,
  randomParams,
  seededRandom,
} from "../helpers/random.js";

/** Adds `extra` random knots to U inside its domain (keeping multiplicity ≤ p). */
function randomRefinement(rand: () => number, U: Float64Array, p: number, extra: number): Float64Array {
  const added = Array.from({ length: extra }, () => 0.01 + 0.98 * rand());
  if (rand() < 0.5 && U.length > 2 * p + 2) added.push(U[p + 1]); // repeat an existing knot now and then
  const merged = [...U, ...added].sort((a, b) => a - b);
  const out: number[] = [];
  for (const x of merged) {
    let run = 0;
    for (let i = out.length - 1; i >= 0 && out[i] === x; i--) run++;
    if (x === 0 || x === 1 || run < Math.max(p, 1)) out.push(x);
  }
  return Float64Array.from(out);
}

describe("refinement matrices (Oslo algorithm)", () => {
  for (const d of [1, 2, 3]) {
    it(`refining a random ${d}-parameter spline leaves it unchanged at 1,000 random parameters (≤ 1e-13)`, () => {
      for (let seed = 0; seed < 6; seed++) {
        const rand = seededRandom(1000 * d + seed);
        const degrees = Array.from({ length: d }, (_, k) => 1 + ((seed + k) % 4));
        const knots = degrees.map((p) => randomOpenKnots(rand, p, 2 + Math.floor(rand() * 5)));
        const size = knots.reduce((a, U, k) => a * (U.length - degrees[k] - 1), 1);
        const spline = BSpline.create({ degrees, knots, control: randomArray(rand, size * 2) });
        const fine = knots.map((U, k) =>
          seed % 2 === 0 ? dyadicRefine(U) : randomRefinement(rand, U, degrees[k], 5),
        );
        const refined = refineBSpline(spline, fine);
        const params = randomParams(rand, 1000, spline.basis.lower, spline.basis.upper);
        expect(maxAbsDifference(spline.evaluate(params), refined.evaluate(params))).toBeLessThan(1e-13);
      }
    });
  }

  it("rows are convex combinations (non-negative, summing to 1)", () => {
    const rand = seededRandom(5);
    for (let p = 0; p <= 5; p++) {
      const U = randomOpenKnots(rand, p, 5);
      const T = refinementMatrix(U, randomRefinement(rand, U, p, 6), p);
      for (let r = 0; r < T.rows; r++) {
        let sum = 0;
        for (let k = T.rowStart[r]; k < T.rowStart[r + 1]; k++) {
          expect(T.values[k]).toBeGreaterThan(0);
          sum += T.values[k];
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-14);
      }
    }
  });

  it("agrees with Boehm knot insertion (A5.1), an independent algorithm", () => {
    const rand = seededRandom(6);
    for (let p = 1; p <= 5; p++) {
      const U = randomOpenKnots(rand, p, 4);
      const curve = BSpline.create({
        degrees: [p],
        knots: [U],
        control: randomArray(rand, (U.length - p - 1) * 3),
      });
      const u = 0.1 + 0.8 * rand();
      const times = 1 + Math.floor(rand() * p);
      const boehm = insertKnot(curve, u, times);
      const oslo = refineBSpline(curve, [boehm.basis.knots[0]]);
      expect(maxAbsDifference(boehm.control, oslo.control)).toBeLessThan(1e-13);
    }
  });

  it("gives the known dyadic two-scale coefficients of uniform cubic B-splines (1/8, 1/2, 3/4, 1/2, 1/8)", () => {
    const U = [-3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7]; // uniform, non-open: one interior function N_3 is fully interior
    const fine: number[] = [];
    for (let x = -3; x <= 7; x += 0.5) fine.push(x);
    const T = refinementMatrix(U, fine, 3);
    const column = Array.from({ length: T.rows }, (_, r) => T.get(r, 3)).filter((v) => v !== 0);
    expect(column).toEqual([1 / 8, 1 / 2, 3 / 4, 1 / 2, 1 / 8]);
  });

  it("rejects fine knots that miss a coarse knot", () => {
    expect(() => refinementMatrix([0, 0, 0.5, 1, 1], [0, 0, 0.25, 1, 1], 1)).toThrow(KnotVectorError);
    expect(() => refinementMatrix([0, 0, 0.5, 1, 1], [0, 0, 0.5, 1, 1, 1], 1)).toThrow(KnotVectorError);
  });
});
