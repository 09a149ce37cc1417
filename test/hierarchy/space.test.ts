import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import {
  coarsenElements,
  compile,
  HierarchyError,
  levelsActingPerElement,
  refineAtPoints,
  refineBoxes,
  refineElements,
  THBSpace,
} from "../../hierarchy/index.js";
import { evaluateBasis, localControl } from "../../kernels/cpu/planEvaluate.js";
import { BSpline } from "../../splines/bspline.js";
import { refineAlongDirection } from "../../splines/knotInsertion.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { TensorBasis } from "../../splines/tensorBasis.js";
import { maxAbsDifference, randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy, hierarchySpecArb } from "./randomHierarchy.js";

const U4 = uniformKnotVector(2, 4);
const biquadratic = () => THBSpace.create({ degrees: [2, 2], knots: [U4, U4] });

describe("known hierarchies (p = 2, 4×4 level-0 elements on [0,1]²)", () => {
  it("box [1, 2,0, 8,4] gives 30 level-0 + 24 level-1 = 54 functions", () => {
    const space = refineBoxes(biquadratic(), [[1, 2, 0, 8, 4]]);
    expect(space.sizePerLevel).toEqual([30, 24]);
    expect(space.size).toBe(54);
  });

  it("adding box [2, 2,4, 6,10] gives 30 / 32 / 8 = 70", () => {
    const space = refineBoxes(biquadratic(), [
      [1, 2, 0, 8, 4],
      [2, 2, 4, 6, 10],
    ]);
    expect(space.sizePerLevel).toEqual([30, 32, 8]);
    expect(space.size).toBe(70);
  });

  it("at (0.95, 0.05) after the first box the nine non-zero values are the published ones", () => {
    const space = refineBoxes(biquadratic(), [[1, 2, 0, 8, 4]]);
    const [pb] = evaluateBasis(compile(space), [0.95, 0.05], 0);
    const expected = [0.0288, 0.2016, 0.1296, 0.0448, 0.3136, 0.2016, 0.0064, 0.0448, 0.0288];
    expect(pb.values.length).toBe(9);
    for (let i = 0; i < 9; i++) expect(pb.values[i]).toBeCloseTo(expected[i], 12);
  });

  it("a level-L box rounds outward on every level: [1, 2,2, 7,7] refines level-1 cells [2,8)²", () => {
    const space = refineBoxes(biquadratic(), [[1, 2, 2, 7, 7]]);
    const level1 = space.elements.filter((e) => e.level === 1);
    expect(level1.length).toBe(36);
    const cell = [0, 0];
    for (const e of level1) {
      space.tree.decode(1, e.key, cell);
      expect(cell[0] >= 2 && cell[0] < 8 && cell[1] >= 2 && cell[1] < 8).toBe(true);
    }
  });
});

/**
 * The truncated (or HB) basis built globally, independently of per-element extraction: each active function
 * is carried to the finest level through the global refinement matrices, truncated level by level, and
 * evaluated as a tensor B-spline. Returns `#points by #functions`.
 */
function directBasis(space: THBSpace, points: Float64Array): Float64Array {
  const d = space.dimension;
  const L = space.levelCount;
  const n = space.size;
  const count = points.length / d;
  const out = new Float64Array(count * n);
  const finest = new TensorBasis(
    space.degrees,
    space.directions.map((dir) => dir.level(L - 1).knots),
  );
  const offsets = space.levelOffsets;
  for (let l = 0; l < L; l++) {
    const active = space.activeFunctions(l);
    for (let i = 0; i < active.length; i++) {
      const sizes = space.functionsPerDirection(l);
      let c = new Float64Array(sizes.reduce((a, b) => a * b, 1));
      c[active[i]] = 1;
      for (let k = l + 1; k < L; k++) {
        for (let dir = 0; dir < d; dir++) {
          const T = space.directions[dir].refinement(k);
          c = refineAlongDirection(T, c, sizes, 1, dir) as Float64Array<ArrayBuffer>;
          sizes[dir] = T.rows;
        }
        if (space.truncated) {
          for (let j = 0; j < c.length; j++) if (c[j] !== 0 && space.supportInDomain(k, j)) c[j] = 0;
        }
      }
      const values = new BSpline(finest, c).evaluate(points);
      for (let p = 0; p < count; p++) out[p * n + offsets[l] + i] = values[p];
    }
  }
  return out;
}

