/**
 * `thb fit` on the project's own sample cloud, as a new user runs it right after the quick start, and at
 * every tolerance down to 0.001 (about 1e-5 of the part's size): it completes, its report's max error falls
 * level after level, every number it writes is finite, and the written surface reproduces the reported errors.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readPointCloud } from "../../io/node/readPointCloud.js";
import { fieldFromJson } from "../../io/serialization.js";

const thb = (args: string[]) =>
  spawnSync("npx", ["tsx", "cli/thb.ts", ...args], {
    encoding: "utf8",
    env: { ...process.env, THB_BACKEND: "cpu" },
  });
const SAMPLE = "examples/data/deepdrawingC.xml";

interface Report {
  iterations: { levels: number; dofs: number; maxError: number; rmsError: number; seconds: number }[];
  final: { maxError: number; rmsError: number; dofs: number };
  stopReason: string;
  options: { tolerance: number };
}

/** Everything finite, errors falling, the stop reason true to the numbers, the surface matching the report. */
function checkRun(dir: string, tolerance?: number): Report {
  const report = JSON.parse(readFileSync(join(dir, "s.report.json"), "utf8")) as Report;
  const rows = report.iterations;
  for (const row of rows) for (const v of Object.values(row)) expect(Number.isFinite(v)).toBe(true);
  for (let i = 1; i < rows.length; i++) expect(rows[i].maxError).toBeLessThan(rows[i - 1].maxError);
  if (tolerance !== undefined) expect(report.options.tolerance).toBe(tolerance);
  const met = report.final.maxError <= report.options.tolerance;
  expect(report.stopReason).toBe(met ? "tolerance" : "maxLevels");
  const surface = fieldFromJson(readFileSync(join(dir, "s.json"), "utf8"));
  for (const c of surface.control) expect(Number.isFinite(c)).toBe(true);
  const cloud = readPointCloud(SAMPLE);
  // meaningful between and beyond the points: control points stay near the part (without the regularisation,
  // weakly supported functions at depth fling them ~1e6 away, though the points are still met)
  let size = 0;
  for (const x of cloud.points) size = Math.max(size, Math.abs(x));
  for (const c of surface.control) expect(Math.abs(c)).toBeLessThan(10 * size);
  const fitted = surface.evaluate(cloud.params!);
  let max = 0;
  for (let i = 0; i < fitted.length / 3; i++) {
    let s = 0;
    for (let c = 0; c < 3; c++) s += (fitted[3 * i + c] - cloud.points[3 * i + c]) ** 2;
    max = Math.max(max, Math.sqrt(s));
  }
  // the JSON keeps every digit, so the surface file reproduces the reported error
  expect(Math.abs(max - report.final.maxError)).toBeLessThanOrEqual(1e-9 * Math.max(1, max));
  expect(surface.space.size).toBe(report.final.dofs);
  return report;
}

describe("thb fit on the bundled deepdrawingC.xml at every depth", () => {
  it("the default command completes and meets its tolerance", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-deep-"));
    const run = thb(["fit", SAMPLE, "--out", join(dir, "s.json")]);
    expect(run.stderr).not.toMatch(/Error/);
    expect(run.status).toBe(0);
    const report = checkRun(dir);
    expect(report.iterations.length).toBeGreaterThanOrEqual(5);
  });

  for (const tol of [1, 0.01, 0.001]) {
    it(`--tol ${tol} completes with falling errors and an honest stop reason`, () => {
      const dir = mkdtempSync(join(tmpdir(), "thb-deep-"));
      const run = thb(["fit", SAMPLE, "--out", join(dir, "s.json"), "--tol", String(tol), "--levels", "10"]);
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.status).toBe(0);
      checkRun(dir, tol);
    });
  }

  it("--regularization takes 0 (the checked solve still holds) and refuses values outside 0 … 1, naming the option", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-deep-"));
    const bad = thb(["fit", SAMPLE, "--out", join(dir, "s.json"), "--regularization", "2"]);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--regularization 2: expected a number from 0 to 1/);
    const off = thb(["fit", SAMPLE, "--out", join(dir, "s.json"), "--regularization", "0", "--levels", "6"]);
    expect(off.stderr).not.toMatch(/Error/);
    expect(off.status).toBe(0);
    const report = JSON.parse(readFileSync(join(dir, "s.report.json"), "utf8")) as Report & {
      options: { regularization: number };
    };
    expect(report.options.regularization).toBe(0);
    for (const row of report.iterations) expect(Number.isFinite(row.maxError)).toBe(true);
  });

  it("a 10×10 grid cloud and --elements 10 (more functions than points) fit with finite coefficients, lsq and adam", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-deep-"));
    const rows: string[] = [];
    for (let i = 0; i < 10; i++) for (let j = 0; j < 10; j++) rows.push(`${i} ${j} ${(i * i + j) % 7}`);
    writeFileSync(join(dir, "g.xyz"), `${rows.join("\n")}\n`);
    for (const extra of [[], ["--elements", "10"], ["--method", "adam", "--elements", "10"]]) {
      const run = thb(["fit", join(dir, "g.xyz"), "--out", join(dir, "s.json"), ...extra]);
      expect(run.stderr).not.toMatch(/Error/);
      expect(run.status).toBe(0);
      const surface = fieldFromJson(readFileSync(join(dir, "s.json"), "utf8"));
      for (const c of surface.control) expect(Number.isFinite(c)).toBe(true);
    }
  });
});
