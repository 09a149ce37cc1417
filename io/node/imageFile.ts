/**
 * Image files (Node only). PNG goes through native zlib (pngZlib.ts), the pure-JS codec of io/png.ts
 * taking the rarer kinds; NIfTI (.nii, .nii.gz),
 * MetaImage (.mha, .mhd) and NRRD (.nrrd, .nhdr) through @itk-wasm/image-io, imported only when such a file
 * is read or written (it costs about half a second to load). itk-wasm stores direction cosines row-major
 * (ITK's itk::Matrix); images here hold them column-major, so they are transposed on the way in and out.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { checkImage, type Image, type ImageGeometry, type PixelData } from "../../fields/image.js";
import { FormatError } from "../errors.js";
import { decodePngZlib, encodePngZlib } from "./pngZlib.js";

/** Extensions readImageFile and writeImageFile understand. */
export const IMAGE_EXTENSIONS = [".png", ".nii", ".nii.gz", ".mha", ".mhd", ".nrrd", ".nhdr"];

/** An image read from a file, with notes on conversions and the file's sample depth (PNG). */
export interface ImageFile {
  image: Image;
  notices: string[];
  /** Bits per sample of a PNG (8 or 16); undefined for the other formats (written as float32). */
  pngDepth?: number;
}

/** The extension of a path among IMAGE_EXTENSIONS (".nii.gz" whole), or undefined. */
export function imageExtension(path: string): string | undefined {
  const lower = path.toLowerCase();
  return IMAGE_EXTENSIONS.filter((e) => lower.endsWith(e)).sort((a, b) => b.length - a.length)[0];
}

function expectedExtension(path: string): string {
  const extension = imageExtension(path);
  if (!extension)
    throw new FormatError(`${path}: unknown image extension, expected one of ${IMAGE_EXTENSIONS.join(", ")}`);
  return extension;
}

/** Reads a 2D or 3D scalar image; errors name the file and what was expected. */
export async function readImageFile(path: string): Promise<ImageFile> {
  const extension = expectedExtension(path);
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new FormatError(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  if (bytes.length === 0) throw new FormatError(`${path}: the file is empty, expected an image`);
  if (extension === ".png") {
    // native zlib for the common PNGs; fast-png (loaded only then) for palettes, low depths, interlacing
    const { image, notices, depth } =
      decodePngZlib(bytes, path) ?? (await import("../png.js")).decodePngImage(bytes, path);
    return { image, notices, pngDepth: depth };
  }
  const io = await import("@itk-wasm/image-io");
  let itk: Awaited<ReturnType<typeof io.readImageNode>>;
  try {
    itk = await io.readImageNode(path);
  } catch (error) {
    throw new FormatError(`${path}: not a readable ${extension} image (${(error as Error).message})`);
  }
  const d = itk.imageType.dimension;
  if (d !== 2 && d !== 3) throw new FormatError(`${path}: a ${d}D image, expected 2D or 3D`);
  const components = itk.imageType.components;
  const count = itk.size.reduce((a: number, b: number) => a * b, 1);
  const source = itk.data as PixelData | null;
  if (!source || count === 0) throw new FormatError(`${path}: the image is empty`);
  const notices: string[] = [];
  let data: PixelData = source;
  if (components !== 1) {
    const values = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      values[i] =
        components >= 3
          ? 0.2125 * source[i * components] +
            0.7154 * source[i * components + 1] +
            0.0721 * source[i * components + 2]
          : source[i * components];
    }
    data = values;
    notices.push(`${path}: ${components} components per pixel converted to one (luminance)`);
  }
  const image: Image = {
    data,
    size: Array.from(itk.size),
    spacing: Array.from(itk.spacing),
    origin: Array.from(itk.origin),
    direction: transposed(Array.from(itk.direction as Float64Array), d),
  };
  try {
    checkImage(image, path);
  } catch (error) {
    throw new FormatError((error as Error).message);
  }
  return { image, notices };
}

/**
 * Encodes an image for `path` (the extension picks the format): PNG rounded and clamped to `pngDepth`
 * bits (default 8), the other formats float32. Returns the bytes; nothing is written.
 */
export async function encodeImageFile(path: string, image: Image, pngDepth = 8): Promise<Uint8Array> {
  const extension = expectedExtension(path);
  if (extension === ".png") return encodePngZlib(image, pngDepth === 16 ? 16 : 8);
  if (extension === ".mhd" || extension === ".nhdr")
    throw new FormatError(
      `${path}: detached headers are read but not written, expected .nii.gz, .mha or .nrrd`,
    );
  return writeThroughItk(path, extension, image, Float32Array.from(image.data), 1);
}

/**
 * Encodes a vector image (`components` values per pixel, interleaved: `#pixels by components`) as float32
 * for `path` — NIfTI, MetaImage or NRRD, through @itk-wasm/image-io (ITK's vector pixel type, as
 * transformix writes its deformation field). Returns the bytes; nothing is written.
 */
export async function encodeVectorImageFile(
  path: string,
  geometry: ImageGeometry,
  data: ArrayLike<number>,
  components: number,
): Promise<Uint8Array> {
  const extension = expectedExtension(path);
  if (extension === ".png" || extension === ".mhd" || extension === ".nhdr")
    throw new FormatError(`${path}: vector images are written as .nii.gz, .nii, .mha or .nrrd`);
  const count = geometry.size.reduce((a, b) => a * b, 1);
  if (data.length !== count * components)
    throw new FormatError(`${path}: expected ${count} × ${components} values, got ${data.length}`);
  return writeThroughItk(path, extension, geometry, Float32Array.from(data), components);
}

async function writeThroughItk(
  path: string,
  extension: string,
  geometry: ImageGeometry,
  data: Float32Array,
  components: number,
): Promise<Uint8Array> {
  const io = await import("@itk-wasm/image-io");
  const d = geometry.size.length;
  const itkImage = {
    imageType: {
      dimension: d,
      componentType: "float32",
      pixelType: components === 1 ? "Scalar" : "Vector",
      components,
    },
    name: "image",
    origin: [...geometry.origin],
    spacing: [...geometry.spacing],
    direction: Float64Array.from(transposed([...geometry.direction], d)),
    size: [...geometry.size],
    metadata: new Map(),
    data,
  };
  // writeImageNode writes to a path: a private temporary folder, read back as bytes. NIfTI is written plain
  // and gzipped by Node's native zlib: the wasm build's deflate took 0.5 s CPU for a 128×128×64 float volume,
  // plain NIfTI plus native gzip 0.25 s (same format, a standard gzip stream)
  const folder = mkdtempSync(join(tmpdir(), "thb-image-"));
  try {
    const gzipped = extension === ".nii.gz";
    const file = join(folder, gzipped ? "image.nii" : `image${extension}`);
    await io.writeImageNode(itkImage as Parameters<typeof io.writeImageNode>[0], file);
    // level 1: float voxels barely compress (3.92 of 4.19 MB at level 6 or 1), level 1 is the quicker
    return gzipped ? gzipSync(readFileSync(file), { level: 1 }) : readFileSync(file);
  } catch (error) {
    throw new FormatError(`${path}: cannot encode (${(error as Error).message})`);
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}

function transposed(m: number[], d: number): number[] {
  return m.map((_, i) => m[(i % d) * d + Math.floor(i / d)]);
}