describe("extraction", () => {
  it("extraction-based evaluation equals the directly built truncated (THB) and plain (HB) bases", () => {
    fc.assert(
      fc.property(hierarchySpecArb(2), (spec) => {
        const space = buildHierarchy({ ...spec, steps: Math.min(spec.steps, 4) });
        const points = randomParams(seededRandom(spec.seed), 40, [0, 0], [1, 1]);
        const direct = directBasis(space, points);
        const viaPlan = new Float64Array(direct.length);
        evaluateBasis(compile(space), points, 0).forEach((pb, p) => {
          pb.functions.forEach((f, a) => {
            viaPlan[p * space.size + f] = pb.values[a];
          });
        });
        expect(maxAbsDifference(direct, viaPlan)).toBeLessThan(1e-13);
      }),
      { numRuns: 20 },
    );
  });

  it("in 3D as well", () => {
    for (let seed = 1; seed <= 3; seed++) {
      const space = buildHierarchy({
        dimension: 3,
        degree: 1 + (seed % 2),
        truncated: seed !== 2,
        m: 2,
        seed,
        steps: 2,
        nonUniform: seed === 3,
      });
      const points = randomParams(seededRandom(seed), 20, [0, 0, 0], [1, 1, 1]);
      const direct = directBasis(space, points);
      const viaPlan = new Float64Array(direct.length);
      evaluateBasis(compile(space), points, 0).forEach((pb, p) => {
        pb.functions.forEach((f, a) => {
          viaPlan[p * space.size + f] = pb.values[a];
        });
      });
      expect(maxAbsDifference(direct, viaPlan)).toBeLessThan(1e-13);
    }
  });

  it("first and second derivatives of the basis match finite differences", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 9,
      steps: 4,
      nonUniform: true,
    });
    const plan = compile(space);
    const rand = seededRandom(3);
    const h = 1e-6;
    for (let t = 0; t < 30; t++) {
      const x = [0.05 + 0.9 * rand(), 0.05 + 0.9 * rand()];
      const [pb] = evaluateBasis(plan, x, 2);
      for (let k = 0; k < 2; k++) {
        const xp = x.slice();
        const xm = x.slice();
        xp[k] += h;
        xm[k] -= h;
        const [bp] = evaluateBasis(plan, xp, 1);
        const [bm] = evaluateBasis(plan, xm, 1);
        // skip when x ± h crosses an element boundary (the functions are only C² inside elements)
        if (bp.element !== pb.element || bm.element !== pb.element) continue;
        pb.functions.forEach((_, a) => {
          const fd1 = (bp.values[a * 3] - bm.values[a * 3]) / (2 * h);
          expect(Math.abs(fd1 - pb.values[a * 6 + 1 + k])).toBeLessThan(1e-6);
          const fd2 = (bp.values[a * 3 + 1 + k] - bm.values[a * 3 + 1 + k]) / (2 * h);
          expect(Math.abs(fd2 - pb.values[a * 6 + 3 + k])).toBeLessThan(1e-4 * (1 + Math.abs(fd2)));
          // mixed: ∂/∂v of ∂/∂u when k = 1
          if (k === 1) {
            const fdMixed = (bp.values[a * 3 + 1] - bm.values[a * 3 + 1]) / (2 * h);
            expect(Math.abs(fdMixed - pb.values[a * 6 + 5])).toBeLessThan(1e-4 * (1 + Math.abs(fdMixed)));
          }
        });
      }
    }
  });
});

