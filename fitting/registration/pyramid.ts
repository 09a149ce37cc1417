/**
 * Gaussian image pyramids for coarse-to-fine registration: level with factor f smooths by a Gaussian of
 * σ = f/2 pixels (none at f = 1) and keeps every f-th pixel from pixel 0, so the level's grid is a subset
 * of the full grid (same origin and directions, spacing × f, floor((n−1)/f)+1 pixels per axis) and lies
 * inside the same physical domain.
 */
import type { ImageGeometry } from "../../fields/image.js";

/** One level of a pyramid: the geometry of its grid and its values (f64, first axis fastest). */
export interface PyramidLevel {
  readonly geometry: ImageGeometry;
  readonly values: Float64Array;
  readonly factor: number;
}

/** The pyramid level of `values` on `geometry` with downsampling factor `factor` (1, 2, 4, …). */
export function pyramidLevel(
  geometry: ImageGeometry,
  values: ArrayLike<number>,
  factor: number,
): PyramidLevel {
  const d = geometry.size.length;
  const smoothed = factor > 1 ? gaussianSmooth(values, geometry.size, factor / 2) : Float64Array.from(values);
  if (factor === 1) return { geometry, values: smoothed, factor };
  const size = geometry.size.map((n) => Math.floor((n - 1) / factor) + 1);
  const out = new Float64Array(size.reduce((a, b) => a * b, 1));
  const [nx, ny] = geometry.size;
  const [mx, my, mz] = [size[0], size[1], d === 3 ? size[2] : 1];
  let o = 0;
  for (let k = 0; k < mz; k++) {
    for (let j = 0; j < my; j++) {
      for (let i = 0; i < mx; i++) out[o++] = smoothed[i * factor + nx * (j * factor + ny * k * factor)];
    }
  }
  return {
    geometry: { ...geometry, size, spacing: geometry.spacing.map((s) => s * factor) },
    values: out,
    factor,
  };
}

/** Separable Gaussian smoothing with σ in pixels along every axis (kernel cut at 3σ, clamp to edge). */
export function gaussianSmooth(
  values: ArrayLike<number>,
  size: readonly number[],
  sigma: number,
): Float64Array {
  const radius = Math.max(1, Math.ceil(3 * sigma));
  const kernel = new Float64Array(2 * radius + 1);
  let total = 0;
  for (let t = -radius; t <= radius; t++) {
    kernel[t + radius] = Math.exp((-0.5 * t * t) / (sigma * sigma));
    total += kernel[t + radius];
  }
  for (let t = 0; t < kernel.length; t++) kernel[t] /= total;
  let current = Float64Array.from(values);
  let next = new Float64Array(current.length);
  const strides = [1, size[0], size[0] * size[1]];
  for (let axis = 0; axis < size.length; axis++) {
    const n = size[axis];
    const stride = strides[axis];
    const line = new Float64Array(n);
    for (let start = 0; start < current.length; start++) {
      // visit each line once, from its first pixel along this axis
      if (Math.floor(start / stride) % n !== 0) continue;
      for (let i = 0; i < n; i++) line[i] = current[start + i * stride];
      for (let i = 0; i < n; i++) {
        let v = 0;
        for (let t = -radius; t <= radius; t++) {
          const j = i + t < 0 ? 0 : i + t >= n ? n - 1 : i + t;
          v += kernel[t + radius] * line[j];
        }
        next[start + i * stride] = v;
      }
    }
    [current, next] = [next, current];
  }
  return current;
}
