import { afterAll, describe, expect, it } from "vitest";
import { fitSurface, fitSurfaceAsync } from "../../../fitting/surface/fitSurface.js";
import { webgpuBackend } from "../../../primitives/backend.js";
import { frankeCloud, inlierError, withOutliers } from "../../helpers/franke.js";
import { webgpuForTests } from "../../helpers/gpu.js";

const webgpu = await webgpuForTests("WebGPU fitting tests");
const backend = webgpu ? webgpuBackend(webgpu) : undefined;
afterAll(() => backend?.dispose());

describe.skipIf(!backend)("fitting with the gradient path on the WebGPU backend", () => {
  it("Huber L-BFGS on the GPU resists outliers like the host fit and lands within f32 reach of it", async () => {
    const clean = frankeCloud(3000, 21);
    const points = withOutliers(clean, 50, 2);
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
    const hostError = inlierError(host.surface, clean, 50);
    const gpuError = inlierError(gpu.surface, clean, 50);
    expect(gpuError).toBeLessThan(0.5 * inlierError(l2.surface, clean, 50));
    // f32 losses stop the line search earlier than f64 ones; the fits must still agree closely
    expect(Math.abs(gpuError - hostError)).toBeLessThan(0.05 * hostError);
  });
});
