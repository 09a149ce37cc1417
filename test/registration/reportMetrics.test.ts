/**
 * The MSEs registerImages reports against brute force: metricBefore is the images as given (pixel by pixel on
 * a shared grid; the moving image linearly resampled at the fixed pixels' physical points otherwise),
 * metricAfter the returned warped image against the fixed one.
 */
import { describe, expect, it } from "vitest";
import { createImage } from "../../fields/image.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { sampleImageCpu } from "../../kernels/cpu/imageKernels.js";
import { blobs, imageOf } from "./helpers.js";

const fixed = imageOf([40, 36], blobs);
const mse = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
};

describe("registerImages' reported MSEs", () => {
  it("on a shared grid: metricBefore pixel by pixel, metricAfter of the returned warped image", async () => {
    const moving = imageOf([40, 36], (x, y) => blobs(x + 1.3, y - 0.7));
    const { report, warped } = await registerImages(fixed, moving, {
      initial: "none",
      levels: 1,
      iterations: 3,
    });
    expect(report.metricBefore).toBeCloseTo(mse(moving.data, fixed.data), 9);
    expect(report.metricAfter).toBeCloseTo(mse(warped.data, fixed.data), 9);
  });

  it("on a moving grid shifted by a fraction of a pixel: metricBefore of the linearly resampled moving image", async () => {
    const values = imageOf([42, 38], (x, y) => blobs(x - 0.4, y + 0.25)).data;
    const moving = createImage(values, [42, 38], { origin: [0.4, -0.25] });
    const { report } = await registerImages(fixed, moving, { initial: "none", levels: 1, iterations: 0 });
    // the fixed pixel (i, j) sits at moving index (i − 0.4, j + 0.25)
    const coords: number[] = [];
    for (let j = 0; j < 36; j++) for (let i = 0; i < 40; i++) coords.push(i - 0.4, j + 0.25);
    const resampled = sampleImageCpu(
      { size: moving.size, values: Float64Array.from(values) },
      coords,
      "linear",
    );
    expect(report.metricBefore).toBeCloseTo(mse(resampled.values, fixed.data), 9);
  });
});
