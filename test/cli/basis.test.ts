import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { basisProbe, PROBE_LIMITS, runBasis } from "../../cli/basis.js";

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

describe("thb basis: bounds and streaming", () => {
  it("a tiny spec asking for billions of cells, or overflowing knots, fails at once with exit 1 naming the file", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-basis-"));
    writeFileSync(join(dir, "big.json"), JSON.stringify({ ...spec, boxes: [[15, 0, 0, 131072, 131072]] }));
    writeFileSync(
      join(dir, "wide.json"),
      JSON.stringify({ ...spec, knots: [[-1e308, -1e308, -1e308, 1e308, 1e308, 1e308], spec.knots[1]] }),
    );
    writeFileSync(join(dir, "points.json"), "[[0.5, 0.5]]");
    for (const [file, message] of [
      [
        "big.json",
        /big.json: the level-0 grid and boxes ask for up to \d+ active elements; the limit is 262144/,
      ],
      [
        "wide.json",
        /KnotVectorError: .*wide.json: knots\[0\] spans \[-1e\+308, 1e\+308\], whose length Infinity overflows/,
      ],
    ] as const) {
      const t0 = performance.now();
      const run = spawnSync(
        "npx",
        ["tsx", "cli/thb.ts", "basis", join(dir, file), "--points", join(dir, "points.json")],
        {
          encoding: "utf8",
        },
      );
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe("");
      expect(performance.now() - t0).toBeLessThan(15_000); // was 22 s and 1.4 GB before a RangeError
    }
  });

  it("refuses a space too costly to compile, and more points than it answers in memory, with the numbers", () => {
    const cubic = [0, 0, 0, 0, ...Array.from({ length: 19 }, (_, i) => (i + 1) / 20), 1, 1, 1, 1];
    const deep = {
      degree: [3, 3, 3],
      knots: [cubic, cubic, cubic],
      truncated: true,
      boxes: [],
      maxLevels: 4,
    };
    expect(() => basisProbe(deep, [[0.5, 0.5, 0.5]], { spec: "deep.json", points: "p.json" })).toThrow(
      `deep.json: 8000 active elements × (64 local functions)² = 32768000 extraction entries to compile; the limit is ${PROBE_LIMITS.extractionEntries}`,
    );
    const many = new Array(PROBE_LIMITS.answerPoints + 1).fill([0.5, 0.5]);
    expect(() => basisProbe(spec, many, { spec: "s.json", points: "many.json" })).toThrow(
      "many.json: 65537 points asked; the limit is 65536 in memory (the thb basis command streams up to 1048576)",
    );
  });

  it("streams the answer block by block: the same text as the in-memory answer", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-basis-"));
    const points = Array.from({ length: 2500 }, (_, i) => [(i % 50) / 49, Math.floor(i / 50) / 49]);
    writeFileSync(join(dir, "spec.json"), JSON.stringify(spec));
    writeFileSync(join(dir, "points.json"), JSON.stringify(points));
    const chunks: string[] = [];
    runBasis(join(dir, "spec.json"), join(dir, "points.json"), (text) => chunks.push(text));
    expect(chunks.length).toBe(5); // head, 3 blocks of ≤ 1024 points, tail
    expect(chunks.join("")).toBe(`${JSON.stringify(basisProbe(spec, points))}\n`);
  });
});
