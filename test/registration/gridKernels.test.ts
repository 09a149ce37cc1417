/**
 * The pixel-grid kernels of registration against independent references: det J on the grid from the
 * tabulated slopes against the transform's pointwise Jacobian (THB evaluation with derivatives at every
 * pixel), element pixel blocks against point location, and pyramid smoothing that computes only the kept
 * pixels against smoothing everything and subsampling.
 */
import { describe, expect, it } from "vitest";
import { DisplacementTransform } from "../../fields/displacementTransform.js";
import { createImage } from "../../fields/image.js";
import { THBField } from "../../fields/thbField.js";
import { gaussianSmooth, pyramidLevel } from "../../fitting/registration/pyramid.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { gridPoints } from "../../kernels/cpu/gridPoints.js";
import { locatePoints } from "../../kernels/cpu/planEvaluate.js";
import { gridJacobianDeterminant, pixelBlocks, separablePixelBlocks } from "../../kernels/cpu/warpKernel.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { seededRandom } from "../helpers/random.js";
import { randomField } from "./helpers.js";

describe("pixel blocks", () => {
  it("put every pixel in the element point location finds, and each element's pixels form its box (2D, 3D)", () => {
    for (const [field, counts, spacing] of [
      [randomField([32, 28], 2, 5), [17, 15], [2, 2]],
      [randomField([13, 12, 12], 1, 9, 2), [14, 13, 9], [1, 1, 1.5]],
    ] as const) {
      const plan = field.plan;
      const blocks = pixelBlocks(plan, [0, 0, 0].slice(0, counts.length), spacing, counts);
      // the boxes come from the per-axis walk, not from the per-pixel fallback
      expect(separablePixelBlocks(plan, blocks.coordinates, blocks.counts)).toBeDefined();
      const expected = locatePoints(
        plan,
        gridPoints([0, 0, 0].slice(0, counts.length), [...spacing], [...counts]),
      );
      expect(Array.from(blocks.element)).toEqual(Array.from(expected));
      const n = [counts[0], counts[1], counts[2] ?? 1];
      for (let t = 0; t < expected.length; t++) {
        const e = expected[t];
        const index = [t % n[0], Math.floor(t / n[0]) % n[1], Math.floor(t / (n[0] * n[1]))];
        for (let k = 0; k < 3; k++) {
          expect(index[k]).toBeGreaterThanOrEqual(blocks.boxes[e * 6 + 2 * k]);
          expect(index[k]).toBeLessThan(blocks.boxes[e * 6 + 2 * k + 1]);
        }
      }
    }
  });
});

/** A random biquadratic two-level THB displacement over [0, extent]. */
function quadraticField(extent: readonly number[], amplitude: number, seed: number): THBField {
  const knots = extent.map((e) => uniformKnotVector(2, 4, 0, e));
  const space = refineElements(THBSpace.create({ degrees: extent.map(() => 2), knots }), [
    { level: 0, cell: extent.map(() => 1) },
  ]);
  const rand = seededRandom(seed);
  const control = Float64Array.from({ length: space.size * 2 }, () => amplitude * (2 * rand() - 1));
  return new THBField(space, control, 2);
}

describe("det J on the pixel grid", () => {
  it("equals the transform's det(I + ∂u/∂ξ) at every pixel (2D and 3D, two-level THB fields)", () => {
    for (const [field, geometry] of [
      // bicubic 2D (the unrolled kernel), biquadratic 2D (the general one), tricubic 3D
      [randomField([32, 28], 3, 5), { size: [17, 15], spacing: [2, 2] }],
      [quadraticField([32, 28], 3, 6), { size: [17, 15], spacing: [2, 2] }],
      [randomField([13, 12, 12], 1.5, 9, 2), { size: [14, 13, 9], spacing: [1, 1, 1.5] }],
    ] as const) {
      const d = geometry.size.length;
      const fixed = createImage(
        new Float64Array(geometry.size.reduce((a, b) => a * b, 1)),
        [...geometry.size],
        {
          spacing: [...geometry.spacing],
        },
      );
      const reference = new DisplacementTransform(fixed, field).jacobianDeterminant();
      const blocks = pixelBlocks(field.plan, new Array(d).fill(0), geometry.spacing, geometry.size);
      const out = gridJacobianDeterminant(
        field.plan,
        blocks,
        field.localControl,
        new Float64Array(reference.length),
      );
      let spread = 0;
      for (const v of reference) spread = Math.max(spread, Math.abs(v - 1));
      expect(spread).toBeGreaterThan(0.05);
      for (let t = 0; t < reference.length; t++) expect(Math.abs(out[t] - reference[t])).toBeLessThan(1e-12);
    }
  });
});

