import { describe, expect, it } from "vitest";
import { compile } from "../../hierarchy/plan.js";
import { type Backend, cpuBackend, selectBackend } from "../../kernels/backend.js";
import { randomArray, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

describe("backend selection", () => {
  it("THB_BACKEND=cpu forces the cpu backend and says so", async () => {
    const lines: string[] = [];
    const backend = await selectBackend({ prefer: "cpu", log: (l) => lines.push(l) });
    expect(backend.name).toBe("cpu");
    expect(lines[0]).toMatch(/backend: cpu \(forced/);
  });

  it("picks webgpu when an adapter exists (else cpu), and both give the same field through the same interface", async () => {
    const lines: string[] = [];
    const backend: Backend = await selectBackend({ log: (l) => lines.push(l) });
    expect(lines[0]).toMatch(/^thbspline backend: (cpu|WebGPU)/);
    if (process.env.CI === "true") expect(backend.name).toBe("webgpu");
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

  it("rejects an unknown THB_BACKEND value", async () => {
    await expect(selectBackend({ prefer: "cuda" as "cpu" })).rejects.toThrow(
      /THB_BACKEND must be "cpu" or "webgpu"/,
    );
  });
});
