/**
 * One Backend interface over the THB kernels, with a cpu (f64 reference) and a webgpu (f32, WGSL)
 * implementation that must agree. `selectBackend()` takes webgpu when a hardware adapter exists, cpu otherwise;
 * THB_BACKEND=cpu|webgpu forces one, and the choice is logged and readable (`backend.name`).
 * Shapes as in kernels/cpu/thbKernels.ts; every method is async so both backends share call sites.
 * (It lives in primitives/, not kernels/, because its device tensors and kernels are autodiff tensors.)
 */
import { setDeviceExecutor } from "../autodiff/ops.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { gridPoints } from "../kernels/cpu/gridPoints.js";
import { evaluateLocalField, localControl } from "../kernels/cpu/planEvaluate.js";
import { thbBackwardControlCpu, thbBackwardParamsCpu, thbForwardCpu } from "../kernels/cpu/thbKernels.js";
import { noAdapterAdvice, requestWebGPU, type WebGPUContext } from "../kernels/webgpu/device.js";
import {
  GpuContext,
  gpuBackwardControl,
  gpuBackwardParams,
  gpuEvaluate,
  gpuEvaluateGrid,
} from "../kernels/webgpu/thbGpu.js";
import { cpuTensorKernels } from "./cpuTensorKernels.js";
import type { TensorKernels } from "./tensorKernels.js";
import { WebGpuTensors } from "./webgpuTensors.js";

/** Names of the backends. */
export type BackendKind = "cpu" | "webgpu";

/** The THB kernels of one backend. */
export interface Backend {
  readonly name: BackendKind;
  /** Human-readable device description. */
  readonly description: string;
  /**
   * Values (order 0: `#points by dim`), with first derivatives (order 1: `#points by (1+d) by dim`) or
   * with second derivatives too (order 2: value, ∂_k, ∂_kk, mixed ∂_k∂_l for k < l).
   */
  evaluate(
    plan: EvaluationPlan,
    control: ArrayLike<number>,
    dim: number,
    params: ArrayLike<number>,
    order?: 0 | 1 | 2,
  ): Promise<Float32Array | Float64Array>;
  /** ∂L/∂C for a cotangent `#points by dim`: `#functions by dim`. */
  backwardControl(
    plan: EvaluationPlan,
    params: ArrayLike<number>,
    cotangent: ArrayLike<number>,
    dim: number,
  ): Promise<Float32Array | Float64Array>;
  /** ∂L/∂x: `#points by d`. */
  backwardParams(
    plan: EvaluationPlan,
    control: ArrayLike<number>,
    dim: number,
    params: ArrayLike<number>,
    cotangent: ArrayLike<number>,
  ): Promise<Float32Array | Float64Array>;
  /** Values on the grid origin + spacing · i (first direction fastest), inside the domain. */
  evaluateGrid(
    plan: EvaluationPlan,
    control: ArrayLike<number>,
    dim: number,
    origin: number[],
    spacing: number[],
    counts: number[],
  ): Promise<Float32Array | Float64Array>;
  /**
   * Device tensors (webgpu only): autodiff primitives, the THB primitives included, run on the GPU for
   * tensors made with `tensors.toDevice`.
   */
  readonly tensors?: WebGpuTensors;
  /**
   * The same kernels in tensors, on this backend: the seam the custom primitives are written over (each
   * primitive takes the kernels of the backend its inputs live on, primitives/tensorKernels.ts).
   */
  readonly kernels: TensorKernels;
  /** Releases device resources. */
  dispose(): void;
}

