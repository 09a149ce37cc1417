/**
 * `npx tsx bench/initialAlignment.ts`: the initial alignment (centring, rigid, affine) on the bundled ITK
 * pair, 221×257 — wall and CPU milliseconds of 20 warm runs (min and median; on a shared machine the CPU
 * time is the steadier figure), and the full-resolution MSE before and after.
 */
import { readFileSync } from "node:fs";
import { DisplacementTransform } from "../fields/displacementTransform.js";
import { THBField } from "../fields/thbField.js";
import { initialAlignment } from "../fitting/registration/initialAlignment.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { decodePngImage } from "../io/png.js";
import { uniformKnotVector } from "../splines/knotVector.js";

const read = (name: string) =>
  decodePngImage(readFileSync(new URL(`../examples/data/${name}`, import.meta.url))).image;
const fixed = read("BrainProtonDensitySliceBorder20.png");
const moving = read("BrainProtonDensitySliceBSplined10.png");
const zero = THBField.zeros(
  THBSpace.create({
    degrees: [3, 3],
    knots: [uniformKnotVector(3, 1, 0, 220), uniformKnotVector(3, 1, 0, 256)],
  }),
  2,
);
const mse = (affine?: Float64Array) => {
  const warped = new DisplacementTransform(fixed, zero, affine).apply(moving).data;
  let s = 0;
  for (let i = 0; i < warped.length; i++) s += (warped[i] - fixed.data[i]) ** 2;
  return s / warped.length;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
for (const kind of ["rigid", "affine"] as const) {
  for (let i = 0; i < 3; i++) initialAlignment(fixed, moving, { kind }); // warm-up
  const wall: number[] = [];
  const cpu: number[] = [];
  let last = initialAlignment(fixed, moving, { kind });
  for (let i = 0; i < 20; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    last = initialAlignment(fixed, moving, { kind });
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  console.log(
    `${kind.padEnd(6)} wall min ${Math.min(...wall).toFixed(1)} ms, median ${median(wall).toFixed(1)} ms; ` +
      `CPU min ${Math.min(...cpu).toFixed(1)} ms, median ${median(cpu).toFixed(1)} ms; ` +
      `level factor ${last.report.factor}, iterations ${last.report.rigidIterations}+${last.report.affineIterations}; ` +
      `MSE ${mse().toFixed(1)} → ${mse(last.affine).toFixed(1)}`,
  );
}
