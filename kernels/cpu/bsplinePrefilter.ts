/**
 * Cubic B-spline interpolation coefficients of an image (Unser, "Splines: a perfect fit for signal and
 * image processing", 1999; the recursive filter of Unser, Aldroubi & Eden 1991): along each axis a causal
 * and an anti-causal first-order recursion with pole z = √3 − 2, mirror-symmetric boundaries. Sampling the
 * coefficients with the cubic B-spline kernel (imageKernels.ts, "cubic") then interpolates the samples
 * exactly, with a C² result whose gradient is continuous — a smooth landscape for the optimiser.
 * `values  #pixels`, first axis fastest; returns new coefficients of the same layout.
 */

const POLE = Math.sqrt(3) - 2;

/** The cubic B-spline coefficients c with Σ c_j β³(i − j) = values_i at every pixel. */
export function cubicBSplineCoefficients(values: ArrayLike<number>, size: readonly number[]): Float64Array {
  const out = Float64Array.from(values);
  let stride = 1;
  for (let axis = 0; axis < size.length; axis++) {
    const n = size[axis];
    if (n >= 2) {
      const outer = out.length / (n * stride);
      if (stride === 1) for (let o = 0; o < outer; o++) filterLine(out.subarray(o * n, (o + 1) * n));
      else filterLines(out, n, stride, outer);
    }
    stride *= n;
  }
  return out;
}

let sums = new Float64Array(0);

/**
 * filterLine on every line along an axis of stride `stride` > 1 (lines of n samples; `outer` blocks of
 * `stride` lines side by side): the same operations in the same order per line, run across the block's lines
 * together so every step reads memory contiguously.
 */
function filterLines(c: Float64Array, n: number, stride: number, outer: number): void {
  const z = POLE;
  const lambda = (1 - z) * (1 - 1 / z);
  const horizon = Math.min(n, Math.ceil(Math.log(1e-12) / Math.log(Math.abs(z))));
  const end = z / (z * z - 1);
  if (sums.length < stride) sums = new Float64Array(stride);
  for (let o = 0; o < outer; o++) {
    const base = o * n * stride;
    for (let t = base; t < base + n * stride; t++) c[t] *= lambda;
    for (let x = 0; x < stride; x++) sums[x] = c[base + x];
    let zk = z;
    for (let k = 1; k < horizon; k++) {
      const row = base + k * stride;
      for (let x = 0; x < stride; x++) sums[x] += zk * c[row + x];
      zk *= z;
    }
    for (let x = 0; x < stride; x++) c[base + x] = sums[x];
    for (let i = 1; i < n; i++) {
      const row = base + i * stride;
      for (let x = 0; x < stride; x++) c[row + x] += z * c[row - stride + x];
    }
    const last = base + (n - 1) * stride;
    for (let x = 0; x < stride; x++) c[last + x] = end * (c[last + x] + z * c[last - stride + x]);
    for (let i = n - 2; i >= 0; i--) {
      const row = base + i * stride;
      for (let x = 0; x < stride; x++) c[row + x] = z * (c[row + stride + x] - c[row + x]);
    }
  }
}

/** In-place coefficients of one line (gain 6, causal then anti-causal recursion). */
function filterLine(c: Float64Array): void {
  const n = c.length;
  const z = POLE;
  const lambda = (1 - z) * (1 - 1 / z);
  for (let i = 0; i < n; i++) c[i] *= lambda;
  // causal initialisation: mirror boundary, the sum truncated where z^k is below 1e-12
  const horizon = Math.min(n, Math.ceil(Math.log(1e-12) / Math.log(Math.abs(z))));
  let sum = c[0];
  let zk = z;
  for (let k = 1; k < horizon; k++) {
    sum += zk * c[k];
    zk *= z;
  }
  c[0] = sum;
  for (let i = 1; i < n; i++) c[i] += z * c[i - 1];
  // anti-causal initialisation for the mirror boundary
  c[n - 1] = (z / (z * z - 1)) * (c[n - 1] + z * c[n - 2]);
  for (let i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
}
