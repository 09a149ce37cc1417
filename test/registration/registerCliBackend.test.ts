/**
 * `thb register --backend`: webgpu on a small PNG pair writes the same files as cpu, with finite values,
 * `backend: "webgpu"` in summary.json and the same registration within f32 noise; an unknown backend and a
 * machine without a WebGPU adapter get a message naming --backend and what was expected, exit code 1, and no
 * DIR. The webgpu run skips loudly without an adapter (fails under CI=true).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodePngImage } from "../../io/png.js";
import { transformFromJson } from "../../io/transformJson.js";
import { webgpuForTests } from "../helpers/gpu.js";
import { blobs, imageOf } from "./helpers.js";

const webgpu = await webgpuForTests("thb register --backend webgpu");
// the CLI makes its own device; this one only told us an adapter exists
webgpu?.device.destroy();

const thb = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  spawnSync("npx", ["tsx", "cli/thb.ts", ...args], { encoding: "utf8", env });

function pair(dir: string): [string, string] {
  const fixed = join(dir, "fixed.png");
  const moving = join(dir, "moving.png");
  writeFileSync(fixed, encodePngImage(imageOf([40, 40], blobs)));
  writeFileSync(moving, encodePngImage(imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1))));
  return [fixed, moving];
}

const small = ["--grid", "10", "--levels", "2", "--iterations", "10", "--quiet"];

describe("thb register --backend", () => {
  it.skipIf(!webgpu)("webgpu writes consistent, finite outputs that match the cpu run", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-register-gpu-"));
    const [fixed, moving] = pair(dir);
    const summaries = (["cpu", "webgpu"] as const).map((backend) => {
      const out = join(dir, backend);
      const run = thb(["register", fixed, moving, "--out", out, ...small, "--backend", backend]);
      expect(run.status, run.stderr).toBe(0);
      expect(readdirSync(out).sort()).toEqual([
        "iterations.tsv",
        "summary.json",
        "transform.json",
        "warped.png",
      ]);
      const rows = readFileSync(join(out, "iterations.tsv"), "utf8").trim().split("\n").slice(1);
      expect(rows.length).toBeGreaterThan(2);
      for (const row of rows)
        for (const field of row.split("\t")) expect(Number.isFinite(Number(field))).toBe(true);
      const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
      expect(transform.fixed.size).toEqual([40, 40]);
      expect(Array.from(transform.field.control).every(Number.isFinite)).toBe(true);
      return JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    });
    const [cpu, gpu] = summaries;
    expect(cpu.backend).toBe("cpu");
    expect(gpu.backend).toBe("webgpu");
    expect(gpu.options.backend).toBe("webgpu");
    expect(gpu.device).toMatch(/^WebGPU/);
    expect(gpu.foldingFraction).toBe(0);
    expect(gpu.metricAfter).toBeLessThan(gpu.metricBefore / 10);
    // the same registration: f32 noise moves the final MSE by far less than 1e-3 of the initial one
    expect(gpu.metricBefore).toBe(cpu.metricBefore);
    expect(Math.abs(gpu.metricAfter - cpu.metricAfter)).toBeLessThan(1e-3 * cpu.metricBefore);
    expect(gpu.dofsPerLevel).toEqual(cpu.dofsPerLevel);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("an unknown backend and a machine without an adapter: named errors, exit 1, no DIR", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-register-gpu-"));
    const [fixed, moving] = pair(dir);
    const out = join(dir, "result");
    const unknown = thb(["register", fixed, moving, "--out", out, ...small, "--backend", "metal"]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--backend metal: expected one of cpu, webgpu/);
    // a Vulkan loader pointed at no driver: Dawn finds no adapter
    const noDriver = { ...process.env, VK_ICD_FILENAMES: join(dir, "no-such-driver.json") };
    const none = thb(["register", fixed, moving, "--out", out, ...small, "--backend", "webgpu"], noDriver);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(
      /--backend webgpu: expected a WebGPU adapter, but there is no WebGPU adapter/,
    );
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
