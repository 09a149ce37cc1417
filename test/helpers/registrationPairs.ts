/**
 * Registration pairs with a known answer, for the acceptance tests and `npm run bench:register`: an analytic
 * phantom f (smoothed ellipsoids, small spheres and a low-frequency texture inside, 0 … ~230 outside 0) and a
 * known smooth displacement u. The fixed image samples f at x + u(x) and the moving image samples f at x, so
 * the exact transform fixed → moving is T(x) = x + u(x) (the convention of DisplacementTransform.mapPoints)
 * and needs no inversion; only the moving image is interpolated by a registration. Everything is a function
 * of the seed, so pairs are reproducible bit for bit.
 */
import { createImage, type Image, indexToPhysical, transformPoints } from "../../fields/image.js";
import { seededRandom } from "./random.js";

/** A fixed/moving pair with the true displacement. */
export interface KnownPair {
  readonly name: string;
  readonly fixed: Image;
  readonly moving: Image;
  /**
   * The true displacement at fixed physical points: `points  #points by d` → `#points by d` (mm), so that
   * moving(x + u(x)) = fixed(x) up to interpolation.
   */
  displacement(points: ArrayLike<number>): Float64Array;
  /** `#pixels` of the fixed grid: 1 inside the object (where the endpoint error is measured), else 0. */
  readonly inside: Uint8Array;
}

interface Ellipsoid {
  /** Centre and radii in mm. */
  centre: number[];
  radii: number[];
  /** Intensity added inside. */
  value: number;
}

/** Smoothed indicator of an ellipsoid: a logistic of its normalised radius, edge about `width` mm wide. */
function indicator(e: Ellipsoid, p: readonly number[], width: number): number {
  let q = 0;
  for (let k = 0; k < p.length; k++) q += ((p[k] - e.centre[k]) / e.radii[k]) ** 2;
  const mean = e.radii.reduce((a, b) => a + b, 0) / e.radii.length;
  const t = ((Math.sqrt(q) - 1) * mean) / width;
  return t > 40 ? 0 : 1 / (1 + Math.exp(t));
}

/** An analytic phantom over a box of `extent` mm (2 or 3 axes): intensities 0 … ~230, structure everywhere inside. */
export class Phantom {
  readonly outer: Ellipsoid;
  private readonly parts: Ellipsoid[];
  private readonly waves: { k: number[]; phase: number; amplitude: number }[];

  constructor(
    readonly extent: readonly number[],
    seed: number,
    readonly edge = 1.5,
  ) {
    const rand = seededRandom(seed);
    const d = extent.length;
    const c = extent.map((e) => e / 2);
    const at = (offset: number[], radii: number[], value: number): Ellipsoid => ({
      centre: c.map((ck, k) => ck + offset[k] * extent[k]),
      radii: radii.map((r, k) => r * extent[k]),
      value,
    });
    this.outer = at(new Array(d).fill(0), [0.42, 0.45, 0.38].slice(0, d), 90);
    this.parts = [
      at([0, 0, 0].slice(0, d), [0.38, 0.41, 0.34].slice(0, d), -40), // a bright rim: the outer minus this
      at([-0.13, 0.06, 0.02].slice(0, d), [0.1, 0.17, 0.18].slice(0, d), 70),
      at([0.14, -0.1, -0.04].slice(0, d), [0.09, 0.12, 0.14].slice(0, d), -35),
      at([0.06, 0.2, 0.08].slice(0, d), [0.12, 0.06, 0.12].slice(0, d), 60),
    ];
    for (let s = 0; s < 8; s++) {
      const offset = Array.from({ length: d }, () => 0.5 * (rand() - 0.5));
      const r = 4 + 3 * rand();
      this.parts.push({
        centre: c.map((ck, k) => ck + offset[k] * extent[k]),
        radii: new Array(d).fill(r).map((v, k) => (k === 2 ? 1.5 * v : v)),
        value: rand() < 0.5 ? 80 : -30,
      });
    }
    this.waves = Array.from({ length: 4 }, () => ({
      k: Array.from({ length: d }, () => (2 * Math.PI * (rand() - 0.5)) / 9),
      phase: 2 * Math.PI * rand(),
      amplitude: 10 + 8 * rand(),
    }));
  }

