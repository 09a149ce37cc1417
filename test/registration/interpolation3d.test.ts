/**
 * Interpolation and iterations per pyramid level: the 3D defaults (linear and 5 iterations on the coarser
 * levels, cubic and 20 at full resolution, the voxel stride by image size) are those options given explicitly, and on a generated 3D pair with a known displacement it ends closer to the truth
 * than linear interpolation throughout (linear interpolation's own error moves the optimum of the metric off
 * the true warp); a list of the wrong length or kind is named.
 */
import { describe, expect, it } from "vitest";
import { defaultSampleStride, registerImages } from "../../fitting/registration/registerImages.js";
import { endpointError, volumePair } from "../helpers/registrationPairs.js";

describe("interpolation per level (3D)", () => {
  const pair = volumePair(1, [40, 40, 20], [1, 1, 2.5]);
  const common = { initial: "none" as const, levels: 2 };

  it("defaults to linear and 5 iterations on the coarser levels, cubic and 20 at full resolution: the same run as those lists", async () => {
    const byDefault = await registerImages(pair.fixed, pair.moving, common);
    expect(byDefault.report.options.interpolation).toEqual(["linear", "cubic"]);
    expect(byDefault.report.options.iterations).toEqual([5, 20]);
    expect(byDefault.report.options.sampleStride).toBe(1); // 40×40×20: every 2nd voxel would leave 4,000
    const explicit = await registerImages(pair.fixed, pair.moving, {
      ...common,
      interpolation: ["linear", "cubic"],
      iterations: [5, 20],
      sampleStride: 1,
    });
    expect(explicit.report.metricAfter).toBe(byDefault.report.metricAfter);
    const swapped = await registerImages(pair.fixed, pair.moving, {
      ...common,
      interpolation: ["cubic", "linear"],
      iterations: [5, 20],
    });
    expect(swapped.report.levels[0].metric).not.toBe(byDefault.report.levels[0].metric);
  });

  it("cubic at full resolution ends closer to the known displacement than linear throughout", async () => {
    const options = { ...common, levels: 3, iterations: 40 };
    const cubic = await registerImages(pair.fixed, pair.moving, options);
    const linear = await registerImages(pair.fixed, pair.moving, { ...options, interpolation: "linear" });
    const before = endpointError(pair, (p) => p).voxels;
    const errorCubic = endpointError(pair, (p) => cubic.transform.mapPoints(p)).voxels;
    const errorLinear = endpointError(pair, (p) => linear.transform.mapPoints(p)).voxels;
    expect(errorLinear).toBeLessThan(before / 3); // linear registers too, only less precisely
    expect(errorCubic).toBeLessThan(0.6 * errorLinear);
    expect(cubic.report.metricAfter).toBeLessThan(0.3 * linear.report.metricAfter);
  });

  it("samples every 4th voxel per axis by default while 16,384 or more remain, fewer strides below", () => {
    expect(defaultSampleStride([128, 128, 64])).toBe(4); // 32·32·16 = 16,384
    expect(defaultSampleStride([128, 128, 60])).toBe(3); // every 4th: 32·32·15 < 16,384
    expect(defaultSampleStride([64, 64, 32])).toBe(2);
    expect(defaultSampleStride([40, 40, 20])).toBe(1);
  });

  it("names a list of the wrong length or an unknown kind", async () => {
    await expect(
      registerImages(pair.fixed, pair.moving, { ...common, interpolation: ["linear", "linear", "cubic"] }),
    ).rejects.toThrow(/options\.interpolation must be "linear" or "cubic", or a list of 2 of them/);
    await expect(
      registerImages(pair.fixed, pair.moving, {
        ...common,
        interpolation: ["linear", "nearest" as "linear"],
      }),
    ).rejects.toThrow(/options\.interpolation must be/);
  });
});
