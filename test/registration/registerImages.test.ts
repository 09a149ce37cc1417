/**
 * The registration loss and driver: the gradient of SSD + bending through the primitives against finite
 * differences, and a small synthetic 2D registration (a smooth image under a known smooth warp).
 */
import { describe, expect, it } from "vitest";
import { gradcheck } from "../../autodiff/gradcheck.js";
import { Tensor } from "../../autodiff/tensor.js";
import { DisplacementTransform, frameToMovingIndex } from "../../fields/displacementTransform.js";
import { createImage, indexToPhysical, transformPoints } from "../../fields/image.js";
import { levelLoss, type Metric } from "../../fitting/registration/levelLoss.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { blobs, imageOf, randomField } from "./helpers.js";

describe("metric + bending loss", () => {
  const cases: [Metric, "cubic" | "linear"][] = [
    ["ssd", "cubic"],
    ["ssd", "linear"],
    ["ncc", "cubic"],
    ["mi", "cubic"],
  ];
  for (const [metric, interpolation] of cases) {
    it(`has the gradient of finite differences (${metric}, ${interpolation} moving image, rotated moving geometry)`, () => {
      const fixed = imageOf([33, 29], blobs);
      const movingImage = createImage(imageOf([36, 36], (x, y) => blobs(x + 1.5, y - 1)).data, [36, 36], {
        spacing: [0.9, 1.1],
        origin: [-2, 1],
        direction: [Math.cos(0.1), Math.sin(0.1), -Math.sin(0.1), Math.cos(0.1)],
      });
      const field = randomField([32, 28], 0.8, 5);
      const values =
        interpolation === "cubic"
          ? cubicBSplineCoefficients(movingImage.data, movingImage.size)
          : Float64Array.from(movingImage.data);
      const objective = levelLoss(
        field.plan,
        {
          gridOrigin: [0, 0],
          gridSpacing: [1, 1],
          gridCounts: [33, 29],
          fixedValues: Float64Array.from(fixed.data),
          moving: { size: movingImage.size, values },
          frameToMoving: frameToMovingIndex(fixed, movingImage),
        },
        metric === "ssd" ? 0.5 : 1e-3,
        interpolation,
        metric,
      );
      // linear interpolation has kinks at pixel lines: a small step keeps most differences on one side
      const result = gradcheck(
        ([x]) => objective.loss(x),
        [new Tensor(Float64Array.from(field.control), [field.control.length])],
        {
          eps: interpolation === "cubic" ? 1e-5 : 1e-7,
          directions: 4,
          tolerance: interpolation === "cubic" ? 1e-6 : 1e-3,
        },
      );
      expect(result.passed).toBe(true);
    });
  }
});

describe("SSD loss geometry", () => {
  it("samples the moving image at x + u(x) in physical space (rotated, anisotropic, shifted grids)", () => {
    const fixed = createImage(new Float64Array(15 * 12), [15, 12], {
      spacing: [1.5, 2],
      origin: [5, -3],
      direction: [Math.cos(0.3), Math.sin(0.3), -Math.sin(0.3), Math.cos(0.3)],
    });
    const moving = createImage(new Float64Array(70 * 70), [70, 70], {
      spacing: [0.8, 1.1],
      origin: [-20, -25],
      direction: [Math.cos(-0.2), Math.sin(-0.2), -Math.sin(-0.2), Math.cos(-0.2)],
    });
    // moving values: an affine function of the physical point, so linear interpolation is exact
    const g = (x: number, y: number) => 0.7 * x - 1.3 * y + 4;
    const m = moving.data as Float64Array;
    const toPhysical = indexToPhysical(moving);
    for (let j = 0; j < 70; j++)
      for (let i = 0; i < 70; i++) {
        const [x, y] = transformPoints(toPhysical, [i, j]);
        m[i + 70 * j] = g(x, y);
      }
    const field = randomField([14 * 1.5, 11 * 2], 1.5, 8);
    const objective = levelLoss(
      field.plan,
      {
        gridOrigin: [0, 0],
        gridSpacing: fixed.spacing,
        gridCounts: fixed.size,
        fixedValues: new Float64Array(15 * 12),
        moving: { size: moving.size, values: m },
        frameToMoving: frameToMovingIndex(fixed, moving),
      },
      0,
      "linear",
    );
    const loss = objective.loss(new Tensor(Float64Array.from(field.control), [field.control.length])).item();
    const pixels = transformPoints(
      indexToPhysical(fixed),
      Float64Array.from({ length: 15 * 12 * 2 }, (_, i) =>
        i % 2 === 0 ? (i / 2) % 15 : Math.floor(i / 2 / 15),
      ),
    );
    const mapped = new DisplacementTransform(fixed, field).mapPoints(pixels);
    let expected = 0;
    for (let p = 0; p < 15 * 12; p++) expected += g(mapped[2 * p], mapped[2 * p + 1]) ** 2 / (15 * 12);
    expect(Math.abs(loss - expected)).toBeLessThan(1e-9 * expected);
  });
});