  /** f at a physical point (box corner at 0). */
  value(p: readonly number[]): number {
    const inside = indicator(this.outer, p, this.edge);
    if (inside < 1e-12) return 0;
    let v = this.outer.value * inside;
    for (const e of this.parts) v += e.value * indicator(e, p, this.edge);
    let texture = 0;
    for (const w of this.waves) {
      let arg = w.phase;
      for (let k = 0; k < p.length; k++) arg += w.k[k] * p[k];
      texture += w.amplitude * Math.sin(arg);
    }
    return v + texture * inside;
  }

  /** Whether a point lies well inside the object (its edge excluded). */
  contains(p: readonly number[]): boolean {
    return indicator(this.outer, p, this.edge) > 0.5;
  }
}

/** A smooth displacement: Σ_j a_j φ(|x − c_j| / r_j), φ a Gaussian or the compact C² bump (1 − s²)³. */
export interface Bump {
  centre: number[];
  radius: number;
  amplitude: number[];
  compact: boolean;
}

/** u at a point: the sum of the bumps. */
export function bumpsAt(bumps: readonly Bump[], p: readonly number[], out: number[]): number[] {
  out.fill(0);
  for (const b of bumps) {
    let s2 = 0;
    for (let k = 0; k < p.length; k++) s2 += ((p[k] - b.centre[k]) / b.radius) ** 2;
    const w = b.compact ? (s2 < 1 ? (1 - s2) ** 3 : 0) : Math.exp(-0.5 * s2);
    for (let k = 0; k < p.length; k++) out[k] += w * b.amplitude[k];
  }
  return out;
}

/** The fixed image f(x + u(x)) and moving image f(x) on one grid (`geometry`, physical = origin + spacing ⊙ i). */
function pairOn(
  name: string,
  size: readonly number[],
  spacing: readonly number[],
  phantom: Phantom,
  bumps: readonly Bump[],
  remap: (v: number) => number = (v) => v,
): KnownPair {
  const d = size.length;
  const origin = size.map((_, k) => (k === 0 ? -20 : 10)); // not at 0: geometry must be respected
  const total = size.reduce((a, b) => a * b, 1);
  const fixed = new Float32Array(total);
  const moving = new Float32Array(total);
  const inside = new Uint8Array(total);
  const p = new Array(d).fill(0);
  const u = new Array(d).fill(0);
  const q = new Array(d).fill(0);
  for (let t = 0; t < total; t++) {
    let rest = t;
    for (let k = 0; k < d; k++) {
      p[k] = (rest % size[k]) * spacing[k]; // box coordinates: the phantom's frame
      rest = Math.floor(rest / size[k]);
    }
    bumpsAt(bumps, p, u);
    for (let k = 0; k < d; k++) q[k] = p[k] + u[k];
    fixed[t] = phantom.value(q);
    moving[t] = remap(phantom.value(p));
    inside[t] = phantom.contains(p) ? 1 : 0;
  }
  const geometry = { spacing, origin };
  const fixedImage = createImage(fixed, size, geometry);
  return {
    name,
    fixed: fixedImage,
    moving: createImage(moving, size, geometry),
    inside,
    displacement(points) {
      const out = new Float64Array(points.length);
      const at = new Array(d).fill(0);
      const v = new Array(d).fill(0);
      for (let i = 0; i < points.length; i += d) {
        for (let k = 0; k < d; k++) at[k] = points[i + k] - origin[k];
        bumpsAt(bumps, at, v);
        for (let k = 0; k < d; k++) out[i + k] = v[k];
      }
      return out;
    },
  };
}

