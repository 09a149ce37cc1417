/**
 * Browser side of the navigator.gpu test: bundled by esbuild and loaded into headless Chromium. It takes a
 * compiled plan (typed arrays sent as tagged lists), runs the WGSL kernels through the browser's own
 * WebGPU, and returns the results for the Node side to compare with the f64 CPU reference.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { requestWebGPU } from "../../kernels/webgpu/device.js";
import { GpuContext, GpuPlan, gpuBackwardControl, gpuEvaluate } from "../../kernels/webgpu/thbGpu.js";

/** A typed array as JSON. */
export interface TaggedArray {
  type: "Int32Array" | "Float64Array";
  data: number[];
}

/** What the Node side sends. */
export interface ParityInput {
  plan: Record<string, number | boolean | TaggedArray>;
  control: number[];
  dim: number;
  params: number[];
  cotangent: number[];
}

/** What comes back. */
export interface ParityOutput {
  viaNavigator: boolean;
  adapter: string;
  values: number[];
  derivatives: number[];
  gradient: number[];
}

function revive(plan: ParityInput["plan"]): EvaluationPlan {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(plan)) {
    if (typeof value === "object") {
      out[key] = value.type === "Int32Array" ? Int32Array.from(value.data) : Float64Array.from(value.data);
    } else out[key] = value;
  }
  return out as unknown as EvaluationPlan;
}

async function runParity(input: ParityInput): Promise<ParityOutput | { error: string }> {
  const viaNavigator = Boolean((navigator as { gpu?: unknown }).gpu);
  const webgpu = await requestWebGPU();
  if (!webgpu)
    return {
      error: `no WebGPU adapter in this browser (navigator.gpu ${viaNavigator ? "exists" : "is missing"})`,
    };
  const context = new GpuContext(webgpu.device);
  const gpu = new GpuPlan(context, revive(input.plan));
  const values = await gpuEvaluate(gpu, input.control, input.dim, input.params, 0);
  const derivatives = await gpuEvaluate(gpu, input.control, input.dim, input.params, 2);
  const gradient = await gpuBackwardControl(gpu, input.params, input.cotangent, input.dim);
  const info = webgpu.adapterInfo;
  return {
    viaNavigator,
    adapter: [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(" / "),
    values: Array.from(values),
    derivatives: Array.from(derivatives),
    gradient: Array.from(gradient),
  };
}

(globalThis as { runParity?: typeof runParity }).runParity = runParity;
