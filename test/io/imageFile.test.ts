/**
 * Image files: PNG through fast-png (grey, palette, RGB with its notice, 16-bit) and NIfTI through
 * @itk-wasm/image-io (a float32 round trip that keeps the geometry).
 */
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { encode } from "fast-png";
import { describe, expect, it } from "vitest";
import { createImage } from "../../fields/image.js";
import { encodeImageFile, readImageFile } from "../../io/node/imageFile.js";
import { decodePngImage, encodePngImage } from "../../io/png.js";

describe("PNG images", () => {
  it("reads the ITK palette PNG as grey levels (221×257, values 0–255)", () => {
    const { image, notices } = decodePngImage(
      readFileSync(join("examples", "data", "BrainProtonDensitySliceBorder20.png")),
      "fixed.png",
    );
    expect(image.size).toEqual([221, 257]);
    expect(notices).toEqual([]);
    expect(Math.max(...image.data)).toBeGreaterThan(200);
    expect(Math.min(...image.data)).toBeLessThan(5);
  });

  it("converts RGB to Rec. 709 luminance with a notice, and round-trips 8- and 16-bit grey", () => {
    const rgb = encode({
      width: 2,
      height: 1,
      channels: 3,
      depth: 8,
      data: Uint8Array.of(255, 0, 0, 10, 20, 30),
    });
    const { image, notices } = decodePngImage(rgb, "colour.png");
    expect(image.data[0]).toBeCloseTo(0.2125 * 255, 4);
    expect(image.data[1]).toBeCloseTo(0.2125 * 10 + 0.7154 * 20 + 0.0721 * 30, 4);
    expect(notices[0]).toMatch(/colour\.png: RGB converted to luminance/);
    const grey = createImage(Float64Array.of(0, 1.4, 254.6, 300, -5, 40000), [3, 2]);
    expect(Array.from(decodePngImage(encodePngImage(grey)).image.data)).toEqual([0, 1, 255, 255, 0, 255]);
    const deep = decodePngImage(encodePngImage(grey, 16));
    expect(Array.from(deep.image.data)).toEqual([0, 1, 255, 300, 0, 40000]);
    expect(deep.depth).toBe(16);
    expect(() => decodePngImage(Uint8Array.of(1, 2, 3), "bad.png")).toThrow(/bad\.png: not a readable PNG/);
  });
});

describe("NIfTI through @itk-wasm/image-io", () => {
  it("writes and reads back a float32 .nii.gz with its spacing, origin and (rotated) directions", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-image-"));
    const c = Math.cos(0.4);
    const s = Math.sin(0.4);
    const image = createImage(
      Float64Array.from({ length: 4 * 3 * 2 }, (_, i) => i * 1.25 - 3),
      [4, 3, 2],
      {
        spacing: [0.5, 0.75, 2],
        origin: [1, -2, 3],
        direction: [c, s, 0, -s, c, 0, 0, 0, 1],
      },
    );
    const path = join(dir, "volume.nii.gz");
    const bytes = await encodeImageFile(path, image);
    // a gzip stream of a single-file NIfTI-1 (header size 348, magic "n+1")
    expect([bytes[0], bytes[1]]).toEqual([0x1f, 0x8b]);
    const plain = gunzipSync(bytes);
    expect(new DataView(plain.buffer, plain.byteOffset).getInt32(0, true)).toBe(348);
    expect(plain.subarray(344, 347).toString("latin1")).toBe("n+1");
    writeFileSync(path, bytes);
    const back = (await readImageFile(path)).image;
    expect(back.size).toEqual([4, 3, 2]);
    expect(Array.from(back.data)).toEqual(Array.from(image.data));
    for (let k = 0; k < 3; k++) {
      expect(back.spacing[k]).toBeCloseTo(image.spacing[k], 5);
      expect(back.origin[k]).toBeCloseTo(image.origin[k], 5);
    }
    for (let k = 0; k < 9; k++) expect(back.direction[k]).toBeCloseTo(image.direction[k], 5);
  });
});
