/**
 * What the 2D registration tests leave out: the loss gradient in 3D (every metric, anisotropic rotated
 * geometry) and on a random pixel subset (`samples`, another evaluation path than the grid), against finite
 * differences; and in 3D the exact Jacobian determinant against central differences of mapPoints and the
 * Newton inverse against the forward map.
 */
import { describe, expect, it } from "vitest";
import { gradcheck } from "../../autodiff/gradcheck.js";
import { Tensor } from "../../autodiff/tensor.js";
import { DisplacementTransform, frameToMovingIndex } from "../../fields/displacementTransform.js";
import { createImage, type Image, indexToPhysical, transformPoints } from "../../fields/image.js";
import { type LevelData, levelLoss, type Metric } from "../../fitting/registration/levelLoss.js";
import { sampleIndices } from "../../fitting/registration/registerImages.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { seededRandom } from "../helpers/random.js";
import { blobs, imageOf, randomField } from "./helpers.js";

/** A smooth 3D image: Gaussian blobs, values 0 … ~200. */
function blobs3(x: number, y: number, z: number): number {
  return (
    blobs(x, y) * Math.exp(-((z - 6) ** 2) / 40) +
    60 * Math.exp(-((x - 9) ** 2 + (y - 10) ** 2 + (z - 4) ** 2) / 18)
  );
}

function volume(size: number[], f: (x: number, y: number, z: number) => number, geometry = {}): Image {
  const data = new Float64Array(size[0] * size[1] * size[2]);
  for (let k = 0; k < size[2]; k++)
    for (let j = 0; j < size[1]; j++)
      for (let i = 0; i < size[0]; i++) data[i + size[0] * (j + size[1] * k)] = f(i, j, k);
  return createImage(data, size, geometry);
}

// rotation about z by 0.15 then about x by 0.1 (columns: the index axes)
const c1 = Math.cos(0.15);
const s1 = Math.sin(0.15);
const c2 = Math.cos(0.1);
const s2 = Math.sin(0.1);
const rotated = [c1, s1 * c2, s1 * s2, -s1, c1 * c2, c1 * s2, 0, -s2, c2];

describe("registration loss gradients beyond 2D full grids", () => {
  const fixed3 = volume([11, 10, 7], blobs3, { spacing: [1, 1.2, 2] });
  const moving3 = volume([15, 15, 10], (x, y, z) => blobs3(x + 0.8, y - 0.6, z + 0.3), {
    spacing: [0.9, 1.1, 1.8],
    origin: [-1.5, 0.5, -1],
    direction: rotated,
  });
  const extent3 = fixed3.size.map((n, k) => (n - 1) * fixed3.spacing[k]);
  for (const metric of ["ssd", "ncc", "mi"] as Metric[]) {
    it(`3D ${metric}: gradient of finite differences (cubic moving image, rotated anisotropic geometry, bending on)`, () => {
      const field = randomField(extent3, 0.6, 9, 3);
      const data: LevelData = {
        gridOrigin: [0, 0, 0],
        gridSpacing: fixed3.spacing,
        gridCounts: fixed3.size,
        fixedValues: Float64Array.from(fixed3.data),
        moving: { size: moving3.size, values: cubicBSplineCoefficients(moving3.data, moving3.size) },
        frameToMoving: frameToMovingIndex(fixed3, moving3),
      };
      const objective = levelLoss(field.plan, data, metric === "ssd" ? 0.5 : 1e-3, "cubic", metric);
      const result = gradcheck(
        ([x]) => objective.loss(x),
        [new Tensor(Float64Array.from(field.control), [field.control.length])],
        { eps: 1e-5, directions: 2, tolerance: 1e-6 },
      );
      expect(result.passed).toBe(true);
    });
  }

  for (const metric of ["ssd", "mi"] as Metric[]) {
    it(`2D ${metric} on a random pixel subset (samples): gradient of finite differences, and the subset really used`, () => {
      const fixed = imageOf([33, 29], blobs);
      const moving = imageOf([33, 29], (x, y) => blobs(x + 1.2, y - 0.7));
      const field = randomField([32, 28], 0.8, 5);
      const base: LevelData = {
        gridOrigin: [0, 0],
        gridSpacing: [1, 1],
        gridCounts: [33, 29],
        fixedValues: Float64Array.from(fixed.data),
        moving: { size: moving.size, values: cubicBSplineCoefficients(moving.data, moving.size) },
        frameToMoving: frameToMovingIndex(fixed, moving),
      };
      const samples = sampleIndices(33 * 29, 300, 4);
      const subset = levelLoss(field.plan, { ...base, samples }, 0, "cubic", metric);
      const x = new Tensor(Float64Array.from(field.control), [field.control.length]);
      expect(
        gradcheck(([c]) => subset.loss(c), [x], { eps: 1e-5, directions: 4, tolerance: 1e-6 }).passed,
      ).toBe(true);
      if (metric === "ssd") {
        // the subset's loss is the mean over those pixels of the full grid's squared residuals
        const residual = levelLoss(field.plan, base, 0, "cubic", "ssd").residual(field.control);
        let mean = 0;
        for (const t of samples) mean += residual[t] / samples.length;
        expect(subset.loss(x).item()).toBeCloseTo(mean, 9);
      }
    });
  }
});

