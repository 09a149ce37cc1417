import { afterAll, describe, expect, it } from "vitest";
import { fitSurface, fitSurfaceAsync } from "../../fitting/fitSurface.js";
import { webgpuBackend } from "../../kernels/backend.js";
import { noAdapterAdvice, requestWebGPU } from "../../kernels/webgpu/device.js";
import { seededRandom } from "../helpers/random.js";

const webgpu = await requestWebGPU();
if (!webgpu) {
  if (process.env.CI === "true") throw new Error(`CI=true but ${noAdapterAdvice()}`);
  console.warn(`\n!!! WebGPU fitting tests SKIPPED: ${noAdapterAdvice()}\n`);
}
const backend = webgpu ? webgpuBackend(webgpu) : undefined;
afterAll(() => backend?.dispose());

/** Franke's test function on [0,1]², with 2 % gross outliers (+2 in z). */
function cloudWithOutliers(n: number): { points: Float64Array; clean: Float64Array } {
  const rand = seededRandom(21);
  const clean = new Float64Array(3 * n);
  for (let i = 0; i < n; i++) {
    const x = rand();
    const y = rand();
    const z =
      0.75 * Math.exp(-((9 * x - 2) ** 2) / 4 - (9 * y - 2) ** 2 / 4) +
      0.75 * Math.exp(-((9 * x + 1) ** 2) / 49 - (9 * y + 1) / 10) +
      0.5 * Math.exp(-((9 * x - 7) ** 2) / 4 - (9 * y - 3) ** 2 / 4) -
      0.2 * Math.exp(-((9 * x - 4) ** 2) - (9 * y - 7) ** 2);
    clean.set([x, y, z], 3 * i);
  }
  const points = Float64Array.from(clean);
  for (let i = 0; i < n; i += 50) points[3 * i + 2] += 2;
  return { points, clean };
}

describe.skipIf(!backend)("fitting with the gradient path on the WebGPU backend", () => {
  it("Huber L-BFGS on the GPU resists outliers like the host fit and lands within f32 reach of it", async () => {
    const { points, clean } = cloudWithOutliers(3000);
    const options = {
      heightField: true,
      tolerance: 1e-9,
      elements: 8,
      maxLevels: 1,
      maxIterations: 1,
      method: "lbfgs",
      loss: "huber",
      huberDelta: 0.01,
      gradientIterations: 150,
    } as const;
    const host = fitSurface(points, options);
    const gpu = await fitSurfaceAsync(points, { ...options, backend });
    expect(gpu.report.notes.some((n) => /lbfgs steps on WebGPU/.test(n))).toBe(true);
    const l2 = fitSurface(points, { ...options, method: "lsq" });
    const inlierError = (surface: typeof host.surface) => {
      let worst = 0;
      for (let i = 1; i < 3000; i++) {
        if (i % 50 === 0) continue;
        const z = surface.evaluate([clean[3 * i], clean[3 * i + 1]])[0];
        worst = Math.max(worst, Math.abs(z - clean[3 * i + 2]));
      }
      return worst;
    };
    const hostError = inlierError(host.surface);
    const gpuError = inlierError(gpu.surface);
    expect(gpuError).toBeLessThan(0.5 * inlierError(l2.surface));
    // f32 losses stop the line search earlier than f64 ones; the fits must still agree closely
    expect(Math.abs(gpuError - hostError)).toBeLessThan(0.05 * hostError);
  });
});
