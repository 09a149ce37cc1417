import { afterAll, describe, expect, it } from "vitest";
import {
  type Interpolation,
  jointHistogramCpu,
  jointHistogramOfValues,
  nccFromSums,
  nccSumsCpu,
  sampleImageCpu,
  ssdCpu,
} from "../../kernels/cpu/imageKernels.js";
import { readFloat32, upload } from "../../kernels/webgpu/gpuBuffers.js";
import { GpuImageKernels } from "../../kernels/webgpu/imageGpu.js";
import { GpuContext } from "../../kernels/webgpu/thbGpu.js";
import { webgpuForTests } from "../helpers/gpu.js";
import { syntheticImage } from "../helpers/images.js";
import { seededRandom } from "../helpers/random.js";

function randomCoords(rand: () => number, count: number, size: number[], margin: number): Float64Array {
  const d = size.length;
  return Float64Array.from(
    { length: count * d },
    (_, i) => -margin + (size[i % d] - 1 + 2 * margin) * rand(),
  );
}

describe("CPU image sampling", () => {
  for (const d of [2, 3]) {
    for (const kind of ["linear", "cubic"] as Interpolation[]) {
      it(`${d}D ${kind}: gradients match finite differences; linear interpolates the samples exactly`, () => {
        const image = syntheticImage(d === 2 ? [23, 19] : [11, 9, 7]);
        const rand = seededRandom(d);
        const coords = randomCoords(rand, 200, image.size as number[], 0);
        const { values, gradient } = sampleImageCpu(image, coords, kind);
        const h = 1e-6;
        for (let p = 0; p < 200; p++) {
          for (let k = 0; k < d; k++) {
            const plus = Float64Array.from(coords.subarray(p * d, p * d + d));
            const minus = Float64Array.from(plus);
            plus[k] += h;
            minus[k] -= h;
            // skip points within h of a sample line, where linear interpolation has a kink
            if (kind === "linear" && Math.floor(plus[k]) !== Math.floor(minus[k])) continue;
            const fd =
              (sampleImageCpu(image, plus, kind).values[0] - sampleImageCpu(image, minus, kind).values[0]) /
              (2 * h);
            expect(Math.abs(fd - gradient[p * d + k])).toBeLessThan(1e-4 * (1 + Math.abs(fd)));
          }
        }
        if (kind === "linear") {
          const at = d === 2 ? [3, 4] : [3, 4, 5];
          const index = d === 2 ? 3 + 23 * 4 : 3 + 11 * (4 + 9 * 5);
          expect(sampleImageCpu(image, at, "linear").values[0]).toBeCloseTo(image.values[index], 12);
        }
        expect(values.every(Number.isFinite)).toBe(true);
      });
    }
  }
});

const webgpu = await webgpuForTests("WebGPU image kernel tests");
const context = webgpu ? new GpuContext(webgpu.device) : undefined;
const kernels = context ? new GpuImageKernels(context) : undefined;
afterAll(() => {
  context?.pool.destroy();
  webgpu?.device.destroy();
});