/** The f64 reference backend. */
export const cpuBackend: Backend = {
  name: "cpu",
  description: "CPU (f64, TypeScript)",
  evaluate: async (plan, control, dim, params, order = 0) =>
    thbForwardCpu(plan, control, dim, params, order).values,
  backwardControl: async (plan, params, cotangent, dim) =>
    thbBackwardControlCpu(plan, params, cotangent, dim),
  backwardParams: async (plan, control, dim, params, cotangent) =>
    thbBackwardParamsCpu(plan, localControl(plan, control, dim), dim, params, cotangent),
  evaluateGrid: async (plan, control, dim, origin, spacing, counts) => {
    const points = gridPoints(origin, spacing, counts);
    const upper = plan.rootBreaks;
    // clamp rounding past the domain's end back onto it
    for (let i = 0; i < points.length; i++) {
      const k = i % plan.dimension;
      points[i] = Math.min(points[i], upper[plan.rootBreakStart[k + 1] - 1]);
    }
    return evaluateLocalField(plan, localControl(plan, control, dim), dim, points, 0);
  },
  kernels: cpuTensorKernels,
  dispose: () => {},
};

/** The WebGPU backend on a device; plans are uploaded once and cached. */
export function webgpuBackend(webgpu: WebGPUContext): Backend {
  const context = new GpuContext(webgpu.device);
  const tensors = new WebGpuTensors(context);
  setDeviceExecutor(tensors);
  const gpuPlan = (plan: EvaluationPlan) => tensors.plan(plan);
  const info = webgpu.adapterInfo;
  return {
    name: "webgpu",
    description: `WebGPU: ${[info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" / ")}${webgpu.isSoftware ? " (software)" : ""}`,
    evaluate: (plan, control, dim, params, order = 0) =>
      gpuEvaluate(gpuPlan(plan), control, dim, params, order),
    backwardControl: (plan, params, cotangent, dim) =>
      gpuBackwardControl(gpuPlan(plan), params, cotangent, dim),
    backwardParams: (plan, control, dim, params, cotangent) =>
      gpuBackwardParams(gpuPlan(plan), control, dim, params, cotangent),
    evaluateGrid: (plan, control, dim, origin, spacing, counts) =>
      gpuEvaluateGrid(gpuPlan(plan), control, dim, origin, spacing, counts),
    tensors,
    kernels: tensors.kernels,
    dispose: () => {
      setDeviceExecutor(undefined);
      context.pool.destroy();
      webgpu.device.destroy();
    },
  };
}

/**
 * The backend to use: THB_BACKEND (cpu|webgpu) when set, else webgpu when a hardware adapter exists, else cpu
 * (a software adapter such as SwiftShader is used only when asked for).
 * Logs the choice through `log` (default console.error, so stdout stays clean for JSON output).
 */
export async function selectBackend(
  options: { prefer?: BackendKind; log?: (line: string) => void } = {},
): Promise<Backend> {
  const log = options.log ?? ((line: string) => console.error(line));
  // browsers have no process: there only `prefer` chooses
  const fromEnvironment = typeof process !== "undefined" ? process.env?.THB_BACKEND : undefined;
  const requested = options.prefer ?? (fromEnvironment as BackendKind | undefined);
  const source = options.prefer !== undefined ? "prefer" : "THB_BACKEND";
  if (requested !== undefined && requested !== "cpu" && requested !== "webgpu") {
    throw new Error(`${source} must be "cpu" or "webgpu", got "${requested}"`);
  }
  if (requested === "cpu") {
    log(`thbspline backend: cpu (asked for by ${source})`);
    return cpuBackend;
  }
  const webgpu = await requestWebGPU();
  if (!webgpu) {
    if (requested === "webgpu") throw new Error(`${source}=webgpu but ${noAdapterAdvice()}`);
    log("thbspline backend: cpu (no WebGPU adapter)");
    return cpuBackend;
  }
  if (webgpu.isSoftware && requested !== "webgpu") {
    // a CPU emulating a GPU (SwiftShader) runs these kernels far slower than the f64 CPU kernels do
    webgpu.device.destroy();
    log(
      "thbspline backend: cpu (the only WebGPU adapter is a software one; THB_BACKEND=webgpu would use it anyway)",
    );
    return cpuBackend;
  }
  const backend = webgpuBackend(webgpu);
  log(`thbspline backend: ${backend.description}`);
  return backend;
}
