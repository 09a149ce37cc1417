/**
 * The native-zlib PNG codec of the command line against fast-png (io/png.ts), the independent reference:
 * the same pixels, depth and notices for every colour type and depth it handles, every row filter (the ITK
 * pair uses all five), and the
 * kinds it leaves to fast-png; what it writes reads back through fast-png unchanged.
 */
import { readFileSync } from "node:fs";
import { encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { createImage } from "../../fields/image.js";
import { decodePngZlib, encodePngZlib } from "../../io/node/pngZlib.js";
import { decodePngImage } from "../../io/png.js";
import { seededRandom } from "../helpers/random.js";

describe("PNG through native zlib", () => {
  it("decodes what fast-png decodes, identically (grey, grey+alpha, RGB, RGBA; 8 and 16 bits; the ITK pair)", () => {
    const rand = seededRandom(4);
    // smooth content so the encoder picks a mix of row filters
    const [width, height] = [23, 17];
    for (const channels of [1, 2, 3, 4] as const) {
      for (const depth of [8, 16] as const) {
        const max = depth === 16 ? 65535 : 255;
        const numbers = Array.from({ length: width * height * channels }, (_, i) =>
          Math.min(max, Math.round(((i % 7) * max) / 9 + rand() * (max / 10))),
        );
        const data = depth === 16 ? Uint16Array.from(numbers) : Uint8Array.from(numbers);
        const bytes = encode({ width, height, data, depth, channels });
        const mine = decodePngZlib(bytes, "x.png");
        const reference = decodePngImage(bytes, "x.png");
        expect(mine).toBeDefined();
        expect(mine?.image.size).toEqual(reference.image.size);
        expect(Array.from(mine?.image.data ?? [])).toEqual(Array.from(reference.image.data));
        expect(mine?.notices).toEqual(reference.notices);
        expect(mine?.depth).toBe(reference.depth);
      }
    }
    // 8-bit palette files
    for (const name of ["BrainProtonDensitySliceBorder20.png", "BrainProtonDensitySliceBSplined10.png"]) {
      const bytes = readFileSync(`examples/data/${name}`);
      expect(Array.from(decodePngZlib(bytes)?.image.data ?? [])).toEqual(
        Array.from(decodePngImage(bytes).image.data),
      );
    }
  });

  it("leaves low bit depths and Adam7 interlacing to fast-png (undefined)", () => {
    const grey = { width: 8, height: 8, data: new Uint8Array(64).fill(3), channels: 1, depth: 8 } as const;
    expect(decodePngZlib(encode(grey, { interlace: "Adam7" }))).toBeUndefined();
    expect(decodePngZlib(encode({ ...grey, data: new Uint8Array(8).fill(1), depth: 1 }))).toBeUndefined();
    expect(decodePngZlib(new Uint8Array([1, 2, 3]))).toBeUndefined();
  });

  it("writes grey PNGs that fast-png reads back: rounded and clamped, 8 and 16 bits", () => {
    const values = Float64Array.from({ length: 30 * 20 }, (_, i) => (i % 97) * 3.3 - 20);
    for (const depth of [8, 16] as const) {
      const image = createImage(values, [30, 20]);
      const back = decodePngImage(encodePngZlib(image, depth));
      const max = depth === 16 ? 65535 : 255;
      expect(back.depth).toBe(depth);
      expect(Array.from(back.image.data)).toEqual(
        Array.from(values, (v) => Math.min(max, Math.max(0, Math.round(v)))),
      );
    }
    expect(() => encodePngZlib(createImage(new Float64Array(8), [2, 2, 2]))).toThrow(/PNG holds 2D images/);
  });
});
