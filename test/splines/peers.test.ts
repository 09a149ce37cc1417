import { Vector3, Vector4 } from "three";
import { NURBSCurve } from "three/examples/jsm/curves/NURBSCurve.js";
import { NURBSSurface } from "three/examples/jsm/curves/NURBSSurface.js";
import { beforeAll, describe, expect, it } from "vitest";
import { Nurbs } from "../../splines/index.js";
import { randomArray, randomOpenKnots, seededRandom } from "../helpers/random.js";
import { loadVerb } from "../helpers/verb.js";

// biome-ignore lint/suspicious/noExplicitAny: verb-nurbs ships no types
let verb: any;
beforeAll(async () => {
  verb = await loadVerb();
});

/** Random positive weights in [0.3, 3]. */
function randomWeights(rand: () => number, n: number): Float64Array {
  return Float64Array.from({ length: n }, () => 0.3 + 2.7 * rand());
}

describe("cross-check with three.js NURBSUtils and verb-nurbs", () => {
  it("random NURBS curves: points agree with both peers, derivatives up to order 2 with verb", () => {
    const rand = seededRandom(11);
    for (let trial = 0; trial < 30; trial++) {
      const p = 1 + (trial % 4);
      const U = randomOpenKnots(rand, p, 1 + Math.floor(rand() * 6), -1, 2); // a domain other than [0,1]
      const n = U.length - p - 1;
      const control = randomArray(rand, n * 3, 5);
      const weights = randomWeights(rand, n);
      const ours = new Nurbs({ degrees: [p], knots: [U], control, weights });
      const pts = Array.from(
        { length: n },
        (_, i) => new Vector4(control[3 * i], control[3 * i + 1], control[3 * i + 2], weights[i]),
      );
      const threeCurve = new NURBSCurve(p, Array.from(U), pts, 0, U.length - 1);
      const verbCurve = verb.geom.NurbsCurve.byKnotsControlPointsWeights(
        p,
        Array.from(U),
        Array.from({ length: n }, (_, i) => [control[3 * i], control[3 * i + 1], control[3 * i + 2]]),
        Array.from(weights),
      );
      const target = new Vector3();
      for (let t = 0; t < 25; t++) {
        const s = t === 24 ? 1 : rand(); // three's parameter in [0,1], mapped linearly onto [U0, Uend]
        const u = -1 + 3 * s;
        const D = ours.derivatives([u], 2);
        threeCurve.getPoint(s, target);
        const viaVerb = verbCurve.derivatives(u, 2);
        for (let c = 0; c < 3; c++) {
          expect(Math.abs(D[c] - target.getComponent(c))).toBeLessThan(1e-11);
          for (let k = 0; k <= 2; k++) {
            const ref = viaVerb[k][c];
            expect(Math.abs(D[k * 3 + c] - ref)).toBeLessThan(1e-9 * (1 + Math.abs(ref)));
          }
        }
      }
    }
  });

  it("random NURBS surfaces: points agree with both peers, all derivatives up to order 2 with verb", () => {
    const rand = seededRandom(12);
    for (let trial = 0; trial < 12; trial++) {
      const p = 1 + (trial % 3);
      const q = 1 + ((trial + 1) % 4);
      const U = randomOpenKnots(rand, p, 1 + Math.floor(rand() * 4));
      const V = randomOpenKnots(rand, q, 1 + Math.floor(rand() * 4), 0, 3);
      const nu = U.length - p - 1;
      const nv = V.length - q - 1;
      const control = randomArray(rand, nu * nv * 3, 5);
      const weights = randomWeights(rand, nu * nv);
      const ours = new Nurbs({ degrees: [p, q], knots: [U, V], control, weights });
      // ours: row i + nu*j; peers: [i][j] with i along u
      const row = (i: number, j: number) => i + nu * j;
      const grid4 = Array.from({ length: nu }, (_, i) =>
        Array.from({ length: nv }, (_, j) => {
          const r = row(i, j);
          return new Vector4(control[3 * r], control[3 * r + 1], control[3 * r + 2], weights[r]);
        }),
      );
      const threeSurface = new NURBSSurface(p, q, Array.from(U), Array.from(V), grid4);
      const verbSurface = verb.geom.NurbsSurface.byKnotsControlPointsWeights(
        p,
        q,
        Array.from(U),
        Array.from(V),
        grid4.map((column) => column.map((v) => [v.x, v.y, v.z])),
        grid4.map((column) => column.map((v) => v.w)),
      );
      const target = new Vector3();
      // ours: S, Su, Sv, Suu, Svv, Suv; verb: ders[k][l] = ∂u^k ∂v^l
      const verbIndex: [number, number][] = [
        [0, 0],
        [1, 0],
        [0, 1],
        [2, 0],
        [0, 2],
        [1, 1],
      ];
      for (let t = 0; t < 25; t++) {
        const s1 = rand();
        const s2 = t === 24 ? 1 : rand();
        const u = s1;
        const v = 3 * s2;
        const D = ours.derivatives([u, v], 2);
        threeSurface.getPoint(s1, s2, target);
        const viaVerb = verbSurface.derivatives(u, v, 2);
        for (let c = 0; c < 3; c++) {
          expect(Math.abs(D[c] - target.getComponent(c))).toBeLessThan(1e-11);
          verbIndex.forEach(([k, l], b) => {
            const ref = viaVerb[k][l][c];
            expect(Math.abs(D[b * 3 + c] - ref)).toBeLessThan(1e-9 * (1 + Math.abs(ref)));
          });
        }
      }
    }
  });
});

describe("NURBS closed forms", () => {
  it("the rational quadratic quarter circle lies exactly on the unit circle with tangent ⟂ radius", () => {
    const h = Math.SQRT1_2;
    const arc = new Nurbs({
      degrees: [2],
      knots: [[0, 0, 0, 1, 1, 1]],
      control: [1, 0, 1, 1, 0, 1],
      weights: [1, h, 1],
    });
    for (let t = 0; t <= 20; t++) {
      const D = arc.derivatives([t / 20], 2);
      const [x, y, dx, dy, ddx, ddy] = D;
      expect(Math.hypot(x, y)).toBeCloseTo(1, 14);
      expect(x * dx + y * dy).toBeCloseTo(0, 13);
      // d²/du² of |S|² = 0 ⇒ |S'|² + S·S'' = 0
      expect(dx * dx + dy * dy + x * ddx + y * ddy).toBeCloseTo(0, 12);
    }
  });

  it("rejects non-positive weights and wrong weight counts", () => {
    const base = { degrees: [1], knots: [[0, 0, 1, 1]], control: [0, 1] };
    expect(() => new Nurbs({ ...base, weights: [1, 0] })).toThrow(/weights\[1\] must be positive/);
    expect(() => new Nurbs({ ...base, weights: [1] })).toThrow(/weights must hold 2 numbers/);
  });
});