/** Random bumps inside the middle of a box: `count` Gaussians of radius `radius` mm, amplitudes up to `amplitude` mm per axis. */
function randomBumps(
  extent: readonly number[],
  seed: number,
  count: number,
  radius: number,
  amplitude: readonly number[],
): Bump[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => ({
    centre: extent.map((e) => e * (0.3 + 0.4 * rand())),
    radius,
    amplitude: amplitude.map((a) => a * (2 * rand() - 1)),
    compact: false,
  }));
}

/**
 * (a) 3D: an anisotropic volume (default 128×128×64 voxels of 1×1×2.5 mm) of the phantom under a smooth
 * displacement of a few voxels (Gaussian bumps of radius ~extent/5, up to 3 mm in-plane and 2.5 mm across slices).
 */
export function volumePair(
  seed = 1,
  size: readonly number[] = [128, 128, 64],
  spacing: readonly number[] = [1, 1, 2.5],
): KnownPair {
  const extent = size.map((n, k) => (n - 1) * spacing[k]);
  const radius = Math.min(...extent) / 5;
  const bumps = randomBumps(extent, seed + 100, 4, radius, [3, 3, 2.5]);
  return pairOn("3D anisotropic", size, spacing, new Phantom(extent, seed, 2), bumps);
}

/**
 * (b) multimodal 2D: the moving image's intensities pass through a non-monotone map (dark and bright both come
 * out bright) and the pair differs by a smooth warp of a few pixels.
 */
export function multimodalPair(seed = 2, size: readonly number[] = [128, 128]): KnownPair {
  const extent = size.map((n) => n - 1);
  const bumps = randomBumps(extent, seed + 100, 3, Math.min(...extent) / 4, [4, 4]);
  const remap = (v: number) => 230 - 2.2 * Math.abs(v - 95);
  return pairOn("multimodal 2D", size, [1, 1], new Phantom(extent, seed), bumps, remap);
}

/**
 * (c) local 2D: a deformation confined to a disc of radius `radius` px (a compact C² bump, zero outside it,
 * largest displacement about radius/4) off the image's centre, on a phantom with structure everywhere.
 */
export function localPair(seed = 3, size: readonly number[] = [256, 256], radius = 16): KnownPair {
  const extent = size.map((n) => n - 1);
  const bumps: Bump[] = [
    {
      centre: [0.62 * extent[0], 0.4 * extent[1]],
      radius,
      amplitude: [0.22 * radius, -0.16 * radius],
      compact: true,
    },
  ];
  return pairOn("local 2D", size, [1, 1], new Phantom(extent, seed), bumps);
}

/**
 * Mean endpoint error |T(x) − (x + u(x))| over the fixed pixels inside the object (every `stride`-th one along
 * each axis), in mm and in voxels (each axis's difference divided by its spacing). `map` takes fixed physical
 * points to moving physical points (`#points by d`).
 */
export function endpointError(
  pair: KnownPair,
  map: (points: Float64Array) => ArrayLike<number>,
  stride = 1,
): { mm: number; voxels: number; count: number } {
  const { size, spacing } = pair.fixed;
  const d = size.length;
  const index: number[] = [];
  const total = pair.inside.length;
  for (let t = 0; t < total; t++) {
    if (!pair.inside[t]) continue;
    let rest = t;
    let keep = true;
    const at: number[] = [];
    for (let k = 0; k < d; k++) {
      const i = rest % size[k];
      rest = Math.floor(rest / size[k]);
      if (i % stride !== 0) keep = false;
      at.push(i);
    }
    if (keep) index.push(...at);
  }
  const points = transformPoints(indexToPhysical(pair.fixed), Float64Array.from(index));
  const mapped = map(points);
  const truth = pair.displacement(points);
  let mm = 0;
  let voxels = 0;
  const count = points.length / d;
  for (let i = 0; i < points.length; i += d) {
    let a = 0;
    let b = 0;
    for (let k = 0; k < d; k++) {
      const e = mapped[i + k] - (points[i + k] + truth[i + k]);
      a += e * e;
      b += (e / spacing[k]) ** 2;
    }
    mm += Math.sqrt(a) / count;
    voxels += Math.sqrt(b) / count;
  }
  return { mm, voxels, count };
}
