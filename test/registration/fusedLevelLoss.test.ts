/**
 * The fused registration loss (warp kernels + metric cotangents + transposed extraction, no tape): equal to
 * the autodiff composition of levelLoss.ts within 1e-10 (value and gradient, f64) on 2D and 3D, every metric,
 * pixel subsets and masks; gradients against central finite differences (metrics, bending, det J penalty);
 * the mask really excludes pixels.
 */
import { describe, expect, it } from "vitest";
import { valueAndGrad } from "../../autodiff/grad.js";
import { Tensor } from "../../autodiff/tensor.js";
import { frameToMovingIndex, jacobianDeterminants } from "../../fields/displacementTransform.js";
import { createImage, type Image } from "../../fields/image.js";
import type { THBField } from "../../fields/thbField.js";
import { THBField as Field } from "../../fields/thbField.js";
import { fusedLevelLoss } from "../../fitting/registration/fusedLevelLoss.js";
import { jacobianPenalty } from "../../fitting/registration/jacobianPenalty.js";
import { type LevelData, levelLoss, type Metric } from "../../fitting/registration/levelLoss.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { elementGaussPoint } from "../../kernels/cpu/elementQuadrature.js";
import { gridPoints } from "../../kernels/cpu/gridPoints.js";
import { sampleImageCpu } from "../../kernels/cpu/imageKernels.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";
import { seededRandom } from "../helpers/random.js";
import { blobs, imageOf, randomField } from "./helpers.js";

type Interp = "linear" | "cubic";

/** A 3D smooth volume: blobs in x, y modulated along z. */
function volumeOf(size: [number, number, number], shift: [number, number, number]): Image {
  const [nx, ny, nz] = size;
  const data = new Float64Array(nx * ny * nz);
  for (let k = 0; k < nz; k++)
    for (let j = 0; j < ny; j++)
      for (let i = 0; i < nx; i++)
        data[i + nx * (j + ny * k)] =
          blobs(1.8 * (i + shift[0]), 1.8 * (j + shift[1])) * (1 + 0.5 * Math.sin(0.4 * (k + shift[2])));
  return createImage(data, size, { spacing: [1, 1, 1.5] });
}

/** A level of the 2D case: fixed 33×29, moving on a rotated, anisotropic, shifted grid. */
function case2D(interpolation: Interp, extra: Partial<LevelData> = {}): { data: LevelData; field: THBField } {
  const fixed = imageOf([33, 29], blobs);
  const moving = createImage(imageOf([36, 36], (x, y) => blobs(x + 1.5, y - 1)).data, [36, 36], {
    spacing: [0.9, 1.1],
    origin: [-2, 1],
    direction: [Math.cos(0.1), Math.sin(0.1), -Math.sin(0.1), Math.cos(0.1)],
  });
  const values =
    interpolation === "cubic"
      ? cubicBSplineCoefficients(moving.data, moving.size)
      : Float64Array.from(moving.data);
  return {
    field: randomField([32, 28], 0.8, 5),
    data: {
      gridOrigin: [0, 0],
      gridSpacing: [1, 1],
      gridCounts: [33, 29],
      fixedValues: Float64Array.from(fixed.data),
      moving: { size: moving.size, values },
      frameToMoving: frameToMovingIndex(fixed, moving),
      ...extra,
    },
  };
}

/** A level of the 3D case: 14×13×9 voxels, anisotropic spacing. */
function case3D(interpolation: Interp, extra: Partial<LevelData> = {}): { data: LevelData; field: THBField } {
  const fixed = volumeOf([14, 13, 9], [0, 0, 0]);
  const moving = volumeOf([15, 15, 10], [0.6, -0.4, 0.3]);
  const values =
    interpolation === "cubic"
      ? cubicBSplineCoefficients(moving.data, moving.size)
      : Float64Array.from(moving.data);
  return {
    field: randomField([13, 12, 8 * 1.5], 0.5, 9, 2),
    data: {
      gridOrigin: [0, 0, 0],
      gridSpacing: [1, 1, 1.5],
      gridCounts: [14, 13, 9],
      fixedValues: Float64Array.from(fixed.data),
      moving: { size: moving.size, values },
      frameToMoving: frameToMovingIndex(fixed, moving),
      ...extra,
    },
  };
}

const options = (metric: Metric, interpolation: Interp, bending = 0) => ({
  metric,
  interpolation,
  bending,
  jacobianWeight: 0,
  jacobianThreshold: 0.1,
});

function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    norm = Math.max(norm, Math.abs(b[i]));
  }
  return diff / norm;
}

