/** Random THB hierarchies for property tests, built by sequences of admissible or plain refinements. */
import fc from "fast-check";
import { refineElementRefs } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { seededRandom } from "../helpers/random.js";

/** Parameters of a random hierarchy. */
export interface HierarchySpec {
  dimension: 2 | 3;
  degree: number;
  truncated: boolean;
  /** Admissibility class used while refining (Infinity: plain). */
  m: number;
  seed: number;
  steps: number;
  nonUniform: boolean;
}

/** A level-0 open knot vector with `cells` cells, uniform or with random interior knots. */
function baseKnots(p: number, cells: number, rand: () => number, nonUniform: boolean): Float64Array {
  if (!nonUniform) return uniformKnotVector(p, cells);
  const inner = Array.from({ length: cells - 1 }, (_, i) => (i + 1 + 0.6 * (rand() - 0.5)) / cells).sort(
    (a, b) => a - b,
  );
  return Float64Array.from([...new Array(p + 1).fill(0), ...inner, ...new Array(p + 1).fill(1)]);
}

/** Builds the space: each step refines 1–3 random active elements, preferring finer ones to reach depth. */
export function buildHierarchy(spec: HierarchySpec): THBSpace {
  const rand = seededRandom(spec.seed);
  const cells = spec.dimension === 2 ? 4 : 2;
  const knots = Array.from({ length: spec.dimension }, () =>
    baseKnots(spec.degree, cells, rand, spec.nonUniform),
  );
  let space = THBSpace.create({
    degrees: new Array(spec.dimension).fill(spec.degree),
    knots,
    truncated: spec.truncated,
    maxLevels: 10,
  });
  for (let step = 0; step < spec.steps; step++) {
    const elements = space.elements.filter((e) => e.level + 1 < space.maxLevels);
    const deepest = Math.max(...elements.map((e) => e.level));
    const pool = rand() < 0.7 ? elements.filter((e) => e.level === deepest) : elements;
    const picks = Array.from(
      { length: 1 + Math.floor(rand() * 2) },
      () => pool[Math.floor(rand() * pool.length)],
    );
    space = refineElementRefs(space, picks, spec.m);
  }
  return space;
}

/** fast-check arbitrary of hierarchy specs in 2D and 3D: 3 to 10 levels (each step may add one). */
export function hierarchySpecArb(dimension: 2 | 3): fc.Arbitrary<HierarchySpec> {
  return fc.record({
    dimension: fc.constant(dimension),
    degree: fc.integer({ min: 1, max: dimension === 2 ? 3 : 2 }),
    truncated: fc.boolean(),
    m: fc.constantFrom(2, 3, Number.POSITIVE_INFINITY),
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    steps: fc.integer({ min: 2, max: 9 }),
    nonUniform: fc.boolean(),
  });
}
