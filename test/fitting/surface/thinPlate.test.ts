/**
 * The thin-plate term of the normal equations against an independent dense reference: the quadratic form
 * cᵀ S c of the assembled smoothing matrix must equal ∫∫ S_uu² + 2 S_uv² + S_vv² of the field with
 * coefficients c, integrated by brute force — Gauss rules with one point more than the assembly's on every
 * cell of the finest level (so each cell lies inside one element and the rule is exact), through the field's
 * own second derivatives (THBField.evaluate) rather than the assembly's element extraction.
 */
import { describe, expect, it } from "vitest";
import { THBField } from "../../../fields/thbField.js";
import { assembleNormalEquations } from "../../../fitting/surface/normalEquations.js";
import { compile } from "../../../hierarchy/plan.js";
import { refineElements } from "../../../hierarchy/refinement.js";
import { THBSpace } from "../../../hierarchy/thbSpace.js";
import { gaussLegendre } from "../../../linalg/gaussLegendre.js";
import { uniformKnotVector } from "../../../splines/knotVector.js";
import { randomArray, seededRandom } from "../../helpers/random.js";

/** ∫∫ over [0, 1]² of the thin-plate energy density of `field`, on `cells`² squares with `n`-point Gauss rules. */
function bruteForceEnergy(field: THBField, cells: number, n: number): number {
  const rule = gaussLegendre(n, 0, 1);
  const params: number[] = [];
  const weights: number[] = [];
  for (let cu = 0; cu < cells; cu++) {
    for (let cv = 0; cv < cells; cv++) {
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          params.push((cu + rule.nodes[i]) / cells, (cv + rule.nodes[j]) / cells);
          weights.push((rule.weights[i] * rule.weights[j]) / (cells * cells));
        }
      }
    }
  }
  // blocks per point: value, ∂u, ∂v, ∂uu, ∂vv, ∂uv (dim 1)
  const d = field.evaluate(params, 2);
  let energy = 0;
  for (let q = 0; q < weights.length; q++) {
    const [uu, vv, uv] = [d[q * 6 + 3], d[q * 6 + 4], d[q * 6 + 5]];
    energy += weights[q] * (uu * uu + 2 * uv * uv + vv * vv);
  }
  return energy;
}

describe("thin-plate smoothing term", () => {
  for (const [degree, truncated] of [
    [2, true],
    [3, true],
    [3, false],
  ] as const) {
    it(`degree ${degree}, ${truncated ? "THB" : "HB"}, 2 levels: cᵀ S c equals the brute-force energy of the field`, () => {
      const U = uniformKnotVector(degree, 4);
      let space = THBSpace.create({ degrees: [degree, degree], knots: [U, U], truncated });
      space = refineElements(space, [
        { level: 0, cell: [1, 1] },
        { level: 0, cell: [2, 1] },
        { level: 0, cell: [1, 2] },
      ]);
      expect(space.sizePerLevel.length).toBe(2);
      const plan = compile(space);
      const lambda = 0.37;
      const { matrix } = assembleNormalEquations(plan, new Float64Array(0), new Float64Array(0), 1, lambda);
      const rand = seededRandom(degree * 10 + (truncated ? 1 : 0));
      for (let trial = 0; trial < 3; trial++) {
        const c = randomArray(rand, space.size);
        const Sc = matrix.multiply(c, 1);
        let quadratic = 0;
        for (let i = 0; i < c.length; i++) quadratic += c[i] * Sc[i];
        const reference = lambda * bruteForceEnergy(new THBField(space, c, 1), 8, degree + 2);
        expect(reference).toBeGreaterThan(0);
        expect(Math.abs(quadratic - reference) / reference).toBeLessThan(1e-10);
      }
    });
  }
});
