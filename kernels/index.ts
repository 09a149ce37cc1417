/** kernels/: the Backend interface with cpu (reference, f64) and webgpu (WGSL) implementations. */
export * from "./cpu/thbKernels.js";
export * from "./webgpu/device.js";
