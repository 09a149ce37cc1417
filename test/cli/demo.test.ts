import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { runDemo, sampleSurface } from "../../cli/demo.js";

let sharedDemoDir = "";

describe("thb demo", () => {
  it("writes the sample surface as OBJ whose vertices are the surface evaluated on the 97×97 grid", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-demo-"));
    const lines: string[] = [];
    const written = await runDemo(dir, (l) => lines.push(l));
    sharedDemoDir = dir;
    expect(written.map((p) => p.slice(dir.length + 1)).sort()).toEqual([
      "cylinder-patch.obj",
      "deepdrawing-fit.json",
      "deepdrawing-fit.obj",
      "deepdrawing-fit.report.json",
      "registration/checkerboard.png",
      "registration/iterations.tsv",
      "registration/jacobian.nii.gz",
      "registration/jacobian.png",
      "registration/summary.json",
      "registration/transform.json",
      "registration/warped.png",
      "surface.json",
      "surface.obj",
    ]);
    // the registration of the bundled pair: said where, and it registered (MSE 1309.5 before)
    const summary = JSON.parse(readFileSync(join(dir, "registration", "summary.json"), "utf8"));
    expect(summary.metricBefore).toBeCloseTo(1309.49, 1);
    expect(summary.metricAfter).toBeLessThan(30);
    expect(summary.foldingFraction).toBe(0);
    expect(lines.some((l) => /^Registered the bundled ITK brain slices .* in .*registration$/.test(l))).toBe(
      true,
    );
    const report = JSON.parse(readFileSync(join(dir, "deepdrawing-fit.report.json"), "utf8"));
    expect(report.final.maxError).toBeLessThanOrEqual(0.5);
    expect(readdirSync(dir).filter((f) => f.endsWith(".tmp") || f.endsWith(".new"))).toEqual([]);
    expect(lines.join("\n")).toContain(join(dir, "surface.obj"));
    // the last line opens the fit in the viewer, with the files this run wrote and read
    const command = lines.at(-1)?.match(/^Open the fit in the viewer: thb view (\S+) --points (\S+)$/);
    expect(command, lines.at(-1)).not.toBeNull();
    expect(resolve(command![1])).toBe(join(dir, "deepdrawing-fit.json"));
    expect(command![2]).toMatch(/examples\/data\/deepdrawingC\.xml$/);
    const obj = readFileSync(join(dir, "surface.obj"), "utf8").split("\n");
    const vertices = obj.filter((l) => l.startsWith("v ")).map((l) => l.slice(2).split(" ").map(Number));
    expect(vertices.length).toBe(97 * 97);
    expect(obj.filter((l) => l.startsWith("f ")).length).toBe(2 * 96 * 96);
    const surface = sampleSurface();
    const expected = surface.evaluate([0.5, 0.25]);
    const v = vertices[24 * 97 + 48]; // u = 48/96, v = 24/96
    for (let c = 0; c < 3; c++) expect(Math.abs(v[c] - expected[c])).toBeLessThan(1e-7);
  });

  it("the cylinder patch vertices lie on the unit cylinder (exact rational arcs)", () => {
    const dir = sharedDemoDir;
    const obj = readFileSync(join(dir, "cylinder-patch.obj"), "utf8").split("\n");
    for (const line of obj.filter((l) => l.startsWith("v "))) {
      const [x, y] = line.slice(2).split(" ").map(Number);
      expect(Math.abs(Math.hypot(x, y) - 1)).toBeLessThan(1e-8);
    }
  });
});
