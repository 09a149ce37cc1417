/**
 * Every compiled plan has one hidden class: the warp and grid kernels take a plan in their hot loops, and a
 * plan of a second shape (a pooled plan with its own getter had one per plan) deoptimised them at every level
 * of a registration (measured: CPU 1.45 → 1.22 s on the ITK pair once fixed). V8's %HaveSameMap needs
 * --allow-natives-syntax, so the check runs in a child process.
 */
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

describe("compiled plans", () => {
  it("share one hidden class, compiled from scratch or reusing a previous plan's row pool", () => {
    const probe = fileURLToPath(new URL("./planShapeProbe.ts", import.meta.url));
    const output = execFileSync(process.execPath, ["--allow-natives-syntax", "--import", "tsx", probe], {
      encoding: "utf8",
    });
    const result = JSON.parse(output);
    expect(result.pooled, "the probe reaches a pooled plan").toBe(true);
    expect(result).toEqual({ pooled: true, scratchPooled: true, pooledPooled: true, scratchScratch: true });
  });
});
