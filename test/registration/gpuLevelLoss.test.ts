/**
 * The registration loss on WebGPU (gpuLevelLoss.ts, f32) against the fused CPU loss (f64) at the same
 * coefficients: loss value and coefficient gradient on a small 2D and a small 3D level, every metric, linear
 * and cubic sampling, a pixel subset, a mask, the host regularisers; repeated evaluations identical bit for
 * bit; the marking residual per element; and short registerImages runs on each backend reaching the same
 * final metric. Skips loudly without an adapter (fails under CI=true). Mutants tried: a wrong sign in the WGSL
 * sampling gradient, swapped Parzen weights in the histogram VJP, and one term dropped from each function's
 * transposed-extraction gather each fail the gradient tests (the first every metric and both registrations;
 * the second the four mi cases, 0.32 … 0.57; the third all twelve cases, 8e-4 … 0.16).
 */
import { afterAll, describe, expect, it } from "vitest";
import { frameToMovingIndex } from "../../fields/displacementTransform.js";
import { createImage, type Image } from "../../fields/image.js";
import type { THBField } from "../../fields/thbField.js";
import { fusedLevelLoss } from "../../fitting/registration/fusedLevelLoss.js";
import { gpuLevelLoss } from "../../fitting/registration/gpuLevelLoss.js";
import type { LevelData, Metric } from "../../fitting/registration/levelLoss.js";
import { type RegistrationOptions, registerImages } from "../../fitting/registration/registerImages.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { webgpuBackend } from "../../primitives/backend.js";
import { webgpuForTests } from "../helpers/gpu.js";
import { blobs, imageOf, randomField } from "./helpers.js";

const webgpu = await webgpuForTests("WebGPU registration tests");
const backend = webgpu ? webgpuBackend(webgpu) : undefined;
const gpu = backend?.tensors;
afterAll(() => backend?.dispose());

type Interp = "linear" | "cubic";

/** A smooth volume: blobs in x, y modulated along z. */
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

function level(fixed: Image, moving: Image, interpolation: Interp, extra: Partial<LevelData>): LevelData {
  return {
    gridOrigin: fixed.size.map(() => 0),
    gridSpacing: fixed.spacing,
    gridCounts: fixed.size,
    fixedValues: Float64Array.from(fixed.data),
    moving: {
      size: moving.size,
      values:
        interpolation === "cubic"
          ? cubicBSplineCoefficients(Float64Array.from(moving.data), moving.size)
          : Float64Array.from(moving.data),
    },
    frameToMoving: frameToMovingIndex(fixed, moving),
    ...extra,
  };
}

/** 2D: fixed 33×29, moving on a rotated, anisotropic, shifted grid; a two-level THB field. */
function case2D(interpolation: Interp, extra: Partial<LevelData> = {}): { data: LevelData; field: THBField } {
  const fixed = imageOf([33, 29], blobs);
  const moving = createImage(imageOf([36, 36], (x, y) => blobs(x + 1.5, y - 1)).data, [36, 36], {
    spacing: [0.9, 1.1],
    origin: [-2, 1],
    direction: [Math.cos(0.1), Math.sin(0.1), -Math.sin(0.1), Math.cos(0.1)],
  });
  return { field: randomField([32, 28], 0.8, 5), data: level(fixed, moving, interpolation, extra) };
}

/** 3D: 14×13×9 voxels, anisotropic spacing. */
function case3D(interpolation: Interp, extra: Partial<LevelData> = {}): { data: LevelData; field: THBField } {
  const fixed = volumeOf([14, 13, 9], [0, 0, 0]);
  const moving = volumeOf([15, 15, 10], [0.6, -0.4, 0.3]);
  return { field: randomField([13, 12, 12], 0.5, 9, 2), data: level(fixed, moving, interpolation, extra) };
}

/** max |a − b| / max |b|: the gradient's error against its own scale. */
function relativeToLargest(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0;
  let norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    norm = Math.max(norm, Math.abs(b[i]));
  }
  return diff / norm;
}

const lossOptions = (metric: Metric, interpolation: Interp, bending = 0) => ({
  metric,
  interpolation,
  bending,
  jacobianWeight: 0,
  jacobianThreshold: 0.1,
});

/**
 * Tolerances (measured on SwiftShader, f32 against f64): values ≤ 8e-7 relative; gradients ≤ 7e-7 of their
 * largest entry for ssd and ncc, ≤ 2e-4 for mi, whose Parzen weights have kinks at the bin centres: samples
 * within f32 rounding of one take the other slope.
 */
