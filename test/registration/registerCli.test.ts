/**
 * `thb register`: a small run writes the four files; bad input — unreadable or corrupt file, 2D against 3D,
 * empty image, NaN pixels, unwritable or non-empty DIR, unknown option values — gets a message naming the
 * file or option and what was expected, exit code 1, and leaves no DIR (nor a temporary folder) behind.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../cli/thb.js";
import { encodePngImage } from "../../io/png.js";
import { transformFromJson } from "../../io/transformJson.js";
import { blobs, imageOf, metaImage } from "./helpers.js";

const thb = (args: string[]) => spawnSync("npx", ["tsx", "cli/thb.ts", ...args], { encoding: "utf8" });

function pair(dir: string): [string, string] {
  const fixed = join(dir, "fixed.png");
  const moving = join(dir, "moving.png");
  writeFileSync(fixed, encodePngImage(imageOf([40, 40], blobs)));
  writeFileSync(moving, encodePngImage(imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1))));
  return [fixed, moving];
}

describe("thb register", () => {
  it("registers a PNG pair and writes warped.png, transform.json, iterations.tsv and summary.json", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-register-"));
    const [fixed, moving] = pair(dir);
    const out = join(dir, "result");
    const run = thb(["register", fixed, moving, "--out", out, "--grid", "10", "--levels", "2", "--quiet"]);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "iterations.tsv",
      "summary.json",
      "transform.json",
      "warped.png",
    ]);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.metricAfter).toBeLessThan(summary.metricBefore / 10);
    expect(summary.foldingFraction).toBe(0);
    expect(summary.minJacobian).toBeGreaterThan(0);
    expect(summary.dofsPerLevel.length).toBe(2);
    expect(summary.seconds.optimisation).toBeGreaterThan(0);
    // the options used, defaults included (2D: the optimiser's variables scaled, precondition 0.3)
    expect(summary.options.precondition).toBe(0.3);
    // two threads once the helper thread has booted (the levels before run on one; the same numbers)
    expect([1, 2]).toContain(summary.threads);
    const rows = readFileSync(join(out, "iterations.tsv"), "utf8").trim().split("\n");
    expect(rows[0]).toBe("level\titeration\tmetric\tregularizer\tgradientNorm\tdofs\tmilliseconds");
    expect(rows.length).toBeGreaterThan(2);
    const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
    expect(transform.fixed.size).toEqual([40, 40]);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });

  it("bad input: a message naming the file or option, exit code 1, no DIR left behind", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-register-"));
    const [fixed, moving] = pair(dir);
    writeFileSync(join(dir, "corrupt.png"), "not a png at all");
    writeFileSync(join(dir, "empty.png"), "");
    writeFileSync(join(dir, "volume.mha"), metaImage([6, 6, 6], new Array(216).fill(1)));
    writeFileSync(join(dir, "nan.mha"), metaImage([6, 6], new Array(36).fill(Number.NaN)));
    writeFileSync(join(dir, "blocker"), "a file where a folder should be created");
    const full = join(dir, "full");
    mkdirSync(full);
    writeFileSync(join(full, "keep.txt"), "x");
    const cases: [string[], RegExp, string][] = [
      [[join(dir, "missing.png"), moving], /missing\.png: cannot read \(ENOENT\)/, "out1"],
      [[join(dir, "corrupt.png"), moving], /corrupt\.png: not a readable PNG/, "out2"],
      [[fixed, join(dir, "empty.png")], /empty\.png: the file is empty, expected an image/, "out3"],
      [[fixed, join(dir, "volume.mha")], /volume\.mha: a 3D image, expected 2D like the fixed image/, "out4"],
      [
        [join(dir, "nan.mha"), join(dir, "nan.mha")],
        /nan\.mha: pixel 0 is NaN, expected a finite number/,
        "out5",
      ],
      [
        [fixed, moving, "--refine", "sideways"],
        /--refine sideways: expected one of adaptive, uniform, none/,
        "out6",
      ],
      [[fixed, moving, "--metric", "cc"], /--metric cc: expected one of ssd, ncc, mi/, "out7"],
      [[fixed, moving, "--levels", "0"], /--levels 0: expected an integer from 1 to 8/, "out8"],
      [[fixed, moving, "--bending", "-1"], /--bending -1: expected a non-negative weight/, "out9"],
      [[fixed, join(dir, "fixed.jpeg")], /fixed\.jpeg: unknown image extension/, "out10"],
      [[fixed, moving, "--threads", "3"], /--threads 3: expected 1 or 2/, "out12"],
    ];
    // in process (one spawned run below checks the exit code and the one-line message)
    const program = buildProgram().exitOverride();
    const register = (args: string[]) => program.parseAsync(["node", "thb", "register", ...args, "--quiet"]);
    for (const [args, message, out] of cases) {
      await expect(register([...args, "--out", join(dir, out)])).rejects.toThrow(message);
      expect(existsSync(join(dir, out))).toBe(false);
    }
    await expect(register([fixed, moving, "--out", join(dir, "blocker", "out")])).rejects.toThrow(
      /--out .*blocker\/out: cannot create a folder in .*blocker \(ENOTDIR\)/,
    );
    await expect(register([fixed, moving, "--out", full])).rejects.toThrow(
      /full: the folder exists and is not empty, expected a new folder/,
    );
    expect(readdirSync(full)).toEqual(["keep.txt"]);
    const run = thb(["register", join(dir, "corrupt.png"), moving, "--out", join(dir, "out11")]);
    expect(run.stderr).toMatch(/^thb: FormatError: .*corrupt\.png: not a readable PNG/);
    expect(run.status).toBe(1);
    expect(existsSync(join(dir, "out11"))).toBe(false);
    expect(readdirSync(dir).filter((n) => n.endsWith(".tmp"))).toEqual([]);
  });
});
