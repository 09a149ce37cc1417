/**
 * PNG ↔ images through fast-png (pure JavaScript, browser-safe). Images come back as 2D scalar images with
 * unit spacing, zero origin and identity directions (pHYs is ignored, as for a plain pixel grid):
 * grey stays grey, palette PNGs read as the grey level of each palette colour, RGB(A) becomes luminance
 * (Rec. 709: 0.2125 R + 0.7154 G + 0.0721 B, ITK's weights) with a notice; alpha is dropped with a notice.
 */
import { decode, encode } from "fast-png";
import { createImage, type Image } from "../fields/image.js";
import { FormatError } from "./errors.js";

/** A decoded image and what was changed to make it scalar. */
export interface DecodedImage {
  image: Image;
  /** Human-readable notes (colour converted to luminance, alpha dropped). */
  notices: string[];
  /** Bits per sample of the file (8 or 16; 1–4 read as 8). */
  depth: number;
}

const luminance = (r: number, g: number, b: number) => 0.2125 * r + 0.7154 * g + 0.0721 * b;

/** Decodes PNG bytes into a scalar image; `where` names the file in errors. */
export function decodePngImage(bytes: Uint8Array, where = "PNG"): DecodedImage {
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new FormatError(`${where}: not a readable PNG (${(error as Error).message})`);
  }
  const { width, height, channels, palette } = png;
  if (width < 1 || height < 1) throw new FormatError(`${where}: the PNG is empty (${width}×${height})`);
  const count = width * height;
  const values = new Float32Array(count);
  const notices: string[] = [];
  const src = png.data;
  if (palette) {
    let grey = true;
    for (const [r, g, b] of palette) if (r !== g || g !== b) grey = false;
    if (!grey) notices.push(`${where}: palette colours converted to luminance`);
    for (let i = 0; i < count; i++) {
      const [r, g, b] = palette[src[i]] ?? [0, 0, 0];
      values[i] = grey ? r : luminance(r, g, b);
    }
  } else if (channels === 1 || channels === 2) {
    for (let i = 0; i < count; i++) values[i] = src[i * channels];
    if (channels === 2) notices.push(`${where}: alpha channel dropped`);
  } else if (channels === 3 || channels === 4) {
    for (let i = 0; i < count; i++)
      values[i] = luminance(src[i * channels], src[i * channels + 1], src[i * channels + 2]);
    notices.push(`${where}: RGB converted to luminance (0.2125 R + 0.7154 G + 0.0721 B)`);
    if (channels === 4) notices.push(`${where}: alpha channel dropped`);
  } else {
    throw new FormatError(`${where}: unsupported PNG with ${channels} channels`);
  }
  return { image: createImage(values, [width, height]), notices, depth: png.depth === 16 ? 16 : 8 };
}

/** Encodes a 2D image as a grey PNG of `depth` bits, values rounded and clamped to 0 … 2^depth − 1. */
export function encodePngImage(image: Image, depth: 8 | 16 = 8): Uint8Array {
  if (image.size.length !== 2)
    throw new FormatError(`PNG holds 2D images, got a ${image.size.length}D image (${image.size.join("×")})`);
  const [width, height] = image.size;
  const max = depth === 16 ? 65535 : 255;
  const data = depth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = Math.min(max, Math.max(0, Math.round(image.data[i])));
  // zlib level 1: a third faster than the default for a file a few per cent larger
  return encode({ width, height, data, depth, channels: 1 }, { zlib: { level: 1 } });
}