const VALUE_TOLERANCE = 1e-5;
const gradientTolerance = (metric: Metric) => (metric === "mi" ? 2e-3 : 1e-5);

/** Value and gradient of both losses at the level's field. */
async function bothLosses(
  data: LevelData,
  field: THBField,
  options: ReturnType<typeof lossOptions>,
): Promise<{ cpu: number; gpu: number; gCpu: Float64Array; gGpu: Float64Array }> {
  const cpu = fusedLevelLoss(field.plan, data, options);
  const onGpu = gpuLevelLoss(gpu!, field.plan, data, options);
  const gCpu = new Float64Array(field.control.length);
  const gGpu = new Float64Array(field.control.length);
  try {
    return {
      cpu: cpu.evaluate(field.control, gCpu),
      gpu: await onGpu.evaluate(field.control, gGpu),
      gCpu,
      gGpu,
    };
  } finally {
    onGpu.release();
  }
}

describe.skipIf(!gpu)("registration loss on WebGPU vs the fused CPU loss", () => {
  const metrics: Metric[] = ["ssd", "ncc", "mi"];
  for (const [name, make] of [
    ["2D", case2D],
    ["3D", case3D],
  ] as const)
    for (const interpolation of ["linear", "cubic"] as const)
      for (const metric of metrics)
        it(`${name} ${metric}, ${interpolation} sampling: value and coefficient gradient agree in f32`, async () => {
          const { data, field } = make(interpolation);
          const r = await bothLosses(data, field, lossOptions(metric, interpolation));
          expect(Math.abs(r.gpu - r.cpu) / Math.abs(r.cpu)).toBeLessThan(VALUE_TOLERANCE);
          expect(relativeToLargest(r.gGpu, r.gCpu)).toBeLessThan(gradientTolerance(metric));
        });

  it("a pixel subset, a mask, bending and the det J penalty: the same loss", async () => {
    const rows: [string, { data: LevelData; field: THBField }, ReturnType<typeof lossOptions>][] = [];
    const samples = Int32Array.from({ length: 300 }, (_, i) => (i * 37) % (33 * 29)).sort();
    rows.push(["2D ssd on 300 samples", case2D("cubic", { samples }), lossOptions("ssd", "cubic")]);
    const mask = Uint8Array.from({ length: 33 * 29 }, (_, t) => (t % 33 < 20 ? 1 : 0));
    rows.push(["2D ncc in a mask", case2D("linear", { mask }), lossOptions("ncc", "linear")]);
    rows.push([
      "3D ssd with bending and det J penalty",
      case3D("linear"),
      { ...lossOptions("ssd", "linear", 5), jacobianWeight: 100, jacobianThreshold: 0.95 },
    ]);
    for (const [what, { data, field }, options] of rows) {
      const r = await bothLosses(data, field, options);
      expect(Math.abs(r.gpu - r.cpu) / Math.abs(r.cpu), what).toBeLessThan(VALUE_TOLERANCE);
      expect(relativeToLargest(r.gGpu, r.gCpu), what).toBeLessThan(1e-5);
    }
    // the mask really restricts the GPU loss: without it the value changes
    const { data, field } = case2D("linear", { mask });
    const unmasked = await bothLosses({ ...data, mask: undefined }, field, lossOptions("ncc", "linear"));
    const masked = await bothLosses(data, field, lossOptions("ncc", "linear"));
    expect(Math.abs(unmasked.gpu - masked.gpu)).toBeGreaterThan(1e-3 * masked.gpu);
  });

  it("repeated evaluations, by the same loss or a new one, are identical bit for bit (fixed-order reductions)", async () => {
    for (const metric of metrics) {
      const { data, field } = case2D("cubic");
      const first = await bothLosses(data, field, lossOptions(metric, "cubic"));
      const again = await bothLosses(data, field, lossOptions(metric, "cubic"));
      const onGpu = gpuLevelLoss(gpu!, field.plan, data, lossOptions(metric, "cubic"));
      const gradient = new Float64Array(field.control.length);
      const value = await onGpu.evaluate(field.control, gradient);
      const repeated = await onGpu.evaluate(field.control, gradient);
      onGpu.release();
      expect(again.gpu, metric).toBe(first.gpu);
      expect(value, metric).toBe(first.gpu);
      expect(repeated, metric).toBe(first.gpu);
      expect(Array.from(again.gGpu), metric).toEqual(Array.from(first.gGpu));
      expect(Array.from(gradient), metric).toEqual(Array.from(first.gGpu));
    }
  });

  it("the marking residual per element agrees (2D mi, 3D ncc)", async () => {
    for (const [what, { data, field }, metric] of [
      ["2D mi", case2D("cubic"), "mi"],
      ["3D ncc", case3D("linear"), "ncc"],
    ] as const) {
      const options = lossOptions(metric, data.gridCounts.length === 2 ? "cubic" : "linear");
      const cpu = fusedLevelLoss(field.plan, data, options).residualPerElement(field.control);
      const onGpu = gpuLevelLoss(gpu!, field.plan, data, options);
      const residual = await onGpu.residualPerElement(field.control);
      onGpu.release();
      expect(relativeToLargest(residual, cpu), what).toBeLessThan(metric === "mi" ? 1e-3 : 1e-4);
    }
  });

  /** Final optimised metric and MSE after, CPU against webgpu, on a pair and options. */
  async function registrationParity(fixed: Image, moving: Image, options: RegistrationOptions) {
    const cpu = await registerImages(fixed, moving, options);
    const onGpu = await registerImages(fixed, moving, { ...options, backend });
    expect(cpu.report.options.backend).toBe("cpu");
    expect(onGpu.report.options.backend).toBe("webgpu");
    const start = cpu.report.iterations[0].metric;
    const final = (r: typeof cpu) => r.report.levels[r.report.levels.length - 1].metric;
    return { cpu, onGpu, start, finalCpu: final(cpu), finalGpu: final(onGpu) };
  }

  it("a short 2D registration reaches the same final metric on both backends (ssd, ncc, mi)", async () => {
    const fixed = imageOf([40, 40], blobs);
    const moving = imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1));
    for (const metric of metrics) {
      const p = await registrationParity(fixed, moving, {
        gridSpacing: 10,
        levels: 2,
        iterations: 10,
        initial: "none",
        metric,
      });
      if (metric === "mi") {
        // mi's Parzen kinks make the path chaotic: the iterates part at the 4th digit by iteration 2 and the
        // adaptive marking then refines other elements (measured: MI −0.849 → −1.264 on the CPU, → −1.231 on
        // the GPU); both must still get most of the way
        expect(p.start - p.finalGpu).toBeGreaterThan(0.8 * (p.start - p.finalCpu));
        continue;
      }
      // 20 line searches on the same path: f32 noise moves the end by less than 1e-5 of the start (measured
      // 8e-8 for ssd, 7e-8 for ncc)
      expect(Math.abs(p.finalGpu - p.finalCpu), metric).toBeLessThan(1e-5 * p.start);
      expect(p.finalCpu, metric).toBeLessThan(0.1 * p.start);
      expect(Math.abs(p.onGpu.report.metricAfter - p.cpu.report.metricAfter), metric).toBeLessThan(
        1e-3 * p.cpu.report.metricBefore,
      );
    }
  });

  it("a short 3D registration reaches the same final metric on both backends (ssd, ncc)", async () => {
    const fixed = volumeOf([20, 18, 12], [0, 0, 0]);
    const moving = volumeOf([20, 18, 12], [0.8, -0.5, 0.3]);
    for (const metric of ["ssd", "ncc"] as const) {
      const p = await registrationParity(fixed, moving, {
        gridSpacing: 6,
        levels: 2,
        iterations: 6,
        initial: "none",
        metric,
      });
      // measured: 2e-7 of the start for ssd, 4e-9 for ncc
      expect(Math.abs(p.finalGpu - p.finalCpu), metric).toBeLessThan(1e-5 * p.start);
      expect(p.finalCpu, metric).toBeLessThan(0.1 * p.start);
      expect(Math.abs(p.onGpu.report.metricAfter - p.cpu.report.metricAfter), metric).toBeLessThan(
        1e-3 * p.cpu.report.metricBefore,
      );
    }
  });
});

describe("registerImages' backend option", () => {
  it("rejects what is not a backend, naming the option", async () => {
    const image = imageOf([12, 12], blobs);
    const bogus = { name: "metal" } as unknown as RegistrationOptions["backend"];
    await expect(registerImages(image, image, { backend: bogus })).rejects.toThrow(
      /options\.backend must be a Backend .*got "metal"/,
    );
  });
});
