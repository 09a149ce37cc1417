/** A small PNG decoder for screenshots (8-bit RGB or RGBA, not interlaced): pixels as RGBA bytes. */
import { inflateSync } from "node:zlib";

/** A decoded image: `rgba  #pixels by 4`, rows top to bottom. */
export interface Rgba {
  width: number;
  height: number;
  rgba: Uint8Array;
}

/** Decodes a PNG of 8-bit RGB/RGBA without interlacing (what Chromium's screenshots are). */
export function decodePng(png: Uint8Array): Rgba {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Uint8Array[] = [];
  while (offset < png.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const body = png.subarray(offset + 8, offset + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(offset + 8);
      height = view.getUint32(offset + 12);
      const [depth, color, , , interlace] = body.subarray(8, 13);
      if (depth !== 8 || (color !== 2 && color !== 6) || interlace !== 0)
        throw new Error(
          `decodePng: unsupported PNG (depth ${depth}, colour type ${color}, interlace ${interlace})`,
        );
      channels = color === 6 ? 4 : 3;
    } else if (type === "IDAT") data.push(body);
    offset += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const rows = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? rows[y * stride + x - channels] : 0;
      const b = y > 0 ? rows[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? rows[(y - 1) * stride + x - channels] : 0;
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      rows[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    for (let k = 0; k < channels; k++) rgba[4 * i + k] = rows[i * channels + k];
    if (channels === 3) rgba[4 * i + 3] = 255;
  }
  return { width, height, rgba };
}

/**
 * The fraction of pixels in the rectangle [x0, x1) × [y0, y1) whose colour differs from `background`
 * (0xRRGGBB) by more than `tolerance` in some channel.
 */
export function fractionUnlike(
  image: Rgba,
  background: number,
  [x0, y0, x1, y1]: readonly number[],
  tolerance = 12,
): number {
  const bg = [(background >> 16) & 0xff, (background >> 8) & 0xff, background & 0xff];
  let unlike = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = 4 * (y * image.width + x);
      if (bg.some((v, k) => Math.abs(image.rgba[i + k] - v) > tolerance)) unlike++;
    }
  }
  return unlike / ((x1 - x0) * (y1 - y0));
}
