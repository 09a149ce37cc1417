/** Dörfler marking for registration: the bulk criterion, and the maximum-strategy guard against noise. */
import { describe, expect, it } from "vitest";
import { dorflerMarking } from "../../fitting/registration/marking.js";
import type { EvaluationPlan } from "../../hierarchy/plan.js";

/** The only part of a plan marking reads: the level of each element (all on level 0 here). */
const plan = (count: number) => ({ elementLevel: new Int32Array(count) }) as unknown as EvaluationPlan;

describe("dorflerMarking", () => {
  it("marks the fewest elements, largest first, holding the fraction of the total (brute force over subsets)", () => {
    const indicator = Float64Array.from([5, 1, 9, 3, 0, 7, 2]);
    const total = indicator.reduce((a, b) => a + b, 0);
    const marked = dorflerMarking(plan(7), indicator, 0.6, 5, 0);
    // smallest subset reaching 60 % of the total, by enumeration
    let best = 8;
    for (let mask = 0; mask < 1 << 7; mask++) {
      let sum = 0;
      let size = 0;
      for (let e = 0; e < 7; e++) {
        if (!(mask & (1 << e))) continue;
        sum += indicator[e];
        size++;
      }
      if (sum >= 0.6 * total) best = Math.min(best, size);
    }
    expect(marked.length).toBe(best);
    expect(marked).toEqual([2, 5, 0]);
  });

  it("leaves out elements below floor × the largest indicator (residual spread thinly as noise)", () => {
    // one misregistered element and twenty with a little noise each: the bulk alone would mark most of them
    const indicator = Float64Array.from({ length: 21 }, (_, e) => (e === 4 ? 10 : 1 + 0.01 * e));
    expect(dorflerMarking(plan(21), indicator, 0.7, 5, 0).length).toBeGreaterThan(10);
    expect(dorflerMarking(plan(21), indicator, 0.7, 5, 0.15)).toEqual([4]);
    expect(dorflerMarking(plan(21), indicator, 0.7, 5)).toEqual([4]); // the default guard is on
  });
});
