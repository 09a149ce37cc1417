import { spawnSync } from "node:child_process";
import {
  existsSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import { main } from "../../cli/thb.js";
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
      /note: fewer data \(12 points\) than unknowns \(49 functions\): the thin-plate regularisation/,
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

/** Runs `thb …` in this process (commander, error formatting and exit code as the command has them). */
async function thbHere(args: string[]): Promise<{ status: number; stderr: string }> {
  let stderr = "";
  const spy = vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  const before = process.exitCode;
  try {
    await main(["node", "thb", ...args, "--no-progress"]);
    return { status: Number(process.exitCode ?? 0), stderr };
  } finally {
    process.exitCode = before;
    spy.mockRestore();
  }
}

describe("thb fit: outputs all or none, options and inputs bounded", () => {
  const dir = mkdtempSync(join(tmpdir(), "thb-fit-out-"));
  const rows: string[] = [];
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) rows.push(`${i / 7} ${j / 7} ${((i * j) % 5) / 5}`);
  const cloudText = `${rows.join("\n")}\n`;
  writeFileSync(join(dir, "cloud.xyz"), cloudText);
  const quick = ["--height-field", "--levels", "1"];

  it("refuses clashing, folder and input output paths up front, naming the option, and leaves nothing", async () => {
    mkdirSync(join(dir, "reports"));
    symlinkSync(join(dir, "cloud.xyz"), join(dir, "link.xyz"));
    linkSync(join(dir, "cloud.xyz"), join(dir, "hard.xyz"));
    const cloud = join(dir, "cloud.xyz");
    for (const [args, message] of [
      [
        ["--out", join(dir, "a.json"), "--report", `${join(dir, "reports")}/`],
        /--report: .*reports\/ names a directory/,
      ],
      [
        ["--out", join(dir, "a.json"), "--report", join(dir, "reports")],
        /--report: .*reports is a directory/,
      ],
      [
        ["--out", join(dir, "x.json"), "--report", join(dir, "x.json")],
        /--report and --out both name .*x.json/,
      ],
      [["--out", join(dir, "y.ply"), "--mesh", join(dir, "y.ply")], /--mesh and --out both name .*y.ply/],
      [
        ["--out", join(dir, "r.json"), "--report", join(dir, "m.obj"), "--mesh", join(dir, "m.obj")],
        /--mesh and --report both name .*m.obj/,
      ],
      [
        ["--out", cloud],
        /--out: .*cloud.xyz is the input POINTS: .*cloud.xyz; refusing to overwrite an input/,
      ],
      [["--out", join(dir, "link.xyz")], /--out: .*link.xyz is the input POINTS/],
      [["--out", join(dir, "hard.xyz")], /--out: .*hard.xyz is the input POINTS/],
      [
        ["--out", join(dir, "cloud.xyz", "s.json")],
        /--out: .*cloud.xyz\/s.json: .*cloud.xyz is not a directory/,
      ],
    ] as const) {
      const run = await thbHere(["fit", cloud, ...args, ...quick]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^thb: OutputError: ${message.source}`));
    }
    expect(readFileSync(cloud, "utf8")).toBe(cloudText);
    expect(readdirSync(dir).sort()).toEqual(["cloud.xyz", "hard.xyz", "link.xyz", "reports"]);
    expect(readdirSync(join(dir, "reports"))).toEqual([]);
  });

  it("writes all three outputs together, into new folders, and nothing else", async () => {
    const out = join(dir, "new", "deeper");
    const run = await thbHere([
      "fit",
      join(dir, "cloud.xyz"),
      "--out",
      join(out, "s.json"),
      "--report",
      join(out, "r.json"),
      "--mesh",
      join(out, "m.obj"),
      "--resolution",
      "4",
      ...quick,
    ]);
    expect(run.stderr).toMatch(/fitted 64 points/);
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["m.obj", "r.json", "s.json"]);
    expect(readFileSync(join(out, "m.obj"), "utf8").match(/^v /gm)?.length).toBe(25);
  });

  it("options beyond their stated bounds are refused before any work, naming the option and the bound", async () => {
    const cloud = join(dir, "cloud.xyz");
    for (const [args, message] of [
      [["--resolution", "100000"], /--resolution 100000: expected an integer from 1 to 1024/],
      [["--elements", "2000"], /--elements 2000: expected an integer from 1 to 128/],
      [["--smoothing", "1e308"], /--smoothing 1e308: expected a number from 0 to 1000000/],
      [
        ["--parameter-correction", "1000000"],
        /--parameter-correction 1000000: expected an integer from 0 to 50/,
      ],
      [["--tol", "Infinity"], /--tol Infinity: expected a positive finite number/],
    ] as const) {
      const t0 = performance.now();
      const run = await thbHere(["fit", cloud, "--out", join(dir, "b.json"), ...args]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(performance.now() - t0).toBeLessThan(1000);
    }
    expect(existsSync(join(dir, "b.json"))).toBe(false);
  });

  it("malformed or hostile clouds fail with exit 1 naming the file and what was expected", async () => {
    const bad = mkdtempSync(join(tmpdir(), "thb-fit-bad-"));
    const header = (lines: string[], format = "ascii") =>
      ["ply", `format ${format} 1.0`, ...lines, "end_header", ""].join("\n");
    const xyz = ["property float x", "property float y", "property float z"];
    const cases: [string, string | Uint8Array, RegExp][] = [
      [
        "huge.xyz",
        rows.map((r) => r.replace(/^0 /, "1e300 ")).join("\n"),
        /huge.xyz: x spans \[0.14\d+, 1e\+300\]; the bounding box's squared diagonal overflows/,
      ],
      [
        "nan.xyz",
        `nan nan nan\n${cloudText}`,
        /nan.xyz: line 1, column 1 is "nan", expected a finite number/,
      ],
      [
        "neg.ply",
        `${header(["element vertex -5", ...xyz])}1 2 3\n`,
        /neg.ply: header line 3 "element vertex -5": expected element NAME COUNT/,
      ],
      [
        "e12.ply",
        `${header(["element vertex 1e12", ...xyz])}1 2 3\n`,
        /e12.ply: header line 3 "element vertex 1e12"/,
      ],
      [
        "floot.ply",
        `${header(["element vertex 1", "property floot x", "property float y", "property float z"])}1 2 3\n`,
        /floot.ply: header line 4 "property floot x"/,
      ],
      [
        "extra.ply",
        `${header(["element vertex 1", ...xyz])}1 2 3\n4 5 6\n`,
        /extra.ply: the body has 2 lines, but the header declares 1 vertex/,
      ],
      [
        "hang.ply",
        new Uint8Array([
          ...new TextEncoder().encode(
            header(
              [
                "element face 1000000000000000",
                "property list uchar int vertex_indices",
                "element vertex 1",
                ...xyz,
              ],
              "binary_little_endian",
            ),
          ),
          ...new Uint8Array(12),
        ]),
        /hang.ply: element "face" declares 1000000000000000 items of at least 1 bytes, but only 12 bytes remain/,
      ],
      ["open.xml", '<xml><Matrix id="0" rows="2" cols="1">0 0</Matrix>', /open.xml: not well-formed XML/],
    ];
    for (const [name, data, message] of cases) {
      writeFileSync(join(bad, name), data);
      const run = await thbHere(["fit", join(bad, name), "--out", join(bad, "s.json")]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    expect(readdirSync(bad).length).toBe(cases.length);
  });

  it("as a separate process: an output on the input exits 1 with the message and the input intact", () => {
    const run = thb(["fit", join(dir, "cloud.xyz"), "--out", join(dir, "cloud.xyz")]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/thb: OutputError: --out: .*cloud.xyz is the input/);
    expect(readFileSync(join(dir, "cloud.xyz"), "utf8")).toBe(cloudText);
  });
});
