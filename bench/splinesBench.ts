/**
 * Bicubic surface, 64 × 64 control grid, at 1,000,000 random parameters: ours vs three.js NURBSSurface.getPoint
 * and verb-nurbs NurbsSurface.point, measured in the same run.
 */
import { Vector3, Vector4 } from "three";
import { NURBSSurface } from "three/examples/jsm/curves/NURBSSurface.js";
import { BSpline } from "../splines/bspline.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { loadVerb } from "../test/helpers/verb.js";
import { medianSeconds, printTable, si } from "./harness.js";

/** Runs the spline benchmark and prints its table; returns our points per second. */
export async function benchSplines(points = 1_000_000): Promise<void> {
  const n = 64;
  const rand = seededRandom(42);
  const control = new Float64Array(n * n * 3);
  for (let i = 0; i < control.length; i++) control[i] = rand();
  const U = uniformKnotVector(3, n - 3);
  const surface = BSpline.create({ degrees: [3, 3], knots: [U, U], control });
  const params = new Float64Array(points * 2);
  for (let i = 0; i < params.length; i++) params[i] = rand();
  const out = new Float64Array(points * 3);

  const ours = medianSeconds(() => surface.evaluate(params, out), 7);

  const grid = Array.from({ length: n }, (_, i) =>
    Array.from({ length: n }, (_, j) => {
      const r = (i + n * j) * 3;
      return new Vector4(control[r], control[r + 1], control[r + 2], 1);
    }),
  );
  const threeSurface = new NURBSSurface(3, 3, Array.from(U), Array.from(U), grid);
  const target = new Vector3();
  const peerPoints = Math.min(points, 200_000); // peers are slow: time a fifth of the points, report per point
  const three = medianSeconds(() => {
    for (let k = 0; k < peerPoints; k++) threeSurface.getPoint(params[2 * k], params[2 * k + 1], target);
  }, 3);

  const verb = await loadVerb();
  const verbSurface = verb.geom.NurbsSurface.byKnotsControlPointsWeights(
    3,
    3,
    Array.from(U),
    Array.from(U),
    grid.map((column) => column.map((v) => [v.x, v.y, v.z])),
  );
  const verbTime = medianSeconds(() => {
    for (let k = 0; k < peerPoints; k++) verbSurface.point(params[2 * k], params[2 * k + 1]);
  }, 3);

  // parity spot check so the table never compares different answers
  let maxDiff = 0;
  for (let k = 0; k < 1000; k++) {
    threeSurface.getPoint(params[2 * k], params[2 * k + 1], target);
    const v = verbSurface.point(params[2 * k], params[2 * k + 1]);
    for (let c = 0; c < 3; c++) {
      maxDiff = Math.max(
        maxDiff,
        Math.abs(out[3 * k + c] - target.getComponent(c)),
        Math.abs(out[3 * k + c] - v[c]),
      );
    }
  }
  if (maxDiff > 1e-10) throw new Error(`bench parity failed: peers differ from ours by ${maxDiff}`);

  const rate = points / ours;
  const threeRate = peerPoints / three;
  const verbRate = peerPoints / verbTime;
  const faster = Math.max(threeRate, verbRate);
  printTable(
    `Bicubic B-spline surface, 64×64 control points, ${si(points)} random parameters (one core; peers timed on ${si(peerPoints)}; max |Δ| vs peers ${maxDiff.toExponential(1)})`,
    ["implementation", "points/s", "ns/point", "ours ÷ this"],
    [
      ["thbspline BSpline.evaluate", si(rate), (1e9 / rate).toFixed(1), "1.00"],
      [
        "three.js NURBSSurface.getPoint",
        si(threeRate),
        (1e9 / threeRate).toFixed(1),
        (rate / threeRate).toFixed(2),
      ],
      [
        "verb-nurbs NurbsSurface.point",
        si(verbRate),
        (1e9 / verbRate).toFixed(1),
        (rate / verbRate).toFixed(2),
      ],
    ],
  );
  console.log(
    `ours ÷ faster peer: ${(rate / faster).toFixed(1)}× (target ≥ 5×); ours: ${si(rate)} points/s (target ≥ 25 M)`,
  );
}
