/**
 * Image sampling for registration (CPU, f64): linear and cubic B-spline interpolation of 2D and 3D images at
 * warped coordinates, with the gradient with respect to the coordinates, and the sums that image metrics need.
 * Images: `values  #voxels`, x fastest (index = i + nx (j + ny k)), samples at integer coordinates; outside
 * the image the nearest edge value is used (clamp to edge). `coords  #points by d` in voxel units.
 * Outputs: `values  #points`, `gradient  #points by d`.
 */

/** A 2D or 3D image of scalar values. */
export interface ScalarImage {
  readonly size: readonly number[];
  readonly values: Float32Array | Float64Array;
}

/** Interpolation kinds. */
export type Interpolation = "linear" | "cubic";

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** 1D weights and their derivatives for the 2 (linear) or 4 (cubic B-spline) samples around t. */
function weights(kind: Interpolation, t: number, w: Float64Array, dw: Float64Array): number {
  const base = Math.floor(t);
  const f = t - base;
  if (kind === "linear") {
    w[0] = 1 - f;
    w[1] = f;
    dw[0] = -1;
    dw[1] = 1;
    return base;
  }
  // uniform cubic B-spline basis on samples base−1 … base+2
  const f2 = f * f;
  const f3 = f2 * f;
  w[0] = (1 - 3 * f + 3 * f2 - f3) / 6;
  w[1] = (4 - 6 * f2 + 3 * f3) / 6;
  w[2] = (1 + 3 * f + 3 * f2 - 3 * f3) / 6;
  w[3] = f3 / 6;
  dw[0] = (-3 + 6 * f - 3 * f2) / 6;
  dw[1] = (-12 * f + 9 * f2) / 6;
  dw[2] = (3 + 6 * f - 9 * f2) / 6;
  dw[3] = (3 * f2) / 6;
  return base - 1;
}

/** Samples an image at coordinates, with the gradient with respect to the coordinates. */
export function sampleImageCpu(
  image: ScalarImage,
  coords: ArrayLike<number>,
  kind: Interpolation,
): { values: Float64Array; gradient: Float64Array } {
  const d = image.size.length;
  const count = coords.length / d;
  const values = new Float64Array(count);
  const gradient = new Float64Array(count * d);
  if (d === 2 && kind === "cubic") {
    sampleCubic2D(image, coords, values, gradient);
    return { values, gradient };
  }
  const taps = kind === "linear" ? 2 : 4;
  const w = Array.from({ length: 3 }, () => new Float64Array(4));
  const dw = Array.from({ length: 3 }, () => new Float64Array(4));
  const first = [0, 0, 0];
  const [nx, ny, nz] = [image.size[0], image.size[1], image.size[2] ?? 1];
  for (let p = 0; p < count; p++) {
    for (let k = 0; k < d; k++) first[k] = weights(kind, coords[p * d + k], w[k], dw[k]);
    let value = 0;
    let gx = 0;
    let gy = 0;
    let gz = 0;
    const tz = d === 3 ? taps : 1;
    for (let c = 0; c < tz; c++) {
      const wz = d === 3 ? w[2][c] : 1;
      const dz = d === 3 ? dw[2][c] : 0;
      const zi = d === 3 ? clampIndex(first[2] + c, nz) : 0;
      for (let b = 0; b < taps; b++) {
        const yi = clampIndex(first[1] + b, ny);
        for (let a = 0; a < taps; a++) {
          const xi = clampIndex(first[0] + a, nx);
          const v = image.values[xi + nx * (yi + ny * zi)];
          value += w[0][a] * w[1][b] * wz * v;
          gx += dw[0][a] * w[1][b] * wz * v;
          gy += w[0][a] * dw[1][b] * wz * v;
          gz += w[0][a] * w[1][b] * dz * v;
        }
      }
    }
    values[p] = value;
    gradient[p * d] = gx;
    gradient[p * d + 1] = gy;
    if (d === 3) gradient[p * d + 2] = gz;
  }
  return { values, gradient };
}

/** The 2D cubic path of sampleImageCpu: the same sums, the 4×4 taps unrolled per row. */
function sampleCubic2D(
  image: ScalarImage,
  coords: ArrayLike<number>,
  values: Float64Array,
  gradient: Float64Array,
): void {
  const [nx, ny] = image.size;
  const I = image.values;
  const wx = new Float64Array(4);
  const dx = new Float64Array(4);
  const wy = new Float64Array(4);
  const dy = new Float64Array(4);
  const xi = new Int32Array(4);
  const count = values.length;
  for (let p = 0; p < count; p++) {
    const fx = weights("cubic", coords[2 * p], wx, dx);
    const fy = weights("cubic", coords[2 * p + 1], wy, dy);
    for (let a = 0; a < 4; a++) xi[a] = clampIndex(fx + a, nx);
    let value = 0;
    let gx = 0;
    let gy = 0;
    for (let b = 0; b < 4; b++) {
      const row = nx * clampIndex(fy + b, ny);
      const v0 = I[row + xi[0]];
      const v1 = I[row + xi[1]];
      const v2 = I[row + xi[2]];
      const v3 = I[row + xi[3]];
      const along = wx[0] * v0 + wx[1] * v1 + wx[2] * v2 + wx[3] * v3;
      const slope = dx[0] * v0 + dx[1] * v1 + dx[2] * v2 + dx[3] * v3;
      value += wy[b] * along;
      gx += wy[b] * slope;
      gy += dy[b] * along;
    }
    values[p] = value;
    gradient[2 * p] = gx;
    gradient[2 * p + 1] = gy;
  }
}

