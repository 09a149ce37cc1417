/**
 * PNG through Node's native zlib, for the command line's start-up budget: the common cases — non-interlaced,
 * 8 or 16 bits, grey, grey + alpha, RGB, RGBA, and 8-bit palettes — decode here with the same results and notices as
 * io/png.ts (fast-png, pure JavaScript, browser-safe), which remains the fallback for everything else
 * (1–4 bit depths, Adam7) and the browser's path. Encoding writes grey PNGs (filter 0 per row,
 * deflate level 1). PNG: ISO/IEC 15948 (chunks, filters §9, CRC-32 Annex D).
 */
import { deflateSync, inflateSync } from "node:zlib";
import { createImage, type Image } from "../../fields/image.js";
import { FormatError } from "../errors.js";
import type { DecodedImage } from "../png.js";

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

const luminance = (r: number, g: number, b: number) => 0.2125 * r + 0.7154 * g + 0.0721 * b;

/**
 * Decodes PNG bytes into a scalar image when the file is one of the common cases (see the file comment);
 * undefined for the others, which fast-png decodes. `where` names the file in errors.
 */
export function decodePngZlib(bytes: Uint8Array, where = "PNG"): DecodedImage | undefined {
  if (bytes.length < 33 || SIGNATURE.some((v, i) => bytes[i] !== v)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let colour = 0;
  const idat: Uint8Array[] = [];
  let palette: Uint8Array | undefined;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...bytes.subarray(offset + 4, offset + 8));
    const data = bytes.subarray(offset + 8, offset + 8 + length);
    if (data.length !== length) return undefined;
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      depth = bytes[offset + 16];
      colour = bytes[offset + 17];
      // compression 0, filter 0, no interlace: anything else goes to fast-png
      if (bytes[offset + 18] !== 0 || bytes[offset + 19] !== 0 || bytes[offset + 20] !== 0) return undefined;
    } else if (type === "IDAT") idat.push(data);
    else if (type === "PLTE") palette = data;
    else if (type === "IEND") break;
    offset += 12 + length;
  }
  const channels =
    colour === 0 || colour === 3 ? 1 : colour === 4 ? 2 : colour === 2 ? 3 : colour === 6 ? 4 : 0;
  if (channels === 0 || (depth !== 8 && depth !== 16) || width < 1 || height < 1 || idat.length === 0)
    return undefined;
  if (colour === 3 && (depth !== 8 || !palette)) return undefined;
  let raw: Uint8Array;
  try {
    raw = inflateSync(idat.length === 1 ? idat[0] : Buffer.concat(idat));
  } catch {
    return undefined;
  }
  const bpp = (channels * depth) / 8;
  const stride = width * bpp;
  if (raw.length < height * (stride + 1)) return undefined;
  const pixels = unfilter(raw, height, stride, bpp);
  const count = width * height;
  const values = new Float32Array(count);
  const sample =
    depth === 16 ? (i: number) => (pixels[2 * i] << 8) | pixels[2 * i + 1] : (i: number) => pixels[i];
  const notices: string[] = [];
  if (palette) {
    // as fast-png: each index reads as its colour's grey level, or luminance when the palette has colour
    const entries = Math.floor(palette.length / 3);
    let grey = true;
    for (let e = 0; e < entries; e++)
      if (palette[3 * e] !== palette[3 * e + 1] || palette[3 * e + 1] !== palette[3 * e + 2]) grey = false;
    if (!grey) notices.push(`${where}: palette colours converted to luminance`);
    for (let i = 0; i < count; i++) {
      const e = pixels[i];
      if (e >= entries) values[i] = grey ? 0 : luminance(0, 0, 0);
      else
        values[i] = grey ? palette[3 * e] : luminance(palette[3 * e], palette[3 * e + 1], palette[3 * e + 2]);
    }
  } else if (channels <= 2) {
    for (let i = 0; i < count; i++) values[i] = sample(i * channels);
    if (channels === 2) notices.push(`${where}: alpha channel dropped`);
  } else {
    for (let i = 0; i < count; i++)
      values[i] = luminance(sample(i * channels), sample(i * channels + 1), sample(i * channels + 2));
    notices.push(`${where}: RGB converted to luminance (0.2125 R + 0.7154 G + 0.0721 B)`);
    if (channels === 4) notices.push(`${where}: alpha channel dropped`);
  }
  return { image: createImage(values, [width, height]), notices, depth };
}

/**
 * Undoes the per-row filters (None, Sub, Up, Average, Paeth) of `raw`, rows of `stride` bytes: one loop per
 * filter (it runs once per file, mostly before V8 optimises it, where fewer operations per byte count).
 */
function unfilter(raw: Uint8Array, height: number, stride: number, bpp: number): Uint8Array {
  const out = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const row = y * stride;
    const up = row - stride;
    const first = y > 0;
    if (filter === 0 || (filter === 2 && !first)) out.set(raw.subarray(src, src + stride), row);
    else if (filter === 1 || (filter === 4 && !first)) {
      // Sub; Paeth on the first row, where b = c = 0, predicts a as well
      for (let x = 0; x < stride; x++)
        out[row + x] = (raw[src + x] + (x >= bpp ? out[row + x - bpp] : 0)) & 255;
    } else if (filter === 2) {
      for (let x = 0; x < stride; x++) out[row + x] = (raw[src + x] + out[up + x]) & 255;
    } else if (filter === 3) {
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? out[row + x - bpp] : 0;
        const b = first ? out[up + x] : 0;
        out[row + x] = (raw[src + x] + ((a + b) >> 1)) & 255;
      }
    } else if (filter === 4) {
      for (let x = 0; x < stride; x++) {
        const a = x >= bpp ? out[row + x - bpp] : 0;
        const b = out[up + x];
        const c = x >= bpp ? out[up + x - bpp] : 0;
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        out[row + x] = (raw[src + x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 255;
      }
    } else out.set(raw.subarray(src, src + stride), row);
  }
  return out;
}

let crcTable: Uint32Array | undefined;

function crc32(bytes: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = crcTable[(c ^ bytes[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** Encodes a 2D image as a grey PNG of `depth` bits, values rounded and clamped (as encodePngImage). */
export function encodePngZlib(image: Image, depth: 8 | 16 = 8): Uint8Array {
  if (image.size.length !== 2)
    throw new FormatError(`PNG holds 2D images, got a ${image.size.length}D image (${image.size.join("×")})`);
  const [width, height] = image.size;
  const bytesPerPixel = depth / 8;
  const stride = width * bytesPerPixel;
  const max = depth === 16 ? 65535 : 255;
  const raw = new Uint8Array(height * (stride + 1));
  for (let y = 0; y < height; y++) {
    const row = y * (stride + 1) + 1;
    for (let x = 0; x < width; x++) {
      const v = Math.min(max, Math.max(0, Math.round(image.data[x + width * y])));
      if (depth === 16) {
        raw[row + 2 * x] = v >> 8;
        raw[row + 2 * x + 1] = v & 255;
      } else raw[row + x] = v;
    }
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header[8] = depth;
  const chunks = [
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(raw, { level: 1 })),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(8 + chunks.reduce((n, c) => n + c.length, 0));
  out.set(SIGNATURE, 0);
  let o = 8;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}
