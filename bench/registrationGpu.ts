/**
 * bench:gpu's registration rows: one evaluation of a registration level's loss and its coefficient gradient
 * (THB displacement on the pixel grid, cubic sampling of the moving image, SSD, reverse pass, read-back) —
 * the fused CPU loss (f64) against gpuLevelLoss (WebGPU, f32), after a parity check. On a software adapter
 * the image is 256², on a GPU 2048².
 */
import * as ad from "../autodiff/index.js";
import { frameToMovingIndex } from "../fields/displacementTransform.js";
import { createImage } from "../fields/image.js";
import { THBField } from "../fields/thbField.js";
import { fusedLevelLoss } from "../fitting/registration/fusedLevelLoss.js";
import { gpuLevelLoss } from "../fitting/registration/gpuLevelLoss.js";
import type { LevelData } from "../fitting/registration/levelLoss.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { cubicBSplineCoefficients } from "../kernels/cpu/bsplinePrefilter.js";
import type { GpuContext } from "../kernels/webgpu/thbGpu.js";
import { WebGpuTensors } from "../primitives/webgpuTensors.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { medianSeconds, medianSecondsAsync } from "./harness.js";

/** Adds the rows through `add(operation, backend, pixels, seconds, bytesPerPixel)`; returns the gradient's error. */
export async function registrationLossRows(
  context: GpuContext,
  software: boolean,
  add: (op: string, backend: string, points: number, seconds: number, bytesPerPoint: number) => void,
): Promise<number> {
  const side = software ? 256 : 2048;
  const size = [side, side];
  const pattern = (shift: number) =>
    Float64Array.from({ length: side * side }, (_, t) => {
      const x = t % side;
      const y = Math.floor(t / side);
      return 100 + 50 * Math.sin((x + shift) / 9) * Math.cos(y / 13);
    });
  const fixed = createImage(pattern(0), size);
  const moving = createImage(pattern(1.5), size);
  // 16-pixel elements, as the ITK pair's final level has
  const knots = size.map((n) => uniformKnotVector(3, n / 16, 0, n - 1));
  const space = THBSpace.create({ degrees: [3, 3], knots });
  const rand = seededRandom(11);
  const field = new THBField(
    space,
    Float64Array.from({ length: space.size * 2 }, () => 2 * rand() - 1),
    2,
  );
  const data: LevelData = {
    gridOrigin: [0, 0],
    gridSpacing: [1, 1],
    gridCounts: size,
    fixedValues: Float64Array.from(fixed.data),
    moving: { size, values: cubicBSplineCoefficients(Float64Array.from(moving.data), size) },
    frameToMoving: frameToMovingIndex(fixed, moving),
  };
  const options = {
    metric: "ssd",
    interpolation: "cubic",
    bending: 0,
    jacobianWeight: 0,
    jacobianThreshold: 0.1,
  } as const;
  const tensors = new WebGpuTensors(context);
  ad.setDeviceExecutor(tensors);
  const cpu = fusedLevelLoss(field.plan, data, options);
  const gpu = gpuLevelLoss(tensors, field.plan, data, options);
  const gCpu = new Float64Array(field.control.length);
  const gGpu = new Float64Array(field.control.length);
  try {
    const cpuSeconds = medianSeconds(() => {
      cpu.evaluate(field.control, gCpu);
    }, 3);
    const gpuSeconds = await medianSecondsAsync(
      async () => {
        await gpu.evaluate(field.control, gGpu);
      },
      software ? 2 : 5,
    );
    // per pixel at least: the fixed value and one moving value read
    const label = `registration loss + gradient, 2D cubic SSD, ${side}² (+ read-back)`;
    add(label, "cpu", side * side, cpuSeconds, 8);
    add(label, "webgpu", side * side, gpuSeconds, 8);
    let diff = 0;
    let scale = 0;
    for (let i = 0; i < gCpu.length; i++) {
      diff = Math.max(diff, Math.abs(gGpu[i] - gCpu[i]));
      scale = Math.max(scale, Math.abs(gCpu[i]));
    }
    return diff / scale;
  } finally {
    gpu.release();
    ad.setDeviceExecutor(undefined);
  }
}