describe("DisplacementTransform in 3D (rotated, anisotropic grid)", () => {
  const geometry = { size: [9, 8, 6], spacing: [1.5, 1.2, 2.5], origin: [3, -2, 7], direction: rotated };
  const extent = geometry.size.map((n, k) => (n - 1) * geometry.spacing[k]);
  const t = new DisplacementTransform(geometry, randomField(extent, 0.9, 13, 3));
  const gentle = new DisplacementTransform(geometry, randomField(extent, 0.5, 13, 3));
  const pixels = transformPoints(
    indexToPhysical(geometry),
    Float64Array.from({ length: 9 * 8 * 6 * 3 }, (_, i) => {
      const p = Math.floor(i / 3);
      return [p % 9, Math.floor(p / 9) % 8, Math.floor(p / 72)][i % 3];
    }),
  );

  it("jacobianDeterminant matches central differences of mapPoints at every interior voxel", () => {
    const det = t.jacobianDeterminant();
    const h = 1e-5;
    let worst = 0;
    let spread = 0;
    for (let p = 0; p < 9 * 8 * 6; p++) {
      const [i, j, k] = [p % 9, Math.floor(p / 9) % 8, Math.floor(p / 72)];
      if (i === 0 || j === 0 || k === 0 || i === 8 || j === 7 || k === 5) continue; // one-sided at the edge
      const x = [pixels[3 * p], pixels[3 * p + 1], pixels[3 * p + 2]];
      const probes: number[] = [];
      for (let a = 0; a < 3; a++)
        for (const sign of [1, -1]) probes.push(...x.map((v, b) => v + (a === b ? sign * h : 0)));
      const m = t.mapPoints(probes);
      // J[r][a] = ∂T_r / ∂x_a
      const J = [0, 1, 2].map((r) => [0, 1, 2].map((a) => (m[6 * a + r] - m[6 * a + 3 + r]) / (2 * h)));
      const fd =
        J[0][0] * (J[1][1] * J[2][2] - J[1][2] * J[2][1]) -
        J[0][1] * (J[1][0] * J[2][2] - J[1][2] * J[2][0]) +
        J[0][2] * (J[1][0] * J[2][1] - J[1][1] * J[2][0]);
      worst = Math.max(worst, Math.abs(fd - det[p]));
      spread = Math.max(spread, Math.abs(det[p] - 1));
    }
    expect(spread).toBeGreaterThan(0.1); // the field really deforms
    expect(worst).toBeLessThan(1e-7);
  });

  it("inverseMapPoints inverts mapPoints (both ways) to 1e-9 mm", () => {
    expect(Math.min(...gentle.jacobianDeterminant())).toBeGreaterThan(0);
    const rand = seededRandom(5);
    const index = Float64Array.from(
      { length: 3 * 150 },
      (_, i) => (0.05 + 0.9 * rand()) * (geometry.size[i % 3] - 1),
    );
    const x = transformPoints(indexToPhysical(geometry), index);
    const back = gentle.inverseMapPoints(gentle.mapPoints(x));
    const forth = gentle.mapPoints(gentle.inverseMapPoints(x));
    let moved = 0;
    const mapped = gentle.mapPoints(x);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(back[i] - x[i])).toBeLessThan(1e-9);
      expect(Math.abs(forth[i] - x[i])).toBeLessThan(1e-9);
      moved = Math.max(moved, Math.abs(mapped[i] - x[i]));
    }
    expect(moved).toBeGreaterThan(0.1);
  });
});
