import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fieldFromJson } from "../../hierarchy/serialization.js";

const thb = (args: string[]) => spawnSync("npx", ["tsx", "cli/thb.ts", ...args], { encoding: "utf8" });

describe("thb fit", () => {
  it("fits a CSV cloud and writes the surface, the report and a mesh, with a one-line summary", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-fit-"));
    const rows: string[] = ["x,y,z"];
    for (let i = 0; i < 40; i++)
      for (let j = 0; j < 40; j++)
        rows.push(`${i / 39},${j / 39},${Math.sin(3 * (i / 39)) * Math.cos(2 * (j / 39))}`);
    writeFileSync(join(dir, "cloud.csv"), rows.join("\n"));
    const run = thb([
      "fit",
      join(dir, "cloud.csv"),
      "--out",
      join(dir, "s.json"),
      "--mesh",
      join(dir, "s.stl"),
      "--tol",
      "1e-3",
      "--height-field",
    ]);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(/fitted 1600 points: \d+ levels, \d+ functions, max error/);
    const report = JSON.parse(readFileSync(join(dir, "s.report.json"), "utf8"));
    expect(report.final.maxError).toBeLessThanOrEqual(1e-3);
    expect(report.iterations.length).toBeGreaterThan(0);
    const surface = fieldFromJson(readFileSync(join(dir, "s.json"), "utf8"));
    expect(surface.evaluate([0.5, 0.5])[0]).toBeCloseTo(Math.sin(1.5) * Math.cos(1), 3);
    expect(readFileSync(join(dir, "s.stl")).length).toBeGreaterThan(84);
  });

  it("bad input: a clear message naming the file, exit code 1, and no output file at all", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-fit-"));
    writeFileSync(join(dir, "bad.xyz"), "0 0 0\n1 0 1\n0 1 nan\n");
    for (const [args, message] of [
      [["fit", join(dir, "bad.xyz"), "--out", join(dir, "s.json")], /bad.xyz: line 3, column 3 is "nan"/],
      [["fit", join(dir, "missing.xyz"), "--out", join(dir, "s.json")], /missing.xyz: cannot read/],
      [["fit", join(dir, "bad.las"), "--out", join(dir, "s.json")], /unknown extension ".las"/],
      [
        ["fit", join(dir, "bad.xyz"), "--out", join(dir, "s.json"), "--mesh", join(dir, "m.fbx")],
        /--mesh .*unknown extension/,
      ],
      [
        ["fit", join(dir, "bad.xyz"), "--out", join(dir, "s.json"), "--degree", "9"],
        /--degree 9: expected an integer from 1 to 5/,
      ],
    ] as const) {
      const run = thb([...args]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    expect(readdirSync(dir).sort()).toEqual(["bad.xyz"]);
    expect(existsSync(join(dir, "s.report.json"))).toBe(false);
  });
});
