import { describe, expect, it } from "vitest";
import { compile } from "../../hierarchy/plan.js";
import { elementOrder, permuteRows } from "../../kernels/cpu/elementOrder.js";
import { locatePoints } from "../../kernels/cpu/planEvaluate.js";
import { randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

describe("points grouped by element", () => {
  const plan = compile(
    buildHierarchy({ dimension: 2, degree: 2, truncated: true, m: 2, seed: 21, steps: 3, nonUniform: true }),
  );
  const count = 5000;
  const params = randomParams(seededRandom(21), count, [0, 0], [1, 1]);

  it("gives each element its own points, every point once, in their original order within an element", () => {
    const { pointStart, order, stored } = elementOrder(plan, params);
    expect(stored).toBe(false);
    expect(pointStart[0]).toBe(0);
    expect(pointStart[plan.elementCount]).toBe(count);
    expect(Array.from(order).sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    const elements = locatePoints(plan, params);
    for (let e = 0; e < plan.elementCount; e++) {
      for (let s = pointStart[e]; s < pointStart[e + 1]; s++) {
        expect(elements[order[s]]).toBe(e);
        if (s > pointStart[e]) expect(order[s]).toBeGreaterThan(order[s - 1]);
      }
    }
  });

  it("recognises points already stored in element order, and permuteRows carries companion rows along", () => {
    const { order } = elementOrder(plan, params);
    const storedParams = permuteRows(params, order, 2);
    for (let s = 0; s < count; s++) {
      expect(storedParams[2 * s]).toBe(params[2 * order[s]]);
      expect(storedParams[2 * s + 1]).toBe(params[2 * order[s] + 1]);
    }
    const again = elementOrder(plan, storedParams);
    expect(again.stored).toBe(true);
    expect(Array.from(again.order)).toEqual(Array.from({ length: count }, (_, i) => i));
    const rows = Float32Array.from({ length: 3 * count }, (_, t) => t);
    const moved = permuteRows(rows, order, 3);
    expect(moved).toBeInstanceOf(Float32Array);
    expect(Array.from(moved.subarray(0, 3))).toEqual([3 * order[0], 3 * order[0] + 1, 3 * order[0] + 2]);
  });
});
