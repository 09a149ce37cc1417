/**
 * The tools around a registration result: `thb register --write-displacement --write-jacobian
 * --write-checkerboard` (dense maps read back through @itk-wasm/image-io and compared with the transform's
 * own mapPoints and exact Jacobian), `thb apply` (cubic reproduces warped.png byte for byte; nearest keeps
 * label values, checked against mapPoints by hand), `thb transform-points` (forward equals mapPoints bit for
 * bit, --inverse round trips), and their bad input: a message naming the file, line, column or option,
 * exit code 1 (one spawned run), and no output left behind.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/thb.js";
import { parsePointsCsv } from "../../cli/transformPoints.js";
import { createImage, indexToPhysical, physicalToIndex, transformPoints } from "../../fields/image.js";
import { decodePngImage, encodePngImage } from "../../io/png.js";
import { transformFromJson } from "../../io/transformJson.js";
import { blobs, imageOf, metaImage } from "../registration/helpers.js";

const run = (args: string[]) =>
  buildProgram()
    .exitOverride()
    .parseAsync(["node", "thb", ...args]);

let dir = "";
let out = "";
let fixedPath = "";
let movingPath = "";

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "thb-regtools-"));
  fixedPath = join(dir, "fixed.png");
  movingPath = join(dir, "moving.png");
  writeFileSync(fixedPath, encodePngImage(imageOf([40, 36], blobs)));
  // a small rotation about the middle plus a shift, so the initial affine has work to do
  const c = Math.cos(0.05);
  const s = Math.sin(0.05);
  writeFileSync(
    movingPath,
    encodePngImage(
      imageOf([40, 36], (x, y) =>
        blobs(c * (x - 20) - s * (y - 18) + 21.5, s * (x - 20) + c * (y - 18) + 17),
      ),
    ),
  );
  out = join(dir, "result");
  await run([
    "register",
    fixedPath,
    movingPath,
    "--out",
    out,
    "--grid",
    "10",
    "--levels",
    "2",
    "--write-displacement",
    "--write-jacobian",
    "--write-checkerboard",
    "--quiet",
  ]);
}, 120_000);

describe("thb register dense maps", () => {
  it("writes displacement.nii.gz (T(x) − x, 2 components), jacobian.nii.gz/png (det J) and checkerboard.png", async () => {
    expect(readdirSync(out).sort()).toEqual([
      "checkerboard.png",
      "displacement.nii.gz",
      "iterations.tsv",
      "jacobian.nii.gz",
      "jacobian.png",
      "summary.json",
      "transform.json",
      "warped.png",
    ]);
    const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
    expect(transform.hasAffine).toBe(true);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.initial.kind).toBe("affine");
    expect(summary.affine).toEqual(Array.from(transform.affine));
    const io = await import("@itk-wasm/image-io");
    const field = await io.readImageNode(join(out, "displacement.nii.gz"));
    expect(field.imageType.components).toBe(2);
    expect(Array.from(field.size)).toEqual([40, 36]);
    const index = Float64Array.from({ length: 40 * 36 * 2 }, (_, i) =>
      i % 2 === 0 ? (i / 2) % 40 : Math.floor(i / 80),
    );
    const points = transformPoints(indexToPhysical(transform.fixed), index);
    const mapped = transform.mapPoints(points);
    const data = field.data as Float32Array;
    let worst = 0;
    let largest = 0;
    for (let i = 0; i < data.length; i++) {
      worst = Math.max(worst, Math.abs(data[i] - (mapped[i] - points[i])));
      largest = Math.max(largest, Math.abs(data[i]));
    }
    expect(largest).toBeGreaterThan(0.5);
    expect(worst).toBeLessThan(1e-5); // float32
    const jacobian = await io.readImageNode(join(out, "jacobian.nii.gz"));
    const det = transform.jacobianDeterminant();
    const stored = jacobian.data as Float32Array;
    for (let p = 0; p < det.length; p++) expect(Math.abs(stored[p] - det[p])).toBeLessThan(1e-6);
    const preview = decodePngImage(readFileSync(join(out, "jacobian.png"))).image;
    for (let p = 0; p < det.length; p++)
      expect(preview.data[p]).toBe(Math.min(255, Math.max(1, Math.round(128 * det[p]))));
    // the checkerboard's top-left square is the fixed image, its neighbour the warped one (scaled together)
    const board = decodePngImage(readFileSync(join(out, "checkerboard.png"))).image;
    const fixed = decodePngImage(readFileSync(fixedPath)).image;
    const warped = decodePngImage(readFileSync(join(out, "warped.png"))).image;
    const all = [...fixed.data, ...warped.data];
    const [lo, hi] = [Math.min(...all), Math.max(...all)];
    const scaled = (v: number) => Math.round(((v - lo) * 255) / (hi - lo));
    expect(Math.abs(board.data[2 + 40 * 2] - scaled(fixed.data[2 + 40 * 2]))).toBeLessThanOrEqual(1);
    const q = 7 + 40 * 2; // square size ceil(40 / 8) = 5: column 7 is in the second square
    expect(Math.abs(board.data[q] - scaled(warped.data[q]))).toBeLessThanOrEqual(1);
  });
});

describe("thb apply", () => {
  it("cubic reproduces warped.png byte for byte; nearest keeps label values (checked through mapPoints)", async () => {
    const again = join(dir, "again.png");
    await run([
      "apply",
      join(out, "transform.json"),
      movingPath,
      "--out",
      again,
      "--interpolation",
      "cubic",
      "--quiet",
    ]);
    expect(readFileSync(again).equals(readFileSync(join(out, "warped.png")))).toBe(true);
    const labels = new Uint8Array(40 * 36);
    const palette = [0, 1, 2, 200];
    for (let p = 0; p < labels.length; p++)
      labels[p] = palette[(Math.floor((p % 40) / 6) + Math.floor(p / 40 / 5)) % 4];
    const labelPath = join(dir, "labels.png");
    writeFileSync(labelPath, encodePngImage(createImage(labels, [40, 36])));
    const labelOut = join(dir, "labels-warped.png");
    await run([
      "apply",
      join(out, "transform.json"),
      labelPath,
      "--out",
      labelOut,
      "--interpolation",
      "nearest",
      "--quiet",
    ]);
    const warped = decodePngImage(readFileSync(labelOut)).image.data;
    const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
    const index = Float64Array.from({ length: 40 * 36 * 2 }, (_, i) =>
      i % 2 === 0 ? (i / 2) % 40 : Math.floor(i / 80),
    );
    const geometry = createImage(labels, [40, 36]);
    const at = transformPoints(
      physicalToIndex(geometry),
      transform.mapPoints(transformPoints(indexToPhysical(transform.fixed), index)),
    );
    for (let p = 0; p < 40 * 36; p++) {
      const i = Math.min(39, Math.max(0, Math.round(at[2 * p])));
      const j = Math.min(35, Math.max(0, Math.round(at[2 * p + 1])));
      expect(warped[p]).toBe(labels[i + 40 * j]);
    }
    expect(new Set(warped)).toEqual(new Set(palette));
  });
});

describe("thb transform-points", () => {
  it("forward equals mapPoints bit for bit (header kept); --inverse brings the points back", async () => {
    const csv = join(dir, "points.csv");
    writeFileSync(csv, "x;y\n3.5;4\n20;17.25\n38;30\n");
    const forward = join(dir, "forward.csv");
    await run(["transform-points", join(out, "transform.json"), csv, "--out", forward]);
    const text = readFileSync(forward, "utf8");
    expect(text.split("\n")[0]).toBe("x;y");
    const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
    const mapped = parsePointsCsv(text, 2, forward).points;
    expect(Array.from(mapped)).toEqual(Array.from(transform.mapPoints([3.5, 4, 20, 17.25, 38, 30])));
    const back = join(dir, "back.csv");
    await run(["transform-points", join(out, "transform.json"), forward, "--inverse", "--out", back]);
    const again = parsePointsCsv(readFileSync(back, "utf8"), 2, back).points;
    for (const [i, v] of [3.5, 4, 20, 17.25, 38, 30].entries())
      expect(Math.abs(again[i] - v)).toBeLessThan(1e-9);
  });

  it("parses CSV without a header, with commas, tabs or spaces, and names file, line and column on errors", () => {
    expect(Array.from(parsePointsCsv("1,2\n3\t4\n\n5 6\n", 2, "p.csv").points)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(() => parsePointsCsv("x,y\n1,2\n3,oops\n", 2, "p.csv")).toThrow(
      /p\.csv:3: column 2 is "oops", expected a finite number/,
    );
    expect(() => parsePointsCsv("1,2,3\n", 2, "p.csv")).toThrow(/p\.csv:1: 3 columns, expected 2 .*2D/);
    expect(() => parsePointsCsv("x,y\n", 2, "p.csv")).toThrow(
      /p\.csv: no points, expected rows of 2 numbers/,
    );
    expect(() => parsePointsCsv("1,NaN\n", 2, "p.csv")).toThrow(/p\.csv:1: column 2 is "NaN"/);
  });
});

describe("bad input of apply, transform-points and register's new options", () => {
  it("names the file or option and what was expected, and leaves no output behind", async () => {
    const transform = join(out, "transform.json");
    writeFileSync(join(dir, "broken.json"), '{"format": "thbspline-transform", "version": 2, ');
    writeFileSync(join(dir, "volume.mha"), metaImage([6, 6, 6], new Array(216).fill(1)));
    writeFileSync(join(dir, "nan.mha"), metaImage([6, 6], new Array(36).fill(Number.NaN)));
    writeFileSync(join(dir, "empty.png"), "");
    writeFileSync(join(dir, "blocker"), "a file where a folder should be");
    writeFileSync(join(dir, "p.csv"), "1,2\n");
    writeFileSync(join(dir, "p3.csv"), "1,2,3\n");
    const cases: [string[], RegExp, string][] = [
      [
        ["apply", join(dir, "missing.json"), movingPath],
        /missing\.json: cannot read \(no such file\)/,
        "a1.png",
      ],
      [["apply", join(dir, "broken.json"), movingPath], /broken\.json: not valid JSON/, "a2.png"],
      [
        ["apply", transform, join(dir, "volume.mha")],
        /volume\.mha: a 3D image, expected 2D like the transform/,
        "a3.png",
      ],
      [
        ["apply", transform, join(dir, "nan.mha")],
        /nan\.mha: pixel 0 is NaN, expected a finite number/,
        "a4.png",
      ],
      [
        ["apply", transform, join(dir, "empty.png")],
        /empty\.png: the file is empty, expected an image/,
        "a5.png",
      ],
      [
        ["apply", transform, movingPath, "--interpolation", "bicubic"],
        /--interpolation bicubic: expected one of linear, cubic, nearest/,
        "a6.png",
      ],
      [["apply", transform, movingPath], /--out .*a7\.jpg: unknown output image extension/, "a7.jpg"],
      [
        ["transform-points", join(dir, "broken.json"), join(dir, "p.csv")],
        /broken\.json: not valid JSON/,
        "t1.csv",
      ],
      [["transform-points", transform, join(dir, "p3.csv")], /p3\.csv:1: 3 columns, expected 2/, "t2.csv"],
      [
        ["transform-points", transform, join(dir, "nothing.csv")],
        /nothing\.csv: cannot read \(no such file\)/,
        "t3.csv",
      ],
    ];
    for (const [args, message, name] of cases) {
      await expect(run([...args, "--out", join(dir, name), "--quiet"])).rejects.toThrow(message);
      expect(existsSync(join(dir, name))).toBe(false);
    }
    await expect(
      run(["apply", transform, movingPath, "--out", join(dir, "blocker", "x.png")]),
    ).rejects.toThrow(/--out: .*blocker\/x\.png: .*blocker is not a directory/);
    const registerCases: [string[], RegExp][] = [
      [["--initial", "sideways"], /--initial sideways: expected one of affine, rigid, none/],
      [["--optimizer", "sgd"], /--optimizer sgd: expected one of lbfgs, adam/],
    ];
    for (const [args, message] of registerCases) {
      const target = join(dir, "r1");
      await expect(
        run(["register", fixedPath, movingPath, "--out", target, ...args, "--quiet"]),
      ).rejects.toThrow(message);
      expect(existsSync(target)).toBe(false);
    }
    await expect(
      run([
        "register",
        join(dir, "volume.mha"),
        join(dir, "volume.mha"),
        "--out",
        join(dir, "r2"),
        "--write-checkerboard",
      ]),
    ).rejects.toThrow(/--write-checkerboard: writes a 2D PNG, but .*volume\.mha is 3D/);
    expect(existsSync(join(dir, "r2"))).toBe(false);
    const spawned = spawnSync(
      "npx",
      ["tsx", "cli/thb.ts", "apply", transform, join(dir, "volume.mha"), "--out", join(dir, "s.png")],
      {
        encoding: "utf8",
      },
    );
    expect(spawned.stderr).toMatch(/^thb: InputError: .*volume\.mha: a 3D image, expected 2D/);
    expect(spawned.status).toBe(1);
    expect(existsSync(join(dir, "s.png"))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
