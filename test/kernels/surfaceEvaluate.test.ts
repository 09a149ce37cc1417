import { describe, expect, it } from "vitest";
import { compile } from "../../hierarchy/plan.js";
import { evaluateLocalField, localControl } from "../../kernels/cpu/planEvaluate.js";
import { evaluateSurfaceField } from "../../kernels/cpu/surfaceEvaluate.js";
import { maxAbsDifference, randomArray, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

describe("2D forward fast path", () => {
  it("equals the generic plan evaluator for degrees 1–3, THB and HB, any dim, boundaries and the domain's end included", () => {
    for (let seed = 1; seed <= 16; seed++) {
      const degree = 1 + (seed % 3);
      const space = buildHierarchy({
        dimension: 2,
        degree,
        truncated: seed % 4 !== 0,
        m: seed % 2 ? 2 : Number.POSITIVE_INFINITY,
        seed,
        steps: 5,
        nonUniform: seed % 3 === 0,
      });
      const plan = compile(space);
      const rand = seededRandom(seed);
      const dim = 1 + (seed % 3);
      const local = localControl(plan, randomArray(rand, space.size * dim), dim);
      const count = 2000;
      const params = new Float64Array(count * 2);
      for (let i = 0; i < params.length; i++) {
        const r = rand();
        params[i] = r < 0.1 ? 1 : r < 0.15 ? 0 : r < 0.3 ? Math.round(rand() * 64) / 64 : rand();
      }
      const fast = evaluateSurfaceField(plan, local, dim, params);
      const generic = evaluateLocalField(plan, local, dim, params, 0);
      expect(maxAbsDifference(fast, generic)).toBeLessThan(1e-13);
    }
  });
});