describe("pyramid smoothing", () => {
  it("computing only the kept pixels gives the same numbers as smoothing everything, then subsampling (also a step sparser than the factor)", () => {
    const rand = seededRandom(11);
    for (const size of [
      [37, 29],
      [19, 14, 11],
    ]) {
      const total = size.reduce((a, b) => a * b, 1);
      const values = Float64Array.from({ length: total }, () => 255 * rand());
      for (const [factor, step] of [
        [2, 2],
        [4, 4],
        [2, 4],
      ]) {
        const full = gaussianSmooth(values, size, factor / 2);
        const level = pyramidLevel(createImage(values, size), values, factor, step);
        const [nx, ny] = size;
        const [mx, my, mz] = [level.geometry.size[0], level.geometry.size[1], level.geometry.size[2] ?? 1];
        expect(level.values.length).toBe(mx * my * mz);
        expect(level.geometry.spacing[0]).toBe(step);
        let o = 0;
        for (let k = 0; k < mz; k++)
          for (let j = 0; j < my; j++)
            for (let i = 0; i < mx; i++)
              expect(level.values[o++]).toBe(full[i * step + nx * (j * step + ny * k * step)]);
      }
    }
  });

  it("equals the 2D convolution with the normalised Gaussian, summed directly with clamped indices", () => {
    const rand = seededRandom(5);
    const [nx, ny] = [23, 17];
    const values = Float64Array.from({ length: nx * ny }, () => 255 * rand());
    for (const sigma of [0.5, 1, 2]) {
      const radius = Math.max(1, Math.ceil(3 * sigma));
      const w = (t: number) => Math.exp((-0.5 * t * t) / (sigma * sigma));
      let norm = 0;
      for (let t = -radius; t <= radius; t++) norm += w(t);
      const out = gaussianSmooth(values, [nx, ny], sigma);
      const clamp = (i: number, n: number) => Math.min(n - 1, Math.max(0, i));
      for (let j = 0; j < ny; j++)
        for (let i = 0; i < nx; i++) {
          let v = 0;
          for (let b = -radius; b <= radius; b++)
            for (let a = -radius; a <= radius; a++)
              v += ((w(a) * w(b)) / (norm * norm)) * values[clamp(i + a, nx) + nx * clamp(j + b, ny)];
          expect(Math.abs(out[i + nx * j] - v)).toBeLessThan(1e-9);
        }
    }
  });

  it("equals the direct 3D sum over the clamped neighbourhood with the normalised separable kernel", () => {
    const rand = seededRandom(12);
    const size = [9, 7, 8];
    const [nx, ny, nz] = size;
    const values = Float64Array.from({ length: nx * ny * nz }, () => 255 * rand());
    const sigma = 1;
    const radius = 3;
    const g = Array.from({ length: 2 * radius + 1 }, (_, t) => Math.exp(-0.5 * (t - radius) ** 2));
    const norm = g.reduce((a, b) => a + b, 0);
    const clamp = (i: number, n: number) => Math.min(n - 1, Math.max(0, i));
    const smoothed = gaussianSmooth(values, size, sigma, 2);
    let o = 0;
    for (let k = 0; k < nz; k += 2)
      for (let j = 0; j < ny; j += 2)
        for (let i = 0; i < nx; i += 2) {
          let v = 0;
          for (let c = -radius; c <= radius; c++)
            for (let b = -radius; b <= radius; b++)
              for (let a = -radius; a <= radius; a++)
                v +=
                  ((g[a + radius] * g[b + radius] * g[c + radius]) / norm ** 3) *
                  values[clamp(i + a, nx) + nx * (clamp(j + b, ny) + ny * clamp(k + c, nz))];
          expect(smoothed[o++]).toBeCloseTo(v, 9);
        }
    expect(o).toBe(smoothed.length);
  });

  it("keeps a constant image constant", () => {
    const values = new Float64Array(30 * 20).fill(7);
    for (const v of gaussianSmooth(values, [30, 20], 2, 2)) expect(v).toBeCloseTo(7, 12);
  });
});
