/** primitives/: the differentiable operations — THB evaluation, image sampling, joint histogram — and backends. */
export * from "./backend.js";
export * from "./imagePrimitives.js";
export * from "./thbPointSet.js";
export * from "./thbPrimitive.js";
export * from "./webgpuTensors.js";
