/** kernels/: the Backend interface with cpu (reference, f64) and webgpu (WGSL) implementations. */
export * from "../primitives/backend.js";
export * from "../primitives/imagePrimitives.js";
export * from "../primitives/webgpuTensors.js";
export * from "./cpu/imageKernels.js";
export * from "./cpu/thbKernels.js";
export * from "./webgpu/device.js";
export * from "./webgpu/gpuBuffers.js";
export * from "./webgpu/imageGpu.js";
export * from "./webgpu/passTimer.js";
export * from "./webgpu/reduce.js";
export * from "./webgpu/thbGpu.js";
