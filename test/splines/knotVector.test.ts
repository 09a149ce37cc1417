import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  breakpoints,
  DegreeError,
  dyadicRefine,
  findSpan,
  grevilleAbscissae,
  KnotVectorError,
  SpanLocator,
  uniformKnotVector,
  validateKnotVector,
} from "../../splines/index.js";

/** Span by linear scan: the reference for the binary search and the bucket locator. */
function spanByScan(U: ArrayLike<number>, p: number, u: number): number {
  const n = U.length - p - 1;
  let s = -1;
  for (let i = p; i < n; i++) if (U[i] <= u && U[i] < U[i + 1]) s = i;
  return s;
}

const knotVectorArb = fc
  .record({
    p: fc.integer({ min: 0, max: 5 }),
    inner: fc.array(fc.integer({ min: 1, max: 19 }), { maxLength: 12 }),
  })
  .map(({ p, inner }) => {
    const sorted = inner.map((x) => x / 20).sort((a, b) => a - b);
    const capped: number[] = [];
    for (const x of sorted) {
      let run = 0;
      for (let i = capped.length - 1; i >= 0 && capped[i] === x; i--) run++;
      if (run < p + 1) capped.push(x);
    }
    return { p, U: [...new Array(p + 1).fill(0), ...capped, ...new Array(p + 1).fill(1)] };
  });

describe("knot vector validation", () => {
  it("accepts open knot vectors built from any sorted interior knots with multiplicity ≤ p+1", () => {
    fc.assert(
      fc.property(knotVectorArb, ({ p, U }) => {
        expect(validateKnotVector(U, p, { open: true })).toEqual(Float64Array.from(U));
      }),
    );
  });

  it("rejects decreasing, non-finite, too short and over-repeated knots with a KnotVectorError naming the argument", () => {
    expect(() => validateKnotVector([0, 0, 1, 0.5, 1, 1], 1, { name: "U" })).toThrow(
      /U must be non-decreasing/,
    );
    expect(() => validateKnotVector([0, 0, Number.NaN, 1, 1], 1)).toThrow(KnotVectorError);
    expect(() => validateKnotVector([0, 0, 1], 1)).toThrow(/at least 4 knots/);
    expect(() => validateKnotVector([0, 0, 0, 0, 1, 1], 1)).toThrow(
      /repeats more than degree \+ 1 = 2 times/,
    );
    expect(() => validateKnotVector([0, 1, 1, 2], 1)).toThrow(/empty domain/);
    expect(() => validateKnotVector([0, 0.5, 1, 1], 1, { open: true })).toThrow(/must be open/);
    expect(() => validateKnotVector([0, 1], 1.5)).toThrow(DegreeError);
  });

  it("rejects knots whose length overflows (every basis value came out 0 on [-1e308, 1e308])", () => {
    expect(() => validateKnotVector([-1e308, -1e308, 1e308, 1e308], 1, { name: "U" })).toThrow(
      /U spans \[-1e\+308, 1e\+308\], whose length Infinity overflows/,
    );
    expect(() => validateKnotVector([-1e308, -1e308, 0, 1e308, 1e308], 1)).toThrow(KnotVectorError);
    // the largest extent that still fits is accepted
    expect(validateKnotVector([-8e307, -8e307, 8e307, 8e307], 1)[3]).toBe(8e307);
  });

  it("property: any vector with a decrease is rejected", () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 6, maxLength: 20 }),
        (xs) => {
          const sorted = [...xs].sort((a, b) => a - b);
          const i = sorted.findIndex((x, k) => k > 0 && x > sorted[k - 1]);
          fc.pre(i > 0);
          const broken = [...sorted];
          [broken[i - 1], broken[i]] = [broken[i], broken[i - 1]];
          expect(() => validateKnotVector(broken, 1)).toThrow(KnotVectorError);
        },
      ),
    );
  });
});

describe("span search", () => {
  it("property: findSpan and SpanLocator agree with a linear scan, including at knots and both ends", () => {
    fc.assert(
      fc.property(
        knotVectorArb,
        fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 30 }),
        (kv, us) => {
          const U = Float64Array.from(kv.U);
          const locator = new SpanLocator(U, kv.p);
          const probes = [...us, ...kv.U, 0, 1];
          for (const u of probes) {
            const expected = spanByScan(U, kv.p, u);
            const s = findSpan(U, kv.p, u);
            expect(s).toBe(expected);
            expect(locator.find(u)).toBe(s);
            expect(U[s]).toBeLessThan(U[s + 1]);
            expect(U[s] <= u && (u < U[s + 1] || u === 1)).toBe(true);
          }
        },
      ),
    );
  });

  it("puts the right end of the domain in the last non-empty span", () => {
    const U = [0, 0, 0, 0.5, 1, 1, 1];
    expect(findSpan(U, 2, 1)).toBe(3);
    expect(findSpan(U, 2, 0)).toBe(2);
  });
});

describe("knot utilities", () => {
  it("breakpoints lists distinct domain knots with multiplicities", () => {
    const { values, multiplicities } = breakpoints([0, 0, 0, 0.3, 0.3, 0.7, 1, 1, 1], 2);
    expect(Array.from(values)).toEqual([0, 0.3, 0.7, 1]);
    expect(Array.from(multiplicities)).toEqual([3, 2, 1, 3]);
  });

  it("dyadic refinement halves every non-empty span once and keeps multiplicities", () => {
    expect(Array.from(dyadicRefine([0, 0, 0, 0.5, 0.5, 1, 1, 1]))).toEqual([
      0, 0, 0, 0.25, 0.5, 0.5, 0.75, 1, 1, 1,
    ]);
  });

  it("uniform knot vectors are open with equal spans", () => {
    expect(Array.from(uniformKnotVector(2, 4, 0, 2))).toEqual([0, 0, 0, 0.5, 1, 1.5, 2, 2, 2]);
  });

  it("Greville abscissae are the knot averages", () => {
    expect(Array.from(grevilleAbscissae([0, 0, 0, 0.5, 1, 1, 1], 2))).toEqual([0, 0.25, 0.75, 1]);
  });
});
