import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { OutputError } from "../../io/errors.js";
import { checkOutputPaths, writeFilesAtomic } from "../../io/node/atomicWrite.js";

describe("writing a set of files all or none", () => {
  it("a failure while staging the second file leaves no file and no new folder behind", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-atomic-"));
    const bad = 42 as unknown as string; // writeFileSync refuses a number
    expect(() =>
      writeFilesAtomic([
        { option: "--out", path: join(dir, "a.json"), data: "{}" },
        { option: "--report", path: join(dir, "sub", "r.json"), data: bad },
      ]),
    ).toThrow(/--report: .*r.json: cannot write \(ERR_INVALID_ARG_TYPE\)/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a failure while renaming puts back what the earlier targets held and removes every temporary", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-atomic-"));
    writeFileSync(join(dir, "a.json"), "old a");
    mkdirSync(join(dir, "taken"));
    writeFileSync(join(dir, "taken", "x"), "a folder that is not empty cannot be replaced by a file");
    expect(() =>
      writeFilesAtomic([
        { option: "--out", path: join(dir, "a.json"), data: "new a" },
        { option: "--b", path: join(dir, "b.json"), data: "new b" },
        { option: "--report", path: join(dir, "taken"), data: "new report" },
      ]),
    ).toThrow(OutputError);
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe("old a");
    expect(readdirSync(dir).sort()).toEqual(["a.json", "taken"]);
    // and the same set without the blocked target is written whole
    writeFilesAtomic([
      { path: join(dir, "a.json"), data: "new a" },
      { path: join(dir, "b.json"), data: "new b" },
    ]);
    expect(readFileSync(join(dir, "a.json"), "utf8")).toBe("new a");
    expect(readdirSync(dir).sort()).toEqual(["a.json", "b.json", "taken"]);
  });

  it("checks paths up front: relative and absolute spellings of one file clash", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-atomic-"));
    const here = process.cwd();
    process.chdir(dir);
    try {
      expect(() =>
        checkOutputPaths([
          { option: "--out", path: "s.json" },
          { option: "--report", path: join(dir, ".", "s.json") },
        ]),
      ).toThrow(/--report and --out both name/);
      expect(() => checkOutputPaths([{ option: "--out", path: "new/folder/s.json" }])).not.toThrow();
    } finally {
      process.chdir(here);
    }
  });
});
