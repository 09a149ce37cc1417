import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fieldFromJson } from "../../io/serialization.js";

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
    writeFileSync(join(dir, "empty.xyz"), "# nothing here\n");
    writeFileSync(join(dir, "line.xyz"), "0 0 0\n1 1 1\n2 2 2\n3 3 3\n");
    writeFileSync(join(dir, "column.xyz"), "0.5 0 0\n0.5 1 1\n0.5 2 0\n0.5 3 1\n");
    for (const [args, message] of [
      [["fit", join(dir, "empty.xyz"), "--out", join(dir, "s.json")], /empty.xyz: no points/],
      [["fit", join(dir, "line.xyz"), "--out", join(dir, "s.json")], /line.xyz: .*collinear/],
      [
        ["fit", join(dir, "column.xyz"), "--out", join(dir, "s.json"), "--height-field"],
        /column.xyz: .*all equal along direction 0 \(x\).*collinear/,
      ],
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
    expect(readdirSync(dir).sort()).toEqual(["bad.xyz", "column.xyz", "empty.xyz", "line.xyz"]);
    expect(existsSync(join(dir, "s.report.json"))).toBe(false);
  });

  it("fewer points than functions and conflicting duplicates: fits, and says what it did about them", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-fit-"));
    // 12 points for 49 bicubic functions; the last point repeats the first's (x, y) with another height
    const rows = ["0 0 0", "1 0 1", "0 1 1", "1 1 0", "0.5 0.5 0.3", "0.2 0.7 0.1", "0.8 0.3 0.6"];
    rows.push("0.3 0.3 0.2", "0.6 0.9 0.4", "0.9 0.6 0.8", "0.1 0.4 0.5", "0 0 0.2");
    writeFileSync(join(dir, "few.xyz"), `${rows.join("\n")}\n`);
    const run = thb([
      "fit",
      join(dir, "few.xyz"),
      "--out",
      join(dir, "s.json"),
      "--height-field",
      "--levels",
      "1",
    ]);
    expect(run.status).toBe(0);
    expect(run.stderr).toMatch(
      /note: fewer data \(12 points\) than unknowns \(49 functions\): regularised minimally/,
    );
    expect(run.stderr).toMatch(
      /note: 1 points share their parameters with a different earlier point \(first: point 11\)/,
    );
    const surface = fieldFromJson(readFileSync(join(dir, "s.json"), "utf8"));
    // the conflicting pair is averaged; the other points are met closely (more unknowns than data)
    expect(surface.evaluate([0, 0])[0]).toBeCloseTo(0.1, 2);
    expect(surface.evaluate([0.5, 0.5])[0]).toBeCloseTo(0.3, 2);
  });
});
