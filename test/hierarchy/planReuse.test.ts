/**
 * compile(space, previous) reuses the extraction rows a refinement or coarsening cannot reach: the plan must
 * be the full compile's, array for array and bit for bit, over random sequences of changes in 2D and 3D, THB
 * and HB, degrees 1–3, uniform and non-uniform knots.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, type EvaluationPlan } from "../../hierarchy/plan.js";
import { planReuse } from "../../hierarchy/planReuse.js";
import { coarsenElements, refineElementRefs } from "../../hierarchy/refinement.js";
import type { THBSpace } from "../../hierarchy/thbSpace.js";
import { seededRandom } from "../helpers/random.js";
import { buildHierarchy, hierarchySpecArb } from "./randomHierarchy.js";

/** The first index where two arrays differ bitwise (Object.is tells −0 from 0), or the shorter length. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? undefined : Math.min(a.length, b.length);
}

function expectSamePlan(actual: EvaluationPlan, expected: EvaluationPlan): void {
  for (const [name, value] of Object.entries(expected)) {
    const other = (actual as unknown as Record<string, unknown>)[name];
    if (ArrayBuffer.isView(value)) {
      expect(Object.getPrototypeOf(other), name).toBe(Object.getPrototypeOf(value));
      expect(firstDifference(other as ArrayLike<number>, value as unknown as ArrayLike<number>), name).toBe(
        undefined,
      );
    } else expect(other, name).toEqual(value);
  }
}

/** One random change: refine 1–3 active elements (admissibly or not), or coarsen one. */
function change(space: THBSpace, rand: () => number, m: number): THBSpace {
  const elements = space.elements;
  if (rand() < 0.25) {
    const coarsenable = elements.filter((e) => e.level > 0);
    if (coarsenable.length > 0) {
      const pick = coarsenable[Math.floor(rand() * coarsenable.length)];
      const cell = [0, 0, 0].slice(0, space.dimension);
      space.tree.decode(pick.level, pick.key, cell);
      const result = coarsenElements(space, [{ level: pick.level, cell }], { admissibility: m });
      if (result.coarsened > 0) return result.space;
    }
  }
  const pool = elements.filter((e) => e.level + 1 < space.maxLevels);
  const picks = Array.from(
    { length: 1 + Math.floor(rand() * 3) },
    () => pool[Math.floor(rand() * pool.length)],
  );
  return refineElementRefs(space, picks, m);
}

describe("compile reusing the previous plan", () => {
  for (const dimension of [2, 3] as const) {
    it(`equals the full compile after random refinements and coarsenings (${dimension}D)`, () => {
      fc.assert(
        fc.property(hierarchySpecArb(dimension), fc.integer({ min: 1, max: 1e6 }), (spec, seed) => {
          let space = buildHierarchy(spec);
          let plan = compile(space);
          const rand = seededRandom(seed);
          for (let step = 0; step < 4; step++) {
            const next = change(space, rand, spec.m);
            const reused = compile(next, { space, plan });
            // the reference: a space with the same tree built from scratch (no tables carried over)
            const scratch = next.withTree(next.tree.clone());
            const levels = (s: THBSpace) => s.elements.map((e) => e.level);
            const keys = (s: THBSpace) => s.elements.map((e) => e.key);
            expect(firstDifference(levels(next), levels(scratch)), "element levels").toBe(undefined);
            expect(firstDifference(keys(next), keys(scratch)), "element keys").toBe(undefined);
            expect(next.sizePerLevel).toEqual(scratch.sizePerLevel);
            for (let l = 0; l < next.levelCount; l++)
              expect(firstDifference(next.activeFunctions(l), scratch.activeFunctions(l)), `level ${l}`).toBe(
                undefined,
              );
            expectSamePlan(reused, compile(scratch));
            space = next;
            plan = reused;
          }
        }),
        { seed: 4242, numRuns: dimension === 2 ? 40 : 8 },
      );
    }, 300_000); // 3D hierarchies extract slowly on a loaded 2-core machine
  }

  it("reuses most elements after a local refinement (the point of it), and none across unrelated spaces", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 9,
      steps: 4,
      nonUniform: false,
    });
    const plan = compile(space);
    const element = space.elements[space.elements.length - 1];
    const next = refineElementRefs(space, [element], 2);
    const reuse = planReuse(next, { space, plan });
    expect(reuse).toBeDefined();
    const reused = reuse!.oldElement.filter((o) => o >= 0).length;
    expect(reused).toBeGreaterThan(0.3 * next.elements.length);
    expect(reused).toBeLessThan(next.elements.length);
    const other = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 9,
      steps: 4,
      nonUniform: false,
    });
    expect(planReuse(other, { space, plan })).toBeUndefined();
  });
});
