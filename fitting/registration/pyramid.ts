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

/**
 * The pyramid level of `values` on `geometry` with downsampling factor `factor` (1, 2, 4, …): smoothed for
 * that factor, keeping every `step`-th pixel (default `factor`; a multiple of it thins the level's grid, for a
 * metric that samples the level sparser). Factor 1 is the image itself (step 1).
 */
export function pyramidLevel(
  geometry: ImageGeometry,
  values: ArrayLike<number>,
  factor: number,
  step = factor,
): PyramidLevel {
  if (factor === 1) {
    if (step !== 1) throw new RangeError("pyramidLevel: factor 1 keeps every pixel (step 1)");
    return { geometry, values: Float64Array.from(values), factor };
  }
  const size = geometry.size.map((n) => Math.floor((n - 1) / step) + 1);
  return {
    geometry: { ...geometry, size, spacing: geometry.spacing.map((s) => s * step) },
    values: gaussianSmooth(values, geometry.size, factor / 2, step),
    factor,
  };
}

/**
 * Separable Gaussian smoothing with σ in pixels along every axis (kernel cut at 3σ, clamp to edge), keeping
 * every `step`-th pixel from pixel 0 (default 1: all). Each axis pass computes only the pixels kept along it,
 * so smoothing for a pyramid level costs about 1/step of smoothing the whole image, with the same sums.
 */
export function gaussianSmooth(
  values: ArrayLike<number>,
  size: readonly number[],
  sigma: number,
  step = 1,
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
  const dims = [...size];
  for (let axis = 0; axis < size.length; axis++) {
    const n = dims[axis];
    const kept = Math.floor((n - 1) / step) + 1;
    // strides of the current (input) and next (output) layouts along and across this axis
    const before = dims.slice(0, axis).reduce((a, b) => a * b, 1);
    const after = dims.slice(axis + 1).reduce((a, b) => a * b, 1);
    const next = new Float64Array(before * kept * after);
    if (before === 1) smoothRows(current, next, n, kept, after, kernel, radius, step);
    else smoothAcross(current, next, n, kept, before, after, kernel, radius, step);
    dims[axis] = kept;
    current = next;
  }
  return current;
}

/** One axis pass along the first axis (contiguous rows): each kept output sums its taps in order. */
function smoothRows(
  current: Float64Array,
  next: Float64Array,
  n: number,
  kept: number,
  rows: number,
  kernel: Float64Array,
  radius: number,
  step: number,
): void {
  for (let r = 0; r < rows; r++) {
    const source = n * r;
    const target = kept * r;
    for (let o = 0; o < kept; o++) {
      const i = o * step;
      let v = 0;
      for (let t = -radius; t <= radius; t++) {
        const j = i + t < 0 ? 0 : i + t >= n ? n - 1 : i + t;
        v += kernel[t + radius] * current[source + j];
      }
      next[target + o] = v;
    }
  }
}

/**
 * One axis pass along a higher axis (stride `before`): the same sums in the same tap order, accumulated for
 * a whole contiguous run of `before` outputs at a time instead of one strided column after another.
 */
function smoothAcross(
  current: Float64Array,
  next: Float64Array,
  n: number,
  kept: number,
  before: number,
  after: number,
  kernel: Float64Array,
  radius: number,
  step: number,
): void {
  for (let outer = 0; outer < after; outer++) {
    const source = before * n * outer;
    const target = before * kept * outer;
    for (let o = 0; o < kept; o++) {
      const i = o * step;
      const to = target + before * o;
      for (let t = -radius; t <= radius; t++) {
        const j = i + t < 0 ? 0 : i + t >= n ? n - 1 : i + t;
        const w = kernel[t + radius];
        const from = source + before * j;
        for (let x = 0; x < before; x++) next[to + x] += w * current[from + x];
      }
    }
  }
}
