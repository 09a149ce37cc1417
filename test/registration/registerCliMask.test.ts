/**
 * `thb register --fixed-mask` and `--jacobian-penalty`: a mask of the fixed image's size is used (recorded in
 * summary.json's options); a mask of another size, an all-zero mask or a negative weight gets a message naming
 * the option, exit code 1, and no DIR.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createImage } from "../../fields/image.js";
import { encodePngImage } from "../../io/png.js";
import { blobs, imageOf } from "./helpers.js";

const thb = (args: string[]) => spawnSync("npx", ["tsx", "cli/thb.ts", ...args], { encoding: "utf8" });

describe("thb register --fixed-mask / --jacobian-penalty", () => {
  it("uses a mask of the fixed image's size and refuses others by name", () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-mask-"));
    const fixed = join(dir, "fixed.png");
    const moving = join(dir, "moving.png");
    writeFileSync(fixed, encodePngImage(imageOf([40, 40], blobs)));
    writeFileSync(moving, encodePngImage(imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1))));
    const mask = join(dir, "mask.png");
    writeFileSync(
      mask,
      encodePngImage(
        createImage(
          Uint8Array.from({ length: 1600 }, (_, i) => (i % 40 < 30 ? 1 : 0)),
          [40, 40],
        ),
      ),
    );
    const out = join(dir, "out");
    const ok = thb([
      "register",
      fixed,
      moving,
      "--out",
      out,
      "--fixed-mask",
      mask,
      "--jacobian-penalty",
      "1",
      "--levels",
      "2",
      "--quiet",
    ]);
    expect(ok.status, ok.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    expect(summary.options.fixedMask).toBe(true);
    expect(summary.options.jacobianPenalty).toBe(1);
    expect(summary.metricAfter).toBeLessThan(summary.metricBefore / 10);

    const small = join(dir, "small.png");
    writeFileSync(small, encodePngImage(createImage(new Uint8Array(20 * 20).fill(1), [20, 20])));
    const empty = join(dir, "empty.png");
    writeFileSync(empty, encodePngImage(createImage(new Uint8Array(1600), [40, 40])));
    for (const [args, message] of [
      [["--fixed-mask", small], /--fixed-mask .*small\.png: 20×20 pixels, expected the fixed image's 40×40/],
      [["--fixed-mask", empty], /--fixed-mask .*empty\.png: every pixel is 0/],
      [["--jacobian-penalty", "-1"], /--jacobian-penalty/],
    ] as const) {
      const target = join(dir, "bad");
      const run = thb(["register", fixed, moving, "--out", target, ...args, "--quiet"]);
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(message);
      expect(existsSync(target)).toBe(false);
    }
  });
});
