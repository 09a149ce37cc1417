import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  coarsenElements,
  compile,
  levelsActingPerElement,
  refineAtPoints,
  refineElements,
} from "../../hierarchy/index.js";
import type { THBSpace } from "../../hierarchy/thbSpace.js";
import { evaluateBasis } from "../../kernels/cpu/planEvaluate.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";
import { seededRandom } from "../helpers/random.js";
import { buildHierarchy, hierarchySpecArb } from "./randomHierarchy.js";

/** Random points in the unit box, with some exactly on element boundaries and the domain's end. */
function probePoints(space: THBSpace, count: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  const d = space.dimension;
  const pts = new Float64Array(count * d);
  for (let i = 0; i < pts.length; i++) {
    const r = rand();
    pts[i] = r < 0.1 ? 1 : r < 0.2 ? Math.round(rand() * 16) / 16 : rand();
  }
  return pts;
}

/** Gauss points of every active element: unisolvent for the local polynomials, so collocation rank = dim. */
function elementGaussPoints(space: THBSpace): { points: Float64Array; weights: Float64Array } {
  const plan = compile(space);
  const d = space.dimension;
  const rules = space.degrees.map((p) => gaussLegendre(p + 1, 0, 1));
  const perElement = rules.reduce((a, r) => a * r.nodes.length, 1);
  const points = new Float64Array(plan.elementCount * perElement * d);
  const weights = new Float64Array(plan.elementCount * perElement);
  let n = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    for (let g = 0; g < perElement; g++, n++) {
      let rest = g;
      let w = 1;
      for (let k = 0; k < d; k++) {
        const i = rest % rules[k].nodes.length;
        rest = Math.floor(rest / rules[k].nodes.length);
        const lo = plan.elementBox[e * 2 * d + k];
        const hi = plan.elementBox[e * 2 * d + d + k];
        points[n * d + k] = lo + (hi - lo) * rules[k].nodes[i];
        w *= (hi - lo) * rules[k].weights[i];
      }
      weights[n] = w;
    }
  }
  return { points, weights };
}

/** Smallest pivot of the Cholesky factorisation of the Jacobi-scaled mass matrix (> 0 ⇔ independent). */
function smallestScaledPivot(space: THBSpace): number {
  const plan = compile(space);
  const n = space.size;
  const { points, weights } = elementGaussPoints(space);
  const M = new Float64Array(n * n);
  evaluateBasis(plan, points, 0).forEach((pb, i) => {
    const w = weights[i];
    for (let a = 0; a < pb.functions.length; a++) {
      for (let b = 0; b < pb.functions.length; b++) {
        M[pb.functions[a] * n + pb.functions[b]] += w * pb.values[a] * pb.values[b];
      }
    }
  });
  const scale = Float64Array.from({ length: n }, (_, i) => 1 / Math.sqrt(M[i * n + i]));
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) M[i * n + j] *= scale[i] * scale[j];
  let smallest = Number.POSITIVE_INFINITY;
  for (let k = 0; k < n; k++) {
    let pivot = M[k * n + k];
    for (let s = 0; s < k; s++) pivot -= M[k * n + s] * M[k * n + s];
    if (!(pivot > 0)) return pivot;
    smallest = Math.min(smallest, pivot);
    const root = Math.sqrt(pivot);
    M[k * n + k] = root;
    for (let i = k + 1; i < n; i++) {
      let v = M[i * n + k];
      for (let s = 0; s < k; s++) v -= M[i * n + s] * M[k * n + s];
      M[i * n + k] = v / root;
    }
  }
  return smallest;
}