describe("registerImages", () => {
  it("recovers a known smooth warp of a 64² image: MSE falls by 500× or more, no folding", async () => {
    const size: [number, number] = [64, 64];
    const fixed = imageOf(size, blobs);
    // the moving image is the fixed one seen through x ↦ x + w(x): moving(T⁻¹ y) = fixed(y) with T = id + w
    const truth = new DisplacementTransform(fixed, randomField([63, 63], 3, 21, 3));
    expect(Math.min(...truth.jacobianDeterminant())).toBeGreaterThan(0.3);
    const grid: number[] = [];
    for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) grid.push(i, j);
    const source = truth.inverseMapPoints(grid);
    const moving = createImage(
      Float64Array.from({ length: 64 * 64 }, (_, p) => blobs(source[2 * p], source[2 * p + 1])),
      size,
    );
    const progress: number[] = [];
    const { transform, report, warped } = await registerImages(fixed, moving, {
      gridSpacing: 16,
      levels: 2,
      iterations: 60,
      onProgress: (p) => progress.push(p.metric),
    });
    expect(report.metricBefore).toBeGreaterThan(20);
    expect(report.metricAfter).toBeLessThan(report.metricBefore / 500);
    expect(Math.min(...transform.jacobianDeterminant())).toBeGreaterThan(0);
    expect(progress.length).toBe(report.iterations.length);
    expect(warped.size).toEqual(size);
    // the recovered displacement is the true one where the image has structure (away from the borders)
    const inner: number[] = [];
    for (let j = 16; j < 48; j += 4) for (let i = 16; i < 48; i += 4) inner.push(i, j);
    const a = transform.mapPoints(inner);
    const b = truth.mapPoints(inner);
    let error = 0;
    for (let k = 0; k < inner.length; k += 2) error += Math.hypot(a[k] - b[k], a[k + 1] - b[k + 1]);
    expect(error / (inner.length / 2)).toBeLessThan(0.5);
  });

  it("mi recovers a warp under a non-monotone intensity map (endpoint error < 0.5 px) where ssd cannot", async () => {
    const size: [number, number] = [64, 64];
    const fixed = imageOf(size, blobs);
    const truth = new DisplacementTransform(fixed, randomField([63, 63], 4, 4, 3));
    expect(Math.min(...truth.jacobianDeterminant())).toBeGreaterThan(0.2);
    const grid: number[] = [];
    for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) grid.push(i, j);
    const source = truth.inverseMapPoints(grid);
    // a non-monotone map of intensities: dark and bright both come out bright
    const remap = (v: number) => 200 - 2.5 * Math.abs(v - 60);
    const moving = createImage(
      Float64Array.from({ length: 64 * 64 }, (_, p) => remap(blobs(source[2 * p], source[2 * p + 1]))),
      size,
    );
    const inner: number[] = [];
    for (let j = 16; j < 48; j += 4) for (let i = 16; i < 48; i += 4) inner.push(i, j);
    const b = truth.mapPoints(inner);
    const endpointError = (a: Float64Array) => {
      let error = 0;
      for (let k = 0; k < inner.length; k += 2) error += Math.hypot(a[k] - b[k], a[k + 1] - b[k + 1]);
      return error / (inner.length / 2);
    };
    const options = { gridSpacing: 16, levels: 2 };
    const mi = await registerImages(fixed, moving, { ...options, metric: "mi" });
    const ssd = await registerImages(fixed, moving, { ...options, metric: "ssd" });
    expect(endpointError(Float64Array.from(inner))).toBeGreaterThan(1); // the warp is real
    expect(endpointError(mi.transform.mapPoints(inner))).toBeLessThan(0.5);
    expect(endpointError(ssd.transform.mapPoints(inner))).toBeGreaterThan(1);
  });

  it("refuses images of different dimension and bad options with named errors", async () => {
    const fixed = imageOf([8, 8], blobs);
    const volume = createImage(new Float64Array(8 * 8 * 8), [8, 8, 8]);
    await expect(registerImages(fixed, volume)).rejects.toThrow(/fixed image is 2D but moving image is 3D/);
    await expect(registerImages(fixed, fixed, { refine: "sideways" as "none" })).rejects.toThrow(
      /options\.refine/,
    );
    const bad = { ...fixed, data: Float64Array.from(fixed.data, (v, i) => (i === 5 ? Number.NaN : v)) };
    await expect(registerImages(bad, fixed)).rejects.toThrow(/fixed image: pixel 5 is NaN/);
    const infinite = {
      ...fixed,
      data: Float32Array.from(fixed.data, (v, i) => (i === 63 ? Number.NEGATIVE_INFINITY : v)),
    };
    await expect(registerImages(fixed, infinite)).rejects.toThrow(/moving image: pixel 63 is -Infinity/);
  });

  it("stops at an aborted signal and says so", async () => {
    const fixed = imageOf([32, 32], blobs);
    const moving = imageOf([32, 32], (x, y) => blobs(x + 1, y));
    const controller = new AbortController();
    const { report } = await registerImages(fixed, moving, {
      levels: 1,
      onProgress: (p) => {
        if (p.iteration === 2) controller.abort();
      },
      signal: controller.signal,
    });
    expect(report.aborted).toBe(true);
    expect(report.iterations.length).toBe(3);
  });
});
