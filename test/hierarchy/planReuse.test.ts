/**
 * compile(space, previous) reuses the extraction rows a refinement or coarsening cannot reach: the plan must
 * be the full compile's, array for array and bit for bit, over random sequences of changes in 2D and 3D, THB
 * and HB, degrees 1–3, uniform and non-uniform knots.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { compile, type EvaluationPlan, extractionRows } from "../../hierarchy/plan.js";
import { planReuse } from "../../hierarchy/planReuse.js";
import { coarsenElements, refineElementRefs } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { seededRandom } from "../helpers/random.js";
import { buildHierarchy, hierarchySpecArb } from "./randomHierarchy.js";

/** The first index where two arrays differ bitwise (Object.is tells −0 from 0), or the shorter length. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return a.length === b.length ? undefined : Math.min(a.length, b.length);
}

function expectSamePlan(actual: EvaluationPlan, expected: EvaluationPlan): void {
  // the dense coefficients are an accessor of the plan's class, not an own entry
  const entries: [string, unknown][] = [
    ...Object.entries(expected),
    ["extractionCoefficients", expected.extractionCoefficients],
  ];
  for (const [name, value] of entries) {
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

  it("plans refined from one parent share its row pool without writing over each other's rows", () => {
    fc.assert(
      fc.property(hierarchySpecArb(2), fc.integer({ min: 1, max: 1e6 }), (spec, seed) => {
        const rand = seededRandom(seed);
        const root = buildHierarchy(spec);
        // a pooled parent (compiled from a previous plan), then siblings from it, each with children
        const parentSpace = change(root, rand, spec.m);
        const parent = compile(parentSpace, { space: root, plan: compile(root) });
        const family: { space: THBSpace; plan: EvaluationPlan }[] = [{ space: parentSpace, plan: parent }];
        for (let k = 0; k < 3; k++) {
          const space = change(parentSpace, rand, spec.m);
          const plan = compile(space, { space: parentSpace, plan: parent });
          family.push({ space, plan });
          const child = change(space, rand, spec.m);
          family.push({ space: child, plan: compile(child, { space, plan }) });
        }
        // all compiled before any is checked: a sibling's appended rows must not have replaced another's
        for (const { space, plan } of family) {
          expectSamePlan(plan, compile(space.withTree(space.tree.clone())));
          const { values, rowStart } = extractionRows(plan);
          const B = plan.localSize;
          for (let e = 0; e < plan.elementCount; e++) {
            for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) {
              const at = (rowStart[e] + r - plan.extractionStart[e]) * B;
              expect(
                firstDifference(
                  values.subarray(at, at + B),
                  plan.extractionCoefficients.subarray(r * B, (r + 1) * B),
                ),
              ).toBe(undefined);
            }
          }
        }
      }),
      { seed: 77, numRuns: 15 },
    );
  }, 300_000);

  it("plans refined again and again from one dense plan append to one pool, a new one when it is full", () => {
    // what a viewer does: refine the loaded surface (compiled from scratch), undo, refine it elsewhere, …
    const knots = uniformKnotVector(3, 16);
    const space = THBSpace.create({ degrees: [3, 3], knots: [knots, knots] });
    const plan = compile(space);
    const dense = Float64Array.from(plan.extractionCoefficients);
    const rand = seededRandom(5);
    const children: { space: THBSpace; plan: EvaluationPlan }[] = [];
    for (let k = 0; k < 40; k++) {
      const child = refineElementRefs(space, [space.elements[Math.floor(rand() * space.elements.length)]], 2);
      children.push({ space: child, plan: compile(child, { space, plan }) });
    }
    // the first two share one pool (the parent's, made once), and so do most of the others: each pool
    // change is a full pool replaced for the parent, after several children filled it
    const pools = new Set(children.map((c) => extractionRows(c.plan).values));
    expect(extractionRows(children[1].plan).values).toBe(extractionRows(children[0].plan).values);
    expect(pools.size).toBeGreaterThan(1);
    expect(pools.size).toBeLessThan(children.length / 3);
    // all compiled before any is checked: no child's rows were written over by a later one
    for (const child of children)
      expectSamePlan(child.plan, compile(child.space.withTree(child.space.tree.clone())));
    expect(firstDifference(plan.extractionCoefficients, dense)).toBe(undefined);
    expect(extractionRows(plan).rowStart).toEqual(plan.extractionStart);
  });

  it("a local refinement of a pooled plan appends only its new rows to the shared pool", () => {
    // 16 × 16 bicubic cells: a refinement in one corner, then one in the opposite corner
    const knots = uniformKnotVector(3, 16);
    const space = THBSpace.create({ degrees: [3, 3], knots: [knots, knots] });
    const first = refineElementRefs(space, [space.elements[0]], 2);
    const plan = compile(first, { space, plan: compile(space) });
    const element = first.elements[first.elements.length - 1]; // the last level-0 cell: the far corner
    const next = refineElementRefs(first, [element], 2);
    const reuse = planReuse(next, { space: first, plan })!;
    const nextPlan = compile(next, { space: first, plan });
    const before = extractionRows(plan);
    const after = extractionRows(nextPlan);
    expect(after.values).toBe(before.values); // the same pool: kept rows were not copied
    let keptRows = 0;
    for (let e = 0; e < nextPlan.elementCount; e++) {
      const o = reuse.oldElement[e];
      if (o < 0) continue;
      keptRows += nextPlan.extractionStart[e + 1] - nextPlan.extractionStart[e];
      expect(after.rowStart[e]).toBe(before.rowStart[o]);
    }
    expect(keptRows).toBeGreaterThan(0.3 * nextPlan.extractionStart[nextPlan.elementCount]);
  });
});