/** Σ (I(x_k) − F_k)² and its gradient 2 (I − F) ∇I with respect to each x_k (`#points by d`). */
export function ssdCpu(
  moving: ScalarImage,
  coords: ArrayLike<number>,
  fixed: ArrayLike<number>,
  kind: Interpolation,
): { value: number; gradient: Float64Array } {
  const d = moving.size.length;
  const { values, gradient } = sampleImageCpu(moving, coords, kind);
  let value = 0;
  for (let p = 0; p < values.length; p++) {
    const r = values[p] - fixed[p];
    value += r * r;
    for (let k = 0; k < d; k++) gradient[p * d + k] *= 2 * r;
  }
  return { value, gradient };
}

/** The partial sums of normalised cross-correlation over sampled points: [Σ I, Σ F, Σ I², Σ F², Σ I F]. */
export function nccSumsCpu(
  moving: ScalarImage,
  coords: ArrayLike<number>,
  fixed: ArrayLike<number>,
  kind: Interpolation,
): Float64Array {
  const { values } = sampleImageCpu(moving, coords, kind);
  const sums = new Float64Array(5);
  for (let p = 0; p < values.length; p++) {
    const m = values[p];
    const f = fixed[p];
    sums[0] += m;
    sums[1] += f;
    sums[2] += m * m;
    sums[3] += f * f;
    sums[4] += m * f;
  }
  return sums;
}

/** NCC = (Σ I F − Σ I Σ F / n) / sqrt((Σ I² − (Σ I)² / n)(Σ F² − (Σ F)² / n)) from the partial sums. */
export function nccFromSums(sums: ArrayLike<number>, count: number): number {
  const covariance = sums[4] - (sums[0] * sums[1]) / count;
  const varianceMoving = sums[2] - (sums[0] * sums[0]) / count;
  const varianceFixed = sums[3] - (sums[1] * sums[1]) / count;
  return covariance / Math.sqrt(varianceMoving * varianceFixed);
}

/** Linear Parzen position of a value in `bins` bins over [lo, hi]: the lower bin and the upper bin's weight. */
function binPosition(value: number, lo: number, hi: number, bins: number): [number, number] {
  const t = Math.min(Math.max(((value - lo) / (hi - lo)) * (bins - 1), 0), bins - 1);
  const lower = Math.min(Math.floor(t), bins - 2);
  return [lower, t - lower];
}

/**
 * Joint histogram of sampled moving values against fixed values for mutual information, with linear Parzen
 * windows (each point spreads one unit over 2 × 2 neighbouring bins). `out  bins by bins`, moving index fastest.
 */
export function jointHistogramCpu(
  moving: ScalarImage,
  coords: ArrayLike<number>,
  fixed: ArrayLike<number>,
  kind: Interpolation,
  bins: number,
  movingRange: readonly [number, number],
  fixedRange: readonly [number, number],
): Float64Array {
  const { values } = sampleImageCpu(moving, coords, kind);
  return jointHistogramOfValues(values, fixed, bins, movingRange, fixedRange);
}

/** The joint histogram of moving values against fixed values (as jointHistogramCpu, from values). */
export function jointHistogramOfValues(
  moving: ArrayLike<number>,
  fixed: ArrayLike<number>,
  bins: number,
  movingRange: readonly [number, number],
  fixedRange: readonly [number, number],
): Float64Array {
  const histogram = new Float64Array(bins * bins);
  for (let p = 0; p < moving.length; p++) {
    const [a, wa] = binPosition(moving[p], movingRange[0], movingRange[1], bins);
    const [b, wb] = binPosition(fixed[p], fixedRange[0], fixedRange[1], bins);
    histogram[a + bins * b] += (1 - wa) * (1 - wb);
    histogram[a + 1 + bins * b] += wa * (1 - wb);
    histogram[a + bins * (b + 1)] += (1 - wa) * wb;
    histogram[a + 1 + bins * (b + 1)] += wa * wb;
  }
  return histogram;
}

/**
 * The VJP of jointHistogramOfValues with respect to the moving values: per point, the cotangents of the
 * bins it touched times its Parzen weights' derivative (zero where its position was clamped to the range).
 */
export function jointHistogramVjpCpu(
  moving: ArrayLike<number>,
  fixed: ArrayLike<number>,
  cotangent: ArrayLike<number>,
  bins: number,
  movingRange: readonly [number, number],
  fixedRange: readonly [number, number],
): Float64Array {
  const out = new Float64Array(moving.length);
  const [lo, hi] = movingRange;
  for (let p = 0; p < moving.length; p++) {
    const raw = ((moving[p] - lo) / (hi - lo)) * (bins - 1);
    if (!(raw >= 0 && raw <= bins - 1)) continue;
    const [a] = binPosition(moving[p], lo, hi, bins);
    const [b, wb] = binPosition(fixed[p], fixedRange[0], fixedRange[1], bins);
    const lowerRow = cotangent[a + 1 + bins * b] - cotangent[a + bins * b];
    const upperRow = cotangent[a + 1 + bins * (b + 1)] - cotangent[a + bins * (b + 1)];
    out[p] = ((bins - 1) / (hi - lo)) * ((1 - wb) * lowerRow + wb * upperRow);
  }
  return out;
}