/** Central difference of f along a random direction, against the gradient's projection. */
function directionalCheck(
  f: (x: Float64Array, g: Float64Array) => number,
  x0: Float64Array,
  eps: number,
  seed: number,
): { analytic: number; numeric: number } {
  const rand = seededRandom(seed);
  const v = Float64Array.from(x0, () => 2 * rand() - 1);
  const g = new Float64Array(x0.length);
  f(x0, g);
  let analytic = 0;
  for (let i = 0; i < v.length; i++) analytic += g[i] * v[i];
  const scratch = new Float64Array(x0.length);
  const plus = f(
    Float64Array.from(x0, (x, i) => x + eps * v[i]),
    scratch,
  );
  const minus = f(
    Float64Array.from(x0, (x, i) => x - eps * v[i]),
    scratch,
  );
  return { analytic, numeric: (plus - minus) / (2 * eps) };
}

describe("fused level loss", () => {
  const metrics: Metric[] = ["ssd", "ncc", "mi"];
  for (const [name, make] of [
    ["2D", case2D],
    ["3D", case3D],
  ] as const) {
    for (const metric of metrics) {
      for (const interpolation of ["linear", "cubic"] as const) {
        it(`equals the autodiff loss and gradient within 1e-10 (${name}, ${metric}, ${interpolation})`, () => {
          const { data, field } = make(interpolation);
          const bending = metric === "ssd" ? 0.5 : 1e-3;
          const fused = fusedLevelLoss(field.plan, data, options(metric, interpolation, bending));
          const reference = levelLoss(field.plan, data, bending, interpolation, metric);
          const gradient = new Float64Array(field.control.length);
          const value = fused.evaluate(Float64Array.from(field.control), gradient);
          const expected = valueAndGrad(
            reference.loss,
            new Tensor(Float64Array.from(field.control), [field.control.length]),
          );
          expect(Math.abs(value - expected.value.item())).toBeLessThan(
            1e-10 * Math.abs(expected.value.item()),
          );
          expect(relativeError(gradient, expected.grad.values)).toBeLessThan(1e-10);
        });
      }
    }
  }

  it("equals the autodiff loss on a random pixel subset and under a mask (2D and 3D)", () => {
    for (const make of [case2D, case3D]) {
      const base = make("cubic").data;
      const total = base.fixedValues.length;
      const rand = seededRandom(3);
      const mask = Uint8Array.from({ length: total }, () => (rand() < 0.6 ? 1 : 0));
      const samples = Int32Array.from({ length: total }, (_, t) => t).filter((t) => t % 3 === 1);
      for (const extra of [{ mask }, { samples }]) {
        for (const metric of metrics) {
          const { data, field } = make("cubic", extra);
          const fused = fusedLevelLoss(field.plan, data, options(metric, "cubic"));
          const reference = levelLoss(field.plan, data, 0, "cubic", metric);
          const gradient = new Float64Array(field.control.length);
          const value = fused.evaluate(Float64Array.from(field.control), gradient);
          const expected = valueAndGrad(
            reference.loss,
            new Tensor(Float64Array.from(field.control), [field.control.length]),
          );
          expect(Math.abs(value - expected.value.item())).toBeLessThan(
            1e-10 * Math.abs(expected.value.item()),
          );
          expect(relativeError(gradient, expected.grad.values)).toBeLessThan(1e-10);
        }
      }
    }
  });

  for (const metric of metrics) {
    it(`has the gradient of central finite differences (${metric}, bending and det J penalty on, 2D and 3D)`, () => {
      for (const make of [case2D, case3D]) {
        const { data, field } = make("cubic");
        const fused = fusedLevelLoss(field.plan, data, {
          ...options(metric, "cubic", 1e-3),
          jacobianWeight: 2,
          // above 1, so the penalty is active at most points
          jacobianThreshold: 0.95,
        });
        for (let seed = 1; seed <= 3; seed++) {
          const { analytic, numeric } = directionalCheck(
            (x, g) => fused.evaluate(x, g),
            Float64Array.from(field.control),
            1e-6,
            seed,
          );
          expect(Math.abs(analytic - numeric)).toBeLessThan(1e-6 * Math.max(1, Math.abs(numeric)));
        }
      }
    });
  }

  it("leaves the pixels outside the fixed mask out of the metric", () => {
    const { data, field } = case2D("cubic");
    const total = data.fixedValues.length;
    // mask: the left half of the grid
    const mask = Uint8Array.from({ length: total }, (_, t) => (t % 33 < 16 ? 1 : 0));
    const changed = Float64Array.from(data.fixedValues, (v, t) => (mask[t] ? v : v + 500));
    const control = Float64Array.from(field.control);
    const g1 = new Float64Array(control.length);
    const g2 = new Float64Array(control.length);
    for (const metric of metrics) {
      const a = fusedLevelLoss(field.plan, { ...data, mask }, options(metric, "cubic")).evaluate(control, g1);
      const b = fusedLevelLoss(field.plan, { ...data, fixedValues: changed, mask }, options(metric, "cubic"));
      // mi's histogram range follows the fixed values, so it sees the change through its bins only: skip it
      if (metric !== "mi") {
        expect(b.evaluate(control, g2)).toBe(a);
        expect(relativeError(g2, g1)).toBe(0);
      }
      // and without the mask the changed pixels do count
      const c = fusedLevelLoss(field.plan, { ...data, fixedValues: changed }, options(metric, "cubic"));
      expect(Math.abs(c.evaluate(control, g2) - a)).toBeGreaterThan(1e-3);
    }
  });
});

