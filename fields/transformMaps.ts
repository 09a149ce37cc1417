/**
 * Dense maps of a registration transform on the fixed grid, as transformix writes them on request (-def,
 * -jac), plus the pictures a reader checks a result with: the displacement T(x) − x (physical, `#pixels by
 * d`, first axis fastest), a grey preview of det J, and a checkerboard of the fixed and the warped image.
 */
import type { DisplacementTransform } from "./displacementTransform.js";
import { createImage, type Image, indexToPhysical, pixelCount, transformPoints } from "./image.js";

/** T(x) − x at every pixel x of the fixed grid, physical mm, `#pixels by d` (what transformix -def writes). */
export function displacementMap(transform: DisplacementTransform): Float64Array {
  const fixed = transform.fixed;
  const d = fixed.size.length;
  const count = pixelCount(fixed);
  const index = new Float64Array(count * d);
  for (let p = 0; p < count; p++) {
    let rest = p;
    for (let k = 0; k < d; k++) {
      index[p * d + k] = rest % fixed.size[k];
      rest = Math.floor(rest / fixed.size[k]);
    }
  }
  const points = transformPoints(indexToPhysical(fixed), index, index);
  const mapped = transform.mapPoints(points);
  for (let i = 0; i < mapped.length; i++) mapped[i] -= points[i];
  return mapped;
}

/**
 * A 2D grey picture of det J for PNG: 128 · det J rounded and clamped to 0 … 255, so mid-grey keeps area,
 * brighter grows, darker shrinks and black (0) marks folding (det J ≤ 0).
 */
export function jacobianPreview(transform: DisplacementTransform, determinant: ArrayLike<number>): Image {
  const data = Uint8Array.from(determinant, (v) =>
    v <= 0 ? 0 : Math.min(255, Math.max(1, Math.round(128 * v))),
  );
  return createImage(data, transform.fixed.size, transform.fixed);
}

/**
 * A checkerboard of two images on the same grid: squares of `square` pixels alternate between `a` (where
 * the square indices sum to an even number) and `b`; values keep the images' scale.
 */
export function checkerboard(a: Image, b: Image, square: number): Image {
  const count = pixelCount(a);
  const [nx, ny] = a.size;
  const data = new Float64Array(count);
  for (let p = 0; p < count; p++) {
    const i = p % nx;
    const j = Math.floor(p / nx) % ny;
    const k = Math.floor(p / (nx * ny));
    const even = (Math.floor(i / square) + Math.floor(j / square) + Math.floor(k / square)) % 2 === 0;
    data[p] = even ? a.data[p] : b.data[p];
  }
  return createImage(data, a.size, a);
}
