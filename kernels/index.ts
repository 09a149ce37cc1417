/** kernels/: the Backend interface with cpu (reference, f64) and webgpu (WGSL) implementations. */
export * from "./backend.js";
export * from "./cpu/imageKernels.js";
export * from "./cpu/thbKernels.js";
export * from "./imagePrimitives.js";
export * from "./webgpu/device.js";
export * from "./webgpu/gpuBuffers.js";
export * from "./webgpu/imageGpu.js";
export * from "./webgpu/passTimer.js";
export * from "./webgpu/reduce.js";
export * from "./webgpu/tensorGpu.js";
export * from "./webgpu/thbGpu.js";
