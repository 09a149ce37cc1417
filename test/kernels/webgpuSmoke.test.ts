import { afterAll, describe, expect, it } from "vitest";
import { webgpuForTests } from "../helpers/gpu.js";

const context = await webgpuForTests("WebGPU tests");

afterAll(() => context?.device.destroy());

describe.skipIf(!context)("WebGPU smoke test (real Dawn adapter)", () => {
  it("runs a compute shader whose output equals the same arithmetic on the CPU", async () => {
    const device = context!.device;
    const n = 4099; // not a multiple of the workgroup size, to exercise the bounds check
    const input = new Float32Array(n);
    for (let i = 0; i < n; i++) input[i] = Math.sin(i) * 100;
    const module = device.createShaderModule({
      code: /* wgsl */ `
        @group(0) @binding(0) var<storage, read> x: array<f32>;
        @group(0) @binding(1) var<storage, read_write> y: array<f32>;
        @compute @workgroup_size(64)
        fn main(@builtin(global_invocation_id) id: vec3u) {
          let i = id.x;
          if (i < arrayLength(&x)) { y[i] = x[i] * x[i] * 0.5 + f32(i); }
        }`,
    });
    const pipeline = device.createComputePipeline({
      layout: "auto",
      compute: { module, entryPoint: "main" },
    });
    const bytes = n * 4;
    const xBuffer = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
    });
    const yBuffer = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const readBuffer = device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    device.queue.writeBuffer(xBuffer, 0, input);
    const encoder = device.createCommandEncoder();
    const pass = encoder.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(
      0,
      device.createBindGroup({
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: xBuffer } },
          { binding: 1, resource: { buffer: yBuffer } },
        ],
      }),
    );
    pass.dispatchWorkgroups(Math.ceil(n / 64));
    pass.end();
    encoder.copyBufferToBuffer(yBuffer, 0, readBuffer, 0, bytes);
    device.queue.submit([encoder.finish()]);
    await readBuffer.mapAsync(GPUMapMode.READ);
    const output = new Float32Array(readBuffer.getMappedRange().slice(0));
    readBuffer.unmap();
    for (let i = 0; i < n; i++) {
      const expected = Math.fround(Math.fround(Math.fround(input[i] * input[i]) * 0.5) + i);
      expect(Math.abs(output[i] - expected)).toBeLessThanOrEqual(1e-6 * Math.abs(expected) + 1e-6);
    }
    for (const b of [xBuffer, yBuffer, readBuffer]) b.destroy();
  });
});
