/**
 * Cubic B-spline prefiltering: sampling the coefficients with the cubic kernel gives back the samples
 * (interior pixels, where no tap is clamped; 2D and 3D, unequal sizes), and the line-batched filter equals a
 * plain line-by-line reference (gather a line, filter, scatter) bit for bit.
 */
import { describe, expect, it } from "vitest";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { sampleImageCpu } from "../../kernels/cpu/imageKernels.js";
import { seededRandom } from "../helpers/random.js";

/** The textbook filter: for each line along each axis, gather, filter (Unser's recursions), scatter. */
function lineByLine(values: ArrayLike<number>, size: readonly number[]): Float64Array {
  const z = Math.sqrt(3) - 2;
  const out = Float64Array.from(values);
  const strides = [1, size[0], size[0] * (size[1] ?? 1)];
  for (let axis = 0; axis < size.length; axis++) {
    const n = size[axis];
    const stride = strides[axis];
    const c = new Float64Array(n);
    for (let start = 0; start < out.length; start++) {
      if (Math.floor(start / stride) % n !== 0) continue;
      for (let i = 0; i < n; i++) c[i] = out[start + i * stride] * ((1 - z) * (1 - 1 / z));
      const horizon = Math.min(n, Math.ceil(Math.log(1e-12) / Math.log(Math.abs(z))));
      let sum = c[0];
      let zk = z;
      for (let k = 1; k < horizon; k++) {
        sum += zk * c[k];
        zk *= z;
      }
      c[0] = sum;
      for (let i = 1; i < n; i++) c[i] += z * c[i - 1];
      c[n - 1] = (z / (z * z - 1)) * (c[n - 1] + z * c[n - 2]);
      for (let i = n - 2; i >= 0; i--) c[i] = z * (c[i + 1] - c[i]);
      for (let i = 0; i < n; i++) out[start + i * stride] = c[i];
    }
  }
  return out;
}

describe("cubic B-spline prefilter", () => {
  for (const size of [
    [13, 9],
    [11, 7, 6],
    [30, 4, 25],
  ]) {
    it(`interpolates the samples and equals the line-by-line filter bit for bit (${size.join("×")})`, () => {
      const rand = seededRandom(size.length * 100 + size[0]);
      const total = size.reduce((a, b) => a * b, 1);
      const values = Float64Array.from({ length: total }, () => 200 * rand() - 50);
      const coefficients = cubicBSplineCoefficients(values, size);
      expect(Array.from(coefficients)).toEqual(Array.from(lineByLine(values, size)));
      const coords: number[] = [];
      const expected: number[] = [];
      for (let t = 0; t < total; t++) {
        let rest = t;
        const index = size.map((n) => {
          const i = rest % n;
          rest = Math.floor(rest / n);
          return i;
        });
        if (index.every((i, k) => i >= 1 && i <= size[k] - 2)) {
          coords.push(...index);
          expected.push(values[t]);
        }
      }
      const { values: sampled } = sampleImageCpu({ size, values: coefficients }, coords, "cubic");
      for (let i = 0; i < expected.length; i++) expect(sampled[i]).toBeCloseTo(expected[i], 9);
    });
  }
});
