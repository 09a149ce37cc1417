/** Franke's test function and scattered clouds of it, for the fitting tests. */
import { seededRandom } from "./random.js";

/** Franke's function on [0, 1]². */
export const franke = (x: number, y: number): number =>
  0.75 * Math.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4) +
  0.75 * Math.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10) +
  0.5 * Math.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4) -
  0.2 * Math.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2);

/** `n` random points (x, y, franke(x, y)), `#points by 3`. */
export function frankeCloud(n: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  const points = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = rand();
    const y = rand();
    points.set([x, y, franke(x, y)], 3 * i);
  }
  return points;
}

/** Every `every`-th point of a copy of `clean` lifted by `lift` in z: gross outliers. */
export function withOutliers(clean: Float64Array, every: number, lift: number): Float64Array {
  const points = Float64Array.from(clean);
  for (let i = 0; i < clean.length / 3; i += every) points[3 * i + 2] += lift;
  return points;
}

/** Largest |S(x, y) − z| of a height-field surface over the clean points that were not made outliers. */
export function inlierError(
  surface: { evaluate(params: ArrayLike<number>): Float64Array },
  clean: Float64Array,
  every: number,
): number {
  let worst = 0;
  for (let i = 0; i < clean.length / 3; i++) {
    if (i % every === 0) continue;
    const z = surface.evaluate([clean[3 * i], clean[3 * i + 1]])[0];
    worst = Math.max(worst, Math.abs(z - clean[3 * i + 2]));
  }
  return worst;
}
