/**
 * The 3D sampling passes of the warp kernels (interior fast paths and clamped edges, linear and cubic)
 * against the independent per-point sampler of imageKernels.ts: values, and gradients pulled back through
 * the linear part of a general (rotated, anisotropic) frame → moving map; the values-only cubic pass of the
 * final resampling equals the full pass's values bit for bit.
 */
import { describe, expect, it } from "vitest";
import { sampleImageCpu } from "../../kernels/cpu/imageKernels.js";
import { sample3DPass, sampleCubic3DValues } from "../../kernels/cpu/warpSampling.js";
import { seededRandom } from "../helpers/random.js";

describe("3D warp sampling passes", () => {
  for (const interpolation of ["linear", "cubic"] as const) {
    it(`equal the per-point sampler inside and at the clamped edges (${interpolation})`, () => {
      const rand = seededRandom(interpolation === "linear" ? 11 : 12);
      const size = [9, 7, 6];
      const values = Float64Array.from({ length: 9 * 7 * 6 }, () => 100 * rand() - 30);
      // a column-major 4×4 map whose linear part mixes every axis
      const A = Float64Array.from([0.9, 0.2, -0.1, 0, -0.3, 1.1, 0.05, 0, 0.15, -0.2, 0.8, 0, 1, 2, 3, 1]);
      const count = 4000;
      const coords = new Float64Array(3 * count);
      // a third well inside (the fast paths), the rest spread past every face (the clamped taps)
      for (let t = 0; t < count; t++)
        for (let k = 0; k < 3; k++)
          coords[3 * t + k] = t % 3 === 0 ? 1 + (size[k] - 4) * rand() : -2.5 + (size[k] + 4) * rand();
      const du = Float64Array.from(coords);
      const out = new Float64Array(count);
      sample3DPass({ size, values, interpolation, frameToMoving: A }, du, out, count);
      const reference = sampleImageCpu({ size, values }, coords, interpolation);
      let worstValue = 0;
      let worstGradient = 0;
      for (let t = 0; t < count; t++) {
        worstValue = Math.max(worstValue, Math.abs(out[t] - reference.values[t]));
        for (let c = 0; c < 3; c++) {
          let pulled = 0;
          for (let r = 0; r < 3; r++) pulled += A[4 * c + r] * reference.gradient[3 * t + r];
          worstGradient = Math.max(worstGradient, Math.abs(du[3 * t + c] - pulled));
        }
      }
      expect(worstValue).toBeLessThan(1e-10);
      expect(worstGradient).toBeLessThan(1e-10);
      if (interpolation === "cubic") {
        // the values-only pass of the final resampling: the same numbers, bit for bit
        const alone = new Float64Array(count);
        sampleCubic3DValues({ size, values, interpolation, frameToMoving: A }, coords, alone, count);
        expect(Array.from(alone)).toEqual(Array.from(out));
      }
    });
  }
});