for (const dimension of [2, 3] as const) {
  describe(`${dimension}D random hierarchies (fast-check over refinement sequences)`, () => {
    it("the random refinement sequences reach 10 levels (and no more)", () => {
      const levels = fc
        .sample(hierarchySpecArb(dimension), { numRuns: 30, seed: 1 })
        .map((spec) => buildHierarchy(spec).sizePerLevel.length);
      expect(Math.max(...levels)).toBe(10);
      expect(Math.min(...levels)).toBeGreaterThanOrEqual(3);
    });

    it("THB: partition of unity (values sum to 1, derivatives to 0) and non-negativity; HB: non-negativity", () => {
      fc.assert(
        fc.property(hierarchySpecArb(dimension), (spec) => {
          const space = buildHierarchy(spec);
          const plan = compile(space);
          for (const pb of evaluateBasis(plan, probePoints(space, 60, spec.seed), 1)) {
            const blocks = 1 + dimension;
            const sums = new Float64Array(blocks);
            for (let a = 0; a < pb.functions.length; a++) {
              expect(pb.values[a * blocks]).toBeGreaterThanOrEqual(-1e-14);
              for (let b = 0; b < blocks; b++) sums[b] += pb.values[a * blocks + b];
            }
            if (spec.truncated) {
              expect(Math.abs(sums[0] - 1)).toBeLessThan(1e-12);
              for (let b = 1; b < blocks; b++) expect(Math.abs(sums[b])).toBeLessThan(1e-9);
            } else {
              expect(sums[0]).toBeGreaterThanOrEqual(1 - 1e-12); // HB functions overlap: sum ≥ 1
            }
          }
        }),
        { numRuns: dimension === 2 ? 25 : 8 },
      );
    });

    it("admissible refinement of class m keeps every element under at most m acting levels", () => {
      fc.assert(
        fc.property(hierarchySpecArb(dimension), (spec) => {
          fc.pre(Number.isFinite(spec.m));
          const space = buildHierarchy(spec);
          expect(levelsActingPerElement(space)).toBeLessThanOrEqual(spec.m);
        }),
        { numRuns: dimension === 2 ? 25 : 6 },
      );
    });

    it("linear independence: the mass matrix on every element's Gauss points is positive definite", () => {
      fc.assert(
        fc.property(hierarchySpecArb(dimension), (spec) => {
          const space = buildHierarchy({ ...spec, steps: Math.min(spec.steps, dimension === 2 ? 4 : 2) });
          expect(smallestScaledPivot(space)).toBeGreaterThan(1e-10);
        }),
        { numRuns: dimension === 2 ? 15 : 4 },
      );
    });
  });
}

describe("admissibility is not automatic", () => {
  it("plain refinement (m = Infinity) of a deep corner produces elements with 3+ acting levels", () => {
    let worst = 0;
    for (let seed = 1; seed <= 10; seed++) {
      const space = buildHierarchy({
        dimension: 2,
        degree: 2,
        truncated: true,
        m: Number.POSITIVE_INFINITY,
        seed,
        steps: 5,
        nonUniform: false,
      });
      worst = Math.max(worst, levelsActingPerElement(space));
    }
    expect(worst).toBeGreaterThanOrEqual(3);
  });
});

describe("admissibility after every operation", () => {
  it("random sequences of element refinement, point refinement and coarsening keep class m at every step (2D and 3D)", () => {
    fc.assert(
      fc.property(
        fc.record({
          dimension: fc.constantFrom(2 as const, 3 as const),
          degree: fc.integer({ min: 1, max: 3 }),
          truncated: fc.boolean(),
          m: fc.constantFrom(2, 3),
          seed: fc.integer({ min: 1, max: 100000 }),
          operations: fc.array(fc.constantFrom("elements", "points", "coarsen"), {
            minLength: 3,
            maxLength: 7,
          }),
        }),
        (spec) => {
          const rand = seededRandom(spec.seed);
          let space = buildHierarchy({
            dimension: spec.dimension,
            degree: spec.dimension === 3 ? Math.min(spec.degree, 2) : spec.degree,
            truncated: spec.truncated,
            m: spec.m,
            seed: spec.seed,
            steps: 0,
            nonUniform: true,
          });
          const cell = [0, 0, 0];
          for (const operation of spec.operations) {
            const elements = space.elements;
            const pick = elements[Math.floor(rand() * elements.length)];
            space.tree.decode(pick.level, pick.key, cell);
            const request = { level: pick.level, cell: cell.slice(0, spec.dimension) };
            if (operation === "elements" && pick.level + 1 < space.maxLevels) {
              space = refineElements(space, [request], { admissibility: spec.m });
            } else if (operation === "points") {
              const point = Array.from({ length: spec.dimension }, () => rand());
              space = refineAtPoints(
                space,
                point,
                Math.min(space.maxLevels - 1, 2 + Math.floor(rand() * 3)),
                { admissibility: spec.m },
              );
            } else if (operation === "coarsen" && pick.level > 0) {
              space = coarsenElements(space, [request], { admissibility: spec.m }).space;
            }
            expect(levelsActingPerElement(space)).toBeLessThanOrEqual(spec.m);
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});
