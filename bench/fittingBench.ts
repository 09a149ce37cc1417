/**
 * Fitting benchmarks: Franke's function at 100,000 scattered points (adaptive THB against the smallest
 * uniform bicubic fit of the same accuracy), and deepdrawingC.xml per iteration with and without parameter
 * correction.
 */
import { join } from "node:path";
import { fitSurface } from "../fitting/fitSurface.js";
import { readPointCloud } from "../io/pointCloud.js";
import { seededRandom } from "../test/helpers/random.js";
import { printTable } from "./harness.js";

const franke = (x: number, y: number) =>
  0.75 * Math.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4) +
  0.75 * Math.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10) +
  0.5 * Math.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4) -
  0.2 * Math.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2);

/** Runs the fitting benchmarks and prints their tables. */
export function benchFitting(): void {
  const rand = seededRandom(1);
  const n = 100_000;
  const points = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = rand();
    const y = rand();
    points.set([x, y, franke(x, y)], 3 * i);
  }
  const rows: string[][] = [];
  for (const tolerance of [1e-3, 1e-4]) {
    let t0 = performance.now();
    const adaptive = fitSurface(points, { heightField: true, tolerance, maxLevels: 8 });
    const adaptiveSeconds = (performance.now() - t0) / 1000;
    let uniform: { elements: number; dofs: number; maxError: number; seconds: number } | undefined;
    for (let elements = 4; elements <= 64 && !uniform; elements += 2) {
      t0 = performance.now();
      const u = fitSurface(points, { heightField: true, tolerance, elements, maxLevels: 1 });
      if (u.report.final.maxError <= tolerance) {
        uniform = {
          elements,
          dofs: u.report.final.dofs,
          maxError: u.report.final.maxError,
          seconds: (performance.now() - t0) / 1000,
        };
      }
    }
    const a = adaptive.report.final;
    rows.push([
      tolerance.toExponential(0),
      `${a.dofs} (${a.levels} levels)`,
      a.maxError.toExponential(2),
      `${adaptiveSeconds.toFixed(1)} s`,
      uniform ? `${uniform.dofs} (${uniform.elements}² elements)` : "none ≤ 64²",
      uniform ? uniform.maxError.toExponential(2) : "",
      uniform ? `${(uniform.dofs / a.dofs).toFixed(2)}×` : "",
    ]);
  }
  printTable(
    "Franke's function, 100k scattered points, bicubic, lsq: adaptive THB vs the smallest uniform fit meeting the tolerance",
    [
      "max error ≤",
      "adaptive DOFs",
      "adaptive max error",
      "adaptive time",
      "uniform DOFs",
      "uniform max error",
      "uniform ÷ adaptive DOFs",
    ],
    rows,
  );

  const cloud = readPointCloud(join("examples", "data", "deepdrawingC.xml"));
  const deepRows: string[][] = [];
  for (const rounds of [0, 3]) {
    const fit = fitSurface(cloud.points, {
      params: cloud.params,
      tolerance: 1e-9,
      maxLevels: 4,
      parameterCorrection: rounds,
    });
    for (const it of fit.report.iterations) {
      deepRows.push([
        rounds ? `${rounds} rounds` : "none",
        String(it.levels),
        String(it.dofs),
        it.maxError.toFixed(3),
        it.rmsError.toFixed(4),
        `${it.seconds.toFixed(2)} s`,
      ]);
    }
  }
  printTable(
    "deepdrawingC.xml (2,969 points, given parameters), adaptive bicubic THB lsq per iteration",
    ["parameter correction", "levels", "DOFs", "max error", "RMS error", "time"],
    deepRows,
  );
}
