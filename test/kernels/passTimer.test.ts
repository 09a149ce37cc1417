import { afterAll, describe, expect, it } from "vitest";
import { readFloat32, upload } from "../../kernels/webgpu/gpuBuffers.js";
import { PassTimer } from "../../kernels/webgpu/passTimer.js";
import { GpuContext, workgroupGrid } from "../../kernels/webgpu/thbGpu.js";
import { webgpuForTests } from "../helpers/gpu.js";

const webgpu = await webgpuForTests("WebGPU pass timer tests");
const context = webgpu ? new GpuContext(webgpu.device) : undefined;
afterAll(() => {
  context?.pool.destroy();
  webgpu?.device.destroy();
});

// a pass whose work grows with `rounds`, so its device time must grow too
const busyShader = `struct Meta { count: u32, rowStride: u32, rounds: u32, pad: u32 };
@group(0) @binding(0) var<uniform> info: Meta;
@group(0) @binding(1) var<storage, read_write> data: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x + gid.y * info.rowStride;
  if (i >= info.count) { return; }
  // data holds rounds done + x; x ← sin x + 0.5 is the work, converging to its fixed point
  var done = floor(data[i]);
  var x = data[i] - done;
  for (var r = 0u; r < info.rounds; r++) { x = sin(x) + 0.5; done += 1.0; }
  data[i] = done + fract(x);
}`;

describe.skipIf(!webgpu?.timestamps)("device time of passes from timestamp queries", () => {
  it("counts every pass, grows with the work, leaves results alone, and refuses to overflow", async () => {
    const ctx = context!;
    const count = 1 << 16;
    const data = upload(ctx.device, ctx.pool, new Float32Array(count));
    const pipeline = ctx.pipeline("test:busy", () => busyShader, 1);
    const [wx, wy] = workgroupGrid(count / 64);
    const run = (rounds: number) =>
      ctx.submit(pipeline, new Uint32Array([count, wx * 64, rounds, 0]), [data], wx, wy);
    const timer = new PassTimer(ctx.device, 4);
    ctx.timer = timer;
    run(1);
    run(1);
    const light = await timer.collect();
    run(2000);
    const heavy = await timer.collect();
    ctx.timer = undefined;
    expect(light.passes).toBe(2);
    expect(heavy.passes).toBe(1);
    expect(light.seconds).toBeGreaterThan(0);
    // one heavy pass does 1,000 times the work of the two light ones together
    expect(heavy.seconds).toBeGreaterThan(10 * light.seconds);
    // the timed passes did all their work: 2,002 rounds, and x at the fixed point of x ← sin x + 0.5
    let x = 0;
    for (let r = 0; r < 50; r++) x = Math.sin(x) + 0.5;
    const values = await readFloat32(ctx.device, data, count);
    expect(Math.abs(values[count - 1] - (2002 + (x % 1)))).toBeLessThan(1e-3);
    // more passes than the query set holds: collect() says so instead of returning a short sum
    ctx.timer = timer;
    for (let p = 0; p < 5; p++) run(1);
    ctx.timer = undefined;
    await expect(timer.collect()).rejects.toThrow(/more than 4 passes/);
    timer.destroy();
  });
});
