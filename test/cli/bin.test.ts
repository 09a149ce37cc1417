/**
 * The `thb` bin as scripts/buildCli.ts bundles it (dist/bin/thb.js after `npm run build`): built here into a
 * scratch folder inside node_modules/.cache (so the external packages resolve as from dist/bin), it runs
 * through a symlink named `thb` as a package manager installs it, registers a small PNG pair end to end, and
 * a lazily loaded command still reports bad input as a named one-line error with exit code 1.
 */
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodePngImage } from "../../io/png.js";
import { buildCli } from "../../scripts/buildCli.js";
import { blobs, imageOf } from "../registration/helpers.js";

const cacheRoot = resolve("node_modules", ".cache");
let bin = "";

beforeAll(async () => {
  mkdirSync(cacheRoot, { recursive: true });
  bin = await buildCli(mkdtempSync(join(cacheRoot, "thb-bin-")));
}, 60_000);

afterAll(() => {
  if (bin) rmSync(dirname(bin), { recursive: true, force: true });
});

const run = (file: string, args: string[]) =>
  spawnSync(process.execPath, [file, ...args], { encoding: "utf8" });

describe("the bundled thb bin", () => {
  it("runs when invoked through a symlink named thb (as npm links bins)", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-bin-"));
    const link = join(dir, "thb");
    symlinkSync(bin, link);
    const version = JSON.parse(readFileSync("package.json", "utf8")).version;
    const viaLink = run(link, ["--version"]);
    expect(viaLink.stdout.trim()).toBe(version);
    expect(viaLink.status).toBe(0);
    // and runs once, not twice, when invoked as the file itself
    const direct = run(bin, ["--version"]);
    expect(direct.stdout).toBe(`${version}\n`);
  });

  it("registers a PNG pair end to end: the four files, a lower MSE, no folding", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-bin-"));
    const fixed = join(dir, "fixed.png");
    const moving = join(dir, "moving.png");
    writeFileSync(fixed, encodePngImage(imageOf([40, 40], blobs)));
    writeFileSync(moving, encodePngImage(imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1))));
    const out = join(dir, "result");
    const result = run(bin, [
      "register",
      fixed,
      moving,
      "--out",
      out,
      "--grid",
      "10",
      "--levels",
      "2",
      "--quiet",
    ]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(readdirSync(out).sort()).toEqual([
      "iterations.tsv",
      "summary.json",
      "transform.json",
      "warped.png",
    ]);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.metricAfter).toBeLessThan(summary.metricBefore / 10);
    expect(summary.foldingFraction).toBe(0);
  });

  it("bad input through the bundle: a named error naming the file or option, exit code 1, no DIR", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-bin-"));
    const fixed = join(dir, "fixed.png");
    writeFileSync(fixed, encodePngImage(imageOf([16, 16], blobs)));
    const missing = run(bin, ["register", join(dir, "missing.png"), fixed, "--out", join(dir, "a")]);
    expect(missing.stderr).toMatch(/^thb: FormatError: .*missing\.png: cannot read \(ENOENT\)\n$/);
    expect(missing.status).toBe(1);
    const option = run(bin, ["register", fixed, fixed, "--out", join(dir, "b"), "--metric", "cc"]);
    expect(option.stderr).toMatch(/^thb: InputError: --metric cc: expected one of ssd, ncc, mi\n$/);
    expect(option.status).toBe(1);
    expect(existsSync(join(dir, "a")) || existsSync(join(dir, "b"))).toBe(false);
  });
});