describe("THB fields", () => {
  it("exact nesting: refining (elements, boxes, points) never changes the field (≤ 1e-12 at random points)", () => {
    fc.assert(
      fc.property(hierarchySpecArb(2), fc.integer({ min: 1, max: 3 }), (spec, dim) => {
        const rand = seededRandom(spec.seed + 7);
        const space = buildHierarchy({ ...spec, steps: Math.min(spec.steps, 3) });
        const field = new THBField(space, randomArray(rand, space.size * dim), dim);
        const points = randomParams(rand, 300, [0, 0], [1, 1]);
        const before = field.evaluate(points, 1);
        const e = space.elements[Math.floor(rand() * space.elements.length)];
        const cell = [0, 0];
        space.tree.decode(e.level, e.key, cell);
        const refined = field
          .refineElements([{ level: e.level, cell }], { admissibility: Number.isFinite(spec.m) ? spec.m : 2 })
          .refineBoxes([[2, 0, 0, 3, 5]])
          .refineAtPoints([rand(), rand()], Math.min(4, space.maxLevels - 1));
        expect(refined.space.size).toBeGreaterThan(space.size);
        expect(maxAbsDifference(before, refined.evaluate(points, 1))).toBeLessThan(1e-12);
      }),
      { numRuns: 20 },
    );
  });

  it("refinement and control-row edits update only some local control points, bit-identical to recomputing all", () => {
    const same = (a: Float64Array, b: Float64Array) =>
      a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
    fc.assert(
      fc.property(hierarchySpecArb(2), fc.integer({ min: 1, max: 3 }), (spec, dim) => {
        const rand = seededRandom(spec.seed + 11);
        const space = buildHierarchy({ ...spec, steps: Math.min(spec.steps, 3) });
        const field = new THBField(space, randomArray(rand, space.size * dim), dim);
        const e = space.elements[Math.floor(rand() * space.elements.length)];
        const cell = [0, 0];
        space.tree.decode(e.level, e.key, cell);
        const refined = field.refineElements([{ level: e.level, cell }], { admissibility: 2 });
        expect(same(refined.localControl, localControl(refined.plan, refined.control, dim))).toBe(true);
        // THB keeps the control point of every function active before and after (coefficient preservation)
        if (space.truncated) {
          for (let f = 0; f < space.size; f++) {
            const l = space.levelOf(f);
            const id = refined.space.functionId(l, space.flatIndexOf(f));
            if (id !== undefined)
              expect(Array.from(refined.control.subarray(id * dim, (id + 1) * dim))).toEqual(
                Array.from(field.control.subarray(f * dim, (f + 1) * dim)),
              );
          }
        }
        const ids = [Math.floor(rand() * refined.space.size), Math.floor(rand() * refined.space.size)];
        const rows = randomArray(rand, 2 * dim);
        const edited = refined.withControlRows(ids, rows);
        expect(edited.plan).toBe(refined.plan); // no recompilation
        const control = Float64Array.from(refined.control);
        ids.forEach((id, i) => {
          control.set(rows.subarray(i * dim, (i + 1) * dim), id * dim);
        });
        expect(same(edited.control, control)).toBe(true);
        expect(same(edited.localControl, localControl(refined.plan, control, dim))).toBe(true);
        // a second refinement, from the plan compiled incrementally (its rows in a shared pool)
        const f = edited.space.elements[Math.floor(rand() * edited.space.elements.length)];
        edited.space.tree.decode(f.level, f.key, cell);
        const twice = edited.refineElements([{ level: f.level, cell }], { admissibility: 2 });
        expect(same(twice.localControl, localControl(twice.plan, twice.control, dim))).toBe(true);
        const scratch = new THBField(twice.space.withTree(twice.space.tree.clone()), twice.control, dim);
        expect(same(twice.localControl, scratch.localControl)).toBe(true);
      }),
      { numRuns: 25, seed: 515 },
    );
  });

  it("exact nesting in 3D", () => {
    const space = buildHierarchy({
      dimension: 3,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 4,
      steps: 2,
      nonUniform: true,
    });
    const rand = seededRandom(1);
    const field = new THBField(space, randomArray(rand, space.size * 2), 2);
    const points = randomParams(rand, 200, [0, 0, 0], [1, 1, 1]);
    const refined = field.refineAtPoints([0.3, 0.6, 0.2], 4);
    expect(maxAbsDifference(field.evaluate(points, 2), refined.evaluate(points, 2))).toBeLessThan(1e-12);
  });

  it("coarsening undoes a refinement and projects a field that lies in the coarse space exactly", () => {
    const coarse = refineBoxes(biquadratic(), [[1, 0, 0, 4, 4]]);
    const rand = seededRandom(5);
    const field = new THBField(coarse, randomArray(rand, coarse.size * 3), 3);
    const fine = field.refineElements([{ level: 1, cell: [1, 1] }], { admissibility: 2 });
    const child = fine.space.elements.find((e) => e.level === 2)!;
    const cell = [0, 0];
    fine.space.tree.decode(2, child.key, cell);
    const { field: back, coarsened } = fine.coarsen([{ level: 2, cell }]);
    expect(coarsened).toBe(1);
    expect(back.space.size).toBe(coarse.size);
    const points = randomParams(rand, 200, [0, 0], [1, 1]);
    expect(maxAbsDifference(back.evaluate(points), field.evaluate(points))).toBeLessThan(1e-10);
  });

  it("elements on the finest allowed level can be coarsened (only refinement needs a finer level)", () => {
    let space = THBSpace.create({
      degrees: [2, 2],
      knots: [uniformKnotVector(2, 4), uniformKnotVector(2, 4)],
      maxLevels: 2,
    });
    space = refineElements(space, [{ level: 0, cell: [1, 1] }]);
    const finest = space.elements.find((e) => e.level === 1)!;
    const cell = [0, 0];
    space.tree.decode(1, finest.key, cell);
    expect(() => refineElements(space, [{ level: 1, cell }])).toThrow(/finest allowed level 1/);
    const result = coarsenElements(space, [{ level: 1, cell }], { admissibility: 2 });
    expect(result.coarsened).toBe(1);
    expect(result.space.elements.every((e) => e.level === 0)).toBe(true);
  });

  it("coarsening skips merges that would break admissibility", () => {
    let space = biquadratic();
    space = refineElements(space, [{ level: 0, cell: [1, 1] }]);
    space = refineElements(space, [{ level: 1, cell: [2, 2] }]);
    space = refineElements(space, [{ level: 2, cell: [4, 4] }]);
    expect(levelsActingPerElement(space)).toBeLessThanOrEqual(2);
    // merging level-1 cells back while level 3 is present nearby would put 3 levels on some element
    const level1 = space.elements.filter((e) => e.level === 1);
    const requests = level1.map((e) => {
      const cell = [0, 0];
      space.tree.decode(1, e.key, cell);
      return { level: 1, cell };
    });
    const result = coarsenElements(space, requests, { admissibility: 2 });
    expect(levelsActingPerElement(result.space)).toBeLessThanOrEqual(2);
    expect(result.skipped).toBeGreaterThan(0);
  });
});