describe.skipIf(!webgpu)("WebGPU image kernels vs the CPU", () => {
  for (const d of [2, 3]) {
    for (const kind of ["linear", "cubic"] as Interpolation[]) {
      it(`${d}D ${kind}: values, gradients and the SSD (value and gradient) agree within 1e-5, also outside the image`, async () => {
        const image = syntheticImage(d === 2 ? [64, 48] : [20, 16, 12]);
        const rand = seededRandom(10 + d);
        const count = 5000;
        const coords = randomCoords(rand, count, image.size as number[], 2);
        const cpu = sampleImageCpu(image, coords, kind);
        const gpu = await kernels!.sample(image, coords, kind);
        let worst = 0;
        for (let p = 0; p < count; p++) {
          worst = Math.max(worst, Math.abs(gpu[p * (1 + d)] - cpu.values[p]) / 130);
          for (let k = 0; k < d; k++)
            worst = Math.max(worst, Math.abs(gpu[p * (1 + d) + 1 + k] - cpu.gradient[p * d + k]) / 130);
        }
        expect(worst).toBeLessThan(1e-5);
        const fixed = Float64Array.from({ length: count }, () => 100 * (rand() - 0.5));
        const ssd = ssdCpu(image, coords, fixed, kind);
        const ssdGpu = await kernels!.ssd(image, coords, fixed, kind);
        expect(Math.abs(ssdGpu.value - ssd.value) / ssd.value).toBeLessThan(1e-5);
        let gradWorst = 0;
        let scale = 0;
        for (let i = 0; i < ssd.gradient.length; i++) {
          gradWorst = Math.max(gradWorst, Math.abs(ssdGpu.gradient[i] - ssd.gradient[i]));
          scale = Math.max(scale, Math.abs(ssd.gradient[i]));
        }
        expect(gradWorst / scale).toBeLessThan(1e-5);
      });
    }
  }

  it("NCC partial sums agree with the CPU (2D cubic, 3D linear), and an image correlates perfectly with itself", async () => {
    for (const [size, kind] of [
      [[64, 48], "cubic"],
      [[20, 16, 12], "linear"],
    ] as [number[], Interpolation][]) {
      const image = syntheticImage(size);
      const rand = seededRandom(size.length);
      const coords = randomCoords(rand, 20000, size, 0);
      const fixed = Float64Array.from({ length: 20000 }, () => 100 * (rand() - 0.5));
      const cpu = nccSumsCpu(image, coords, fixed, kind);
      const gpu = await kernels!.nccSums(image, coords, fixed, kind);
      for (let k = 0; k < 5; k++)
        expect(
          Math.abs(gpu[k] - cpu[k]) / Math.max(1, Math.abs(cpu[k]), Math.abs(cpu[2]) * 1e-3),
        ).toBeLessThan(1e-5);
      const self = sampleImageCpu(image, coords, kind).values;
      expect(nccFromSums(nccSumsCpu(image, coords, self, kind), 20000)).toBeCloseTo(1, 12);
    }
  });

  it("joint histograms (linear Parzen windows) agree with the CPU, hold one unit per point, and are deterministic", async () => {
    for (const [size, kind, bins] of [
      [[64, 48], "cubic", 32],
      [[20, 16, 12], "linear", 17],
    ] as [number[], Interpolation, number][]) {
      const image = syntheticImage(size);
      const rand = seededRandom(size.length + 20);
      const count = 30000;
      const coords = randomCoords(rand, count, size, 1);
      const fixed = Float64Array.from({ length: count }, () => 120 * (rand() - 0.5));
      const ranges = [
        [-140, 140],
        [-60, 60],
      ] as [number, number][];
      const cpu = jointHistogramCpu(image, coords, fixed, kind, bins, ranges[0], ranges[1]);
      const gpu = await kernels!.jointHistogram(image, coords, fixed, kind, bins, ranges[0], ranges[1]);
      const again = await kernels!.jointHistogram(image, coords, fixed, kind, bins, ranges[0], ranges[1]);
      let total = 0;
      for (let i = 0; i < cpu.length; i++) {
        // f32 sampling moves values near bin edges a little: compare each bin to within a point's weight
        expect(Math.abs(gpu[i] - cpu[i])).toBeLessThan(1e-2 * Math.max(1, cpu[i]));
        total += gpu[i];
      }
      expect(total).toBeCloseTo(count, 0);
      expect(Array.from(again)).toEqual(Array.from(gpu));
    }
  });

  it("joint histograms of given values: each point adds one exact unit, across chunks, at bin edges, out of range and all in one bin", async () => {
    const { device, pool } = context!;
    const bins = 64;
    const range: [number, number] = [-1, 1];
    const rand = seededRandom(41);
    const count = 3 * 4096 + 123; // four chunks, the last one partial
    const moving = Float32Array.from({ length: count }, (_, p) =>
      p % 7 === 0 ? -1 + (2 * Math.floor(rand() * bins)) / (bins - 1) : 2.4 * rand() - 1.2,
    );
    const fixed = Float32Array.from({ length: count }, () => 2.2 * rand() - 1.1);
    const histogramOf = async (m: Float32Array, f: Float32Array) => {
      const [mb, fb] = [upload(device, pool, m), upload(device, pool, f)];
      const h = kernels!.encodeHistogram(mb, 1, fb, m.length, bins, range, range);
      const values = await readFloat32(device, h, bins * bins);
      for (const b of [mb, fb, h]) pool.release(b);
      return values;
    };
    const gpu = await histogramOf(moving, fixed);
    const cpu = jointHistogramOfValues(moving, fixed, bins, range, range);
    let total = 0;
    let worst = 0;
    for (let i = 0; i < cpu.length; i++) {
      worst = Math.max(worst, Math.abs(gpu[i] - cpu[i]));
      total += gpu[i];
    }
    // a weight is quantised to 2⁻¹⁹ of a point (twice at most) and a bin holds ~10 points here
    expect(worst).toBeLessThan(1e-4);
    expect(Math.abs(total - count)).toBeLessThan(1e-3);
    // a whole chunk in one bin with full weight: 4,096 units of 2¹⁹ must not overflow
    const corner = await histogramOf(new Float32Array(4096).fill(1), new Float32Array(4096).fill(1));
    expect(corner[bins * bins - 1]).toBe(4096);
    expect(corner.reduce((a, b) => a + b, 0)).toBe(4096);
  });

  it("the tree sum is deterministic and equals the f64 sum within f32 rounding, for sizes across pass counts", async () => {
    const rand = seededRandom(3);
    for (const n of [1, 255, 4096, 4097, 300_000]) {
      const values = Float32Array.from({ length: n }, () => rand());
      let exact = 0;
      for (const v of values) exact += v;
      const a = await kernels!.sum(values, n);
      const b = await kernels!.sum(values, n);
      expect(a).toBe(b);
      expect(Math.abs(a - exact) / Math.max(1, exact)).toBeLessThan(1e-6);
    }
  });
});
