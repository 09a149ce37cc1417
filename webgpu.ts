/// <reference types="@webgpu/types" preserve="true" />
/**
 * thbspline/webgpu: the WebGPU internals for those who drive the kernels themselves — the device, buffer
 * pools, the THB plan on the GPU, image kernels, pass timing, and the device tensors behind
 * `backend.tensors`. The root `thbspline` entry (selectBackend, thbOps, …) is enough for everything else.
 */

export { noAdapterAdvice, requestWebGPU, type WebGPUContext } from "./kernels/webgpu/device.js";
export { BufferPool, readFloat32, STORAGE, upload } from "./kernels/webgpu/gpuBuffers.js";
export { GpuImageKernels } from "./kernels/webgpu/imageGpu.js";
export { PassTimer } from "./kernels/webgpu/passTimer.js";
export {
  GpuContext,
  GpuPlan,
  gpuBackwardControl,
  gpuBackwardParams,
  gpuEvaluate,
  type PointOrder,
} from "./kernels/webgpu/thbGpu.js";
export { webgpuBackend } from "./primitives/backend.js";
export { GpuStorage, WebGpuTensors } from "./primitives/webgpuTensors.js";
