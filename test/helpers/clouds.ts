/** Random clouds of the awkward kinds a fit meets: for property tests of the adaptive fit. */
import { seededRandom } from "./random.js";

export type CloudKind = "height" | "sheet" | "clustered" | "holes" | "duplicates" | "sparse";

export interface CloudSpec {
  kind: CloudKind;
  count: number;
  seed: number;
  frequency: number;
}

/** A cloud of the given kind: `points  #points by 3`, and for sheets their `params  #points by 2`. */
export function makeCloud(spec: CloudSpec): {
  points: Float64Array;
  params?: Float64Array;
  heightField: boolean;
} {
  const rand = seededRandom(spec.seed);
  const f = (x: number, y: number) =>
    Math.sin(spec.frequency * x) * Math.cos(0.7 * spec.frequency * y) + 0.3 * x * y;
  const xy: number[] = [];
  const n = spec.kind === "sparse" ? 3 + (spec.count % 12) : spec.count;
  if (spec.kind === "clustered") {
    const centres = Array.from({ length: 3 }, () => [rand(), rand()]);
    for (let i = 0; i < n; i++) {
      const c = centres[i % 3];
      xy.push(c[0] + 0.03 * (rand() - 0.5), c[1] + 0.03 * (rand() - 0.5));
    }
  } else {
    while (xy.length < 2 * n) {
      const x = rand();
      const y = rand();
      if (spec.kind === "holes" && ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.09 || (x > 0.75 && y < 0.3)))
        continue;
      xy.push(x, y);
    }
  }
  if (spec.kind === "sheet") {
    // a quarter cylinder of radius 2 with a bump, parametrised by its angle and height
    const points = new Float64Array(3 * n);
    const params = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const [u, v] = [xy[2 * i], xy[2 * i + 1]];
      const r = 2 + 0.1 * f(u, v);
      points.set([r * Math.cos((Math.PI / 2) * u), r * Math.sin((Math.PI / 2) * u), 3 * v], 3 * i);
      params.set([u, v], 2 * i);
    }
    return { points, params, heightField: false };
  }
  const rows: number[] = [];
  for (let i = 0; i < n; i++) rows.push(xy[2 * i], xy[2 * i + 1], f(xy[2 * i], xy[2 * i + 1]));
  if (spec.kind === "duplicates") {
    // exact copies and conflicting copies (same (x, y), another height)
    for (let i = 0; i < n; i += 7) rows.push(rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]);
    for (let i = 3; i < n; i += 11) rows.push(rows[3 * i], rows[3 * i + 1], rows[3 * i + 2] + 0.05);
  }
  return { points: Float64Array.from(rows), heightField: true };
}
