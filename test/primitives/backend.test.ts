import { describe, expect, it } from "vitest";
import { compile } from "../../hierarchy/plan.js";
import { requestWebGPU } from "../../kernels/webgpu/device.js";
import { type Backend, cpuBackend, selectBackend } from "../../primitives/backend.js";
import { randomArray, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

describe("backend selection", () => {
  it("prefer: cpu (or THB_BACKEND=cpu) forces the cpu backend and says which asked for it", async () => {
    const lines: string[] = [];
    const backend = await selectBackend({ prefer: "cpu", log: (l) => lines.push(l) });
    expect(backend.name).toBe("cpu");
    expect(lines[0]).toMatch(/backend: cpu \(asked for by prefer\)/);
  });

  it("picks webgpu for a hardware adapter, cpu for none or a software one, and says which", async () => {
    const lines: string[] = [];
    const chosen = await selectBackend({ log: (l) => lines.push(l) });
    const webgpu = await requestWebGPU();
    if (!webgpu) {
      expect(chosen.name).toBe("cpu");
      expect(lines[0]).toMatch(/cpu \(no WebGPU adapter\)/);
    } else if (webgpu.isSoftware) {
      expect(chosen.name).toBe("cpu");
      expect(lines[0]).toMatch(/cpu \(the only WebGPU adapter is a software one/);
    } else {
      expect(chosen.name).toBe("webgpu");
      expect(lines[0]).toMatch(/^thbspline backend: WebGPU/);
    }
    webgpu?.device.destroy();
    chosen.dispose();
  });

  it("THB_BACKEND=webgpu takes any adapter, software included, and both backends give the same field", async () => {
    const lines: string[] = [];
    const hasAdapter = (await requestWebGPU()) !== undefined;
    if (!hasAdapter) {
      if (process.env.CI === "true") throw new Error("CI=true needs a WebGPU adapter");
      await expect(selectBackend({ prefer: "webgpu" })).rejects.toThrow(
        /prefer=webgpu but no WebGPU adapter/,
      );
      return;
    }
    const backend: Backend = await selectBackend({ prefer: "webgpu", log: (l) => lines.push(l) });
    expect(backend.name).toBe("webgpu");
    expect(lines[0]).toMatch(/^thbspline backend: WebGPU/);
    const space = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 4,
      steps: 3,
      nonUniform: false,
    });
    const plan = compile(space);
    const rand = seededRandom(4);
    const control = randomArray(rand, space.size * 2);
    const grid = await backend.evaluateGrid(plan, control, 2, [0, 0], [0.1, 0.1], [11, 11]);
    const reference = await cpuBackend.evaluateGrid(plan, control, 2, [0, 0], [0.1, 0.1], [11, 11]);
    for (let i = 0; i < reference.length; i++) expect(Math.abs(grid[i] - reference[i])).toBeLessThan(1e-5);
    backend.dispose();
  });

  it("rejects an unknown backend, naming where it came from (the prefer option or THB_BACKEND)", async () => {
    await expect(selectBackend({ prefer: "cuda" as "cpu" })).rejects.toThrow(
      /prefer must be "cpu" or "webgpu"/,
    );
    const saved = process.env.THB_BACKEND;
    process.env.THB_BACKEND = "cuda";
    try {
      await expect(selectBackend()).rejects.toThrow(/THB_BACKEND must be "cpu" or "webgpu", got "cuda"/);
    } finally {
      if (saved === undefined) delete process.env.THB_BACKEND;
      else process.env.THB_BACKEND = saved;
    }
  });
});
