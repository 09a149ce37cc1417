import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { basisProbe } from "../../cli/basis.js";

const spec = {
  degree: [2, 2],
  knots: [
    [0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1],
    [0, 0, 0, 0.25, 0.5, 0.75, 1, 1, 1],
  ],
  truncated: true,
  boxes: [[1, 2, 0, 8, 4]],
};

describe("thb basis", () => {
  it("answers the documented JSON shape with values that sum to one and the published values", () => {
    const answer = basisProbe(spec, [
      [0.95, 0.05],
      [1, 1],
      [0, 0.5],
    ]);
    expect(answer.sizePerLevel).toEqual([30, 24]);
    expect(answer.size).toBe(54);
    const first = answer.points[0];
    expect(first.x).toEqual([0.95, 0.05]);
    expect(first.functions.map((f) => Number(f.value.toFixed(4)))).toEqual([
      0.0288, 0.2016, 0.1296, 0.0448, 0.3136, 0.2016, 0.0064, 0.0448, 0.0288,
    ]);
    expect(first.functions[0]).toMatchObject({ level: 1, index: [7, 0] });
    for (const p of answer.points) {
      const sum = p.functions.reduce((a: number, f) => a + f.value, 0);
      expect(sum).toBeCloseTo(1, 13);
      for (const f of p.functions) {
        expect(f.d1.length).toBe(2);
        expect(f.d2.length).toBe(3);
      }
    }
    // the end of the domain belongs to the last span: at (1, 1) only the corner function is non-zero
    const corner = answer.points[1].functions.filter((f) => f.value > 0);
    expect(corner).toEqual([expect.objectContaining({ level: 0, index: [5, 5], value: 1 })]);
  });

  it("runs as a command: JSON on stdout, and a clear error with exit code 1 for bad points", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-basis-"));
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    writeFileSync(join(dir, "points.json"), "[[0.5, 0.5]]");
    writeFileSync(join(dir, "bad.json"), "[[0.5]]");
    const out = execFileSync(
      "npx",
      ["tsx", "cli/thb.ts", "basis", join(dir, "spec.json"), "--points", join(dir, "points.json")],
      {
        encoding: "utf8",
      },
    );
    expect(JSON.parse(out).points[0].functions.length).toBeGreaterThan(0);
    const bad = spawnSync(
      "npx",
      ["tsx", "cli/thb.ts", "basis", join(dir, "spec.json"), "--points", join(dir, "bad.json")],
      {
        encoding: "utf8",
      },
    );
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad.json: point 0 must be an array of 2 numbers/);
  });
});