describe("bad input", () => {
  it("rejects boxes outside the domain, beyond the level limit, of the wrong length, or with NaN — and applies none", () => {
    const space = biquadratic();
    expect(() => refineBoxes(space, [[1, 0, 0, 9, 4]])).toThrow(
      /direction 0 range \[0, 9\) must satisfy 0 ≤ lo < hi ≤ 8/,
    );
    expect(() =>
      refineBoxes(space, [
        [1, 2, 0, 8, 4],
        [20, 0, 0, 1, 1],
      ]),
    ).toThrow(/level 20 is outside/);
    expect(() => refineBoxes(space, [[1, 0, 0, 4]])).toThrow(/must be \[level, 2 lows, 2 highs\]/);
    expect(() => refineBoxes(space, [[1, Number.NaN, 0, 4, 4]])).toThrow(HierarchyError);
    expect(space.size).toBe(36); // untouched
  });

  it("rejects non-active elements, wrong dimensions, bad degrees, NaN points and bad admissibility classes", () => {
    const space = refineBoxes(biquadratic(), [[1, 0, 0, 2, 2]]);
    expect(() => refineElements(space, [{ level: 0, cell: [0, 0] }])).toThrow(/is not an active element/);
    expect(() => refineElements(space, [{ level: 0, cell: [0] }])).toThrow(/cell: \[2 integers\]/);
    expect(() => refineElements(space, [{ level: 0, cell: [1, 1] }], { admissibility: 1 })).toThrow(
      /admissibility class/,
    );
    expect(() => refineAtPoints(space, [0.5, Number.NaN], 2)).toThrow(/coordinate 1 is NaN/);
    expect(() => THBSpace.create({ degrees: [2], knots: [U4] })).toThrow(/2 or 3 degrees/);
    expect(() => THBSpace.create({ degrees: [2, 7], knots: [U4, U4] })).toThrow(
      /degrees\[1\] must be an integer from 1 to 5/,
    );
    expect(() => THBSpace.create({ degrees: [2, 2], knots: [U4, [0, 0.5, 1]] })).toThrow(/knots\[1\]/);
    const deep = THBSpace.create({
      degrees: [1, 1],
      knots: [
        [0, 0, 1, 1],
        [0, 0, 1, 1],
      ],
      maxLevels: 2,
    });
    expect(() => refineAtPoints(deep, [0.5, 0.5], 2)).toThrow(/targetLevel must be an integer in 0 … 1/);
    expect(() => new THBField(space, [1, 2, 3], 1)).toThrow(/control must hold/);
  });
});