describe("det J penalty", () => {
  it("is the mean of max(0, τ − det J)² over every element's Gauss points (brute force through the transform)", () => {
    for (const field of [randomField([32, 28], 4, 5), randomField([13, 12, 12], 2.5, 9, 2)]) {
      const plan = field.plan;
      const d = plan.dimension;
      const threshold = 0.7;
      const penalty = jacobianPenalty(plan, threshold);
      const rules = Array.from(plan.degrees, (p) => gaussLegendre(p + 1, 0, 1));
      const perElement = rules.reduce((n, r) => n * r.nodes.length, 1);
      const points = new Float64Array(plan.elementCount * perElement * d);
      for (let e = 0, o = 0; e < plan.elementCount; e++)
        for (let g = 0; g < perElement; g++, o += d) elementGaussPoint(plan, rules, e, g, points, o);
      const det = jacobianDeterminants(field, points);
      let expected = 0;
      for (const v of det) expected += Math.max(0, threshold - v) ** 2 / det.length;
      expect(expected).toBeGreaterThan(0);
      const gradient = new Float64Array(field.control.length);
      const value = penalty.addTo(Float64Array.from(field.control), 1, gradient);
      expect(penalty.points).toBe(det.length);
      expect(Math.abs(value - expected)).toBeLessThan(1e-12 * expected);
      expect(Math.abs(penalty.minimum(Float64Array.from(field.control)) - Math.min(...det))).toBeLessThan(
        1e-12,
      );
    }
  });
});

describe("fused level loss curvature", () => {
  it("is Σ_x T_j(x) (Lᵀ∇M)_c² by brute force: every basis function and the sampled gradient at every pixel", () => {
    for (const [interpolation, masked] of [
      ["linear", false],
      ["cubic", false],
      ["cubic", true],
    ] as const) {
      // masked: only the left half of the fixed grid counts
      const mask = Uint8Array.from({ length: 33 * 29 }, (_, t) => (t % 33 < 16 ? 1 : 0));
      const { data, field } = case2D(interpolation, masked ? { mask } : {});
      const h = fusedLevelLoss(field.plan, data, options("ssd", interpolation)).curvature(field.control);
      const points = gridPoints([...data.gridOrigin], [...data.gridSpacing], [...data.gridCounts]);
      const count = points.length / 2;
      // the warped point A (x + u(x)) as a moving index, and Lᵀ ∇M there
      const u = field.evaluate(points);
      const A = data.frameToMoving;
      const coords = new Float64Array(2 * count);
      for (let t = 0; t < count; t++) {
        const x = points[2 * t] + u[2 * t];
        const y = points[2 * t + 1] + u[2 * t + 1];
        coords[2 * t] = A[6] + A[0] * x + A[3] * y;
        coords[2 * t + 1] = A[7] + A[1] * x + A[4] * y;
      }
      const { gradient } = sampleImageCpu(data.moving, coords, interpolation);
      const g = new Float64Array(2 * count);
      for (let t = 0; t < count; t++) {
        g[2 * t] = A[0] * gradient[2 * t] + A[1] * gradient[2 * t + 1];
        g[2 * t + 1] = A[3] * gradient[2 * t] + A[4] * gradient[2 * t + 1];
      }
      const functions = field.space.size;
      expect(h.length).toBe(2 * functions);
      for (let j = 0; j < functions; j++) {
        // T_j at every pixel: the scalar field whose only non-zero coefficient is j's
        const unit = new Float64Array(functions);
        unit[j] = 1;
        const T = new Field(field.space, unit, 1).evaluate(points);
        for (let c = 0; c < 2; c++) {
          let expected = 0;
          for (let t = 0; t < count; t++) if (!masked || mask[t]) expected += T[t] * g[2 * t + c] ** 2;
          expect(Math.abs(h[2 * j + c] - expected)).toBeLessThanOrEqual(1e-9 * Math.max(1, expected));
        }
      }
    }
  });
});
