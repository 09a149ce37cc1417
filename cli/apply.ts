/**
 * `thb apply transform.json IMAGE --out FILE [--interpolation linear|cubic|nearest]`: resamples IMAGE (in
 * the moving image's space) on the transform's fixed grid, warped(x) = IMAGE(A(x + u(x))), as transformix
 * does. Nearest keeps label values exactly. The output's format follows FILE's extension: PNG rounded and
 * clamped to the input's PNG depth (8 bits for other inputs), NIfTI, MetaImage and NRRD as float32. The
 * file is written whole or not at all.
 */
import { checkOutputPaths, writeFileAtomic } from "../io/node/atomicWrite.js";
import { encodeImageFile, IMAGE_EXTENSIONS, imageExtension, readImageFile } from "../io/node/imageFile.js";
import { choice } from "./options.js";
import { InputError } from "./readInput.js";
import { readTransformFile } from "./transformFile.js";

/** Options of the apply command, as commander parses them. */
export interface ApplyCommandOptions {
  out: string;
  interpolation?: string;
  quiet?: boolean;
}

/** Runs the command. */
export async function runApply(
  transformPath: string,
  imagePath: string,
  options: ApplyCommandOptions,
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<void> {
  const interpolation =
    choice(options.interpolation, "interpolation", ["linear", "cubic", "nearest"] as const) ?? "linear";
  const extension = imageExtension(options.out);
  if (!extension || extension === ".mhd" || extension === ".nhdr")
    throw new InputError(
      `--out ${options.out}: unknown output image extension, expected one of ${IMAGE_EXTENSIONS.filter((e) => e !== ".mhd" && e !== ".nhdr").join(", ")}`,
    );
  checkOutputPaths(
    [{ option: "--out", path: options.out }],
    [
      { option: "TRANSFORM", path: transformPath },
      { option: "IMAGE", path: imagePath },
    ],
  );
  const transform = readTransformFile(transformPath);
  const input = await readImageFile(imagePath);
  const d = input.image.size.length;
  if (d !== transform.dimension)
    throw new InputError(
      `${imagePath}: a ${d}D image, expected ${transform.dimension}D like the transform ${transformPath}`,
    );
  if (!options.quiet) for (const notice of input.notices) log(`thb: ${notice}`);
  const warped = transform.apply(input.image, interpolation);
  const bytes = await encodeImageFile(options.out, warped, input.pngDepth ?? 8);
  writeFileAtomic(options.out, bytes);
  if (!options.quiet)
    log(
      `resampled ${imagePath} on the ${transform.fixed.size.join("×")} fixed grid (${interpolation}): ${options.out}`,
    );
}
