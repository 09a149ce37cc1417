/**
 * Images with geometry (ITK's conventions): a 2D or 3D grid of scalar samples placed in physical space by
 * spacing, origin and direction cosines. Pixel index i (first axis fastest: index = i₀ + n₀ (i₁ + n₁ i₂))
 * lies at the physical point  x = origin + D · (spacing ⊙ i).
 * `direction  d by d`, column-major (as gl-matrix stores matrices): column k is the unit vector of index
 * axis k. The index ↔ physical maps are affine matrices of gl-matrix (`mat3` in 2D, `mat4` in 3D, f64).
 */
import { mat3, mat4 } from "gl-matrix";
import { ArgumentError } from "../linalg/errors.js";

/** Pixel storage of an image. */
export type PixelData =
  | Float32Array
  | Float64Array
  | Uint8Array
  | Uint8ClampedArray
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array;

/** A scalar image with its geometry. */
export interface Image {
  /** `#pixels`, first axis fastest. */
  readonly data: PixelData;
  /** Pixels per axis, 2 or 3 entries. */
  readonly size: readonly number[];
  /** Physical size of a pixel per axis (mm), positive. */
  readonly spacing: readonly number[];
  /** Physical position of pixel 0. */
  readonly origin: readonly number[];
  /** `d by d` direction cosines, column-major (column k: index axis k). */
  readonly direction: readonly number[];
}

/** The geometry of an image without its pixels. */
export type ImageGeometry = Omit<Image, "data">;

/** An image with unit spacing, zero origin and identity directions unless given. */
export function createImage(
  data: PixelData,
  size: readonly number[],
  geometry: Partial<ImageGeometry> = {},
): Image {
  const d = size.length;
  const identity = Array.from({ length: d * d }, (_, i) => (i % (d + 1) === 0 ? 1 : 0));
  const image: Image = {
    data,
    size: [...size],
    spacing: [...(geometry.spacing ?? new Array(d).fill(1))],
    origin: [...(geometry.origin ?? new Array(d).fill(0))],
    direction: [...(geometry.direction ?? identity)],
  };
  checkImage(image);
  return image;
}

/**
 * Checks an image at a public boundary: 2 or 3 axes, positive whole sizes, data of that many finite
 * values, positive spacing, finite origin, orthonormal directions. Returns d. `name` names it in errors.
 */
export function checkImage(image: Image, name = "image"): 2 | 3 {
  checkGeometry(image, name);
  const d = image.size.length as 2 | 3;
  const count = pixelCount(image);
  if (!image.data || image.data.length !== count)
    throw new ArgumentError(`${name}: data must hold ${count} pixels, got ${image.data?.length}`);
  const bad = firstNonFinite(image.data, count);
  if (bad >= 0)
    throw new ArgumentError(`${name}: pixel ${bad} is ${image.data[bad]}, expected a finite number`);
  return d;
}

/** The index of the first NaN or ±Infinity among the first `count` values, or −1 (one tight loop per array). */
function firstNonFinite(data: ArrayLike<number>, count: number): number {
  for (let i = 0; i < count; i++) {
    const v = data[i];
    if (v - v !== 0) return i;
  }
  return -1;
}

/** Checks the geometry part of an image (see checkImage). */
export function checkGeometry(geometry: ImageGeometry, name = "image"): 2 | 3 {
  const { size, spacing, origin, direction } = geometry;
  if (!Array.isArray(size) || (size.length !== 2 && size.length !== 3))
    throw new ArgumentError(`${name}: size must list 2 or 3 axes, got ${JSON.stringify(size)}`);
  const d = size.length as 2 | 3;
  for (const [k, n] of size.entries()) {
    if (!Number.isInteger(n) || n < 1)
      throw new ArgumentError(`${name}: size[${k}] must be a positive integer, got ${n}`);
  }
  const vector = (values: readonly number[], what: string, length: number, positive: boolean) => {
    if (!values || values.length !== length)
      throw new ArgumentError(`${name}: ${what} must have ${length} entries, got ${values?.length}`);
    for (const [k, v] of values.entries()) {
      if (!Number.isFinite(v) || (positive && !(v > 0)))
        throw new ArgumentError(
          `${name}: ${what}[${k}] must be a ${positive ? "positive" : "finite"} number, got ${v}`,
        );
    }
  };
  vector(spacing, "spacing", d, true);
  vector(origin, "origin", d, false);
  vector(direction, "direction", d * d, false);
  for (let a = 0; a < d; a++) {
    for (let b = 0; b < d; b++) {
      let dot = 0;
      for (let r = 0; r < d; r++) dot += direction[a * d + r] * direction[b * d + r];
      if (Math.abs(dot - (a === b ? 1 : 0)) > 1e-6)
        throw new ArgumentError(`${name}: direction must be orthonormal (columns ${a}, ${b} give ${dot})`);
    }
  }
  return d;
}

/** Number of pixels. */
export function pixelCount(geometry: ImageGeometry): number {
  return geometry.size.reduce((a, b) => a * b, 1);
}

/**
 * The affine map index → physical point, `(d+1) by (d+1)` column-major (gl-matrix `mat3` in 2D, `mat4`
 * in 3D): x = origin + D · (spacing ⊙ i).
 */
export function indexToPhysical(geometry: ImageGeometry): Float64Array {
  const d = geometry.size.length;
  const m = new Float64Array((d + 1) * (d + 1));
  if (d === 2) mat3.identity(m);
  else mat4.identity(m);
  for (let col = 0; col < d; col++) {
    for (let row = 0; row < d; row++)
      m[col * (d + 1) + row] = geometry.direction[col * d + row] * geometry.spacing[col];
  }
  for (let row = 0; row < d; row++) m[d * (d + 1) + row] = geometry.origin[row];
  return m;
}

/** The affine map physical point → continuous index (the inverse of indexToPhysical). */
export function physicalToIndex(geometry: ImageGeometry): Float64Array {
  const forward = indexToPhysical(geometry);
  const inverse = new Float64Array(forward.length);
  const ok = geometry.size.length === 2 ? mat3.invert(inverse, forward) : mat4.invert(inverse, forward);
  if (!ok) throw new ArgumentError("image geometry is singular");
  return inverse;
}

/** The product a · b of two affine maps of the same size (apply b first). */
export function composeAffine(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  return a.length === 9
    ? (mat3.multiply(out, a, b) as Float64Array)
    : (mat4.multiply(out, a, b) as Float64Array);
}

/**
 * Applies an affine map to `points  #points by d` (out may alias points): out = A · p + t.
 */
export function transformPoints(
  affine: Float64Array,
  points: ArrayLike<number>,
  out = new Float64Array(points.length),
): Float64Array {
  const d = affine.length === 9 ? 2 : 3;
  const n = d + 1;
  const p = [0, 0, 0];
  for (let i = 0; i < points.length; i += d) {
    for (let k = 0; k < d; k++) p[k] = points[i + k];
    for (let r = 0; r < d; r++) {
      let v = affine[d * n + r];
      for (let k = 0; k < d; k++) v += affine[k * n + r] * p[k];
      out[i + r] = v;
    }
  }
  return out;
}
