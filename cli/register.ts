/**
 * `thb register FIXED MOVING --out DIR [--metric ssd|ncc|mi] [--grid MM] [--levels N] [--refine adaptive|uniform|none]
 * [--bending W] [--iterations N] [--seed S] [--quiet]`: deformable registration with an adaptive THB
 * displacement. DIR is written all or nothing: everything is computed first, the files are written into a
 * temporary folder beside DIR, and that folder is renamed to DIR at the end (removed on any error).
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import {
  type RefineSchedule,
  type RegistrationProgress,
  registerImages,
} from "../fitting/registration/registerImages.js";
import { encodeImageFile, imageExtension, readImageFile } from "../io/node/imageFile.js";
import { transformToJson } from "../io/transformJson.js";
import { numberOption } from "./options.js";
import { InputError } from "./readInput.js";

/** Options of the register command, as commander parses them. */
export interface RegisterCommandOptions {
  out: string;
  metric?: string;
  grid?: string;
  levels?: string;
  refine?: string;
  bending?: string;
  iterations?: string;
  seed?: string;
  interpolation?: string;
  fixedMask?: string;
  jacobianPenalty?: string;
  samples?: string;
  quiet?: boolean;
}

function choice<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new InputError(`--${name} ${value}: expected one of ${allowed.join(", ")}`);
  return value as T;
}

/** Checks the output folder before any work: a new (or empty) folder in a writable parent. */
function checkOutput(out: string): string {
  const target = resolve(out);
  if (existsSync(target)) {
    let entries: string[];
    try {
      entries = readdirSync(target);
    } catch {
      throw new InputError(`--out ${out}: exists and is not a folder, expected a new folder`);
    }
    if (entries.length > 0)
      throw new InputError(`--out ${out}: the folder exists and is not empty, expected a new folder`);
  }
  const parent = dirname(target);
  const probe = join(parent, `.${basename(target)}.${randomBytes(6).toString("hex")}.tmp`);
  try {
    mkdirSync(probe, { recursive: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `--out ${out}: cannot create a folder in ${parent} (${code ?? (error as Error).message})`,
    );
  }
  return probe;
}

/** Runs the command; the temporary folder it builds becomes DIR only when everything succeeded. */
export async function runRegister(
  fixedPath: string,
  movingPath: string,
  options: RegisterCommandOptions,
): Promise<void> {
  const startup = process.uptime();
  const metric = choice(options.metric, "metric", ["ssd", "ncc", "mi"] as const) ?? "ssd";
  const refine = choice<RefineSchedule>(options.refine, "refine", ["adaptive", "uniform", "none"]);
  const interpolation = choice(options.interpolation, "interpolation", ["linear", "cubic"] as const);
  const gridSpacing = numberOption(
    options.grid,
    "grid",
    (x) => x > 0 && Number.isFinite(x),
    "a positive spacing in mm",
  );
  const levels = numberOption(
    options.levels,
    "levels",
    (x) => Number.isInteger(x) && x >= 1 && x <= 8,
    "an integer from 1 to 8",
  );
  const bending = numberOption(
    options.bending,
    "bending",
    (x) => x >= 0 && Number.isFinite(x),
    "a non-negative weight",
  );
  const iterations = numberOption(
    options.iterations,
    "iterations",
    (x) => Number.isInteger(x) && x >= 0,
    "a non-negative integer",
  );
  const seed = numberOption(options.seed, "seed", (x) => Number.isInteger(x), "an integer");
  const jacobianPenalty = numberOption(
    options.jacobianPenalty,
    "jacobian-penalty",
    (x) => x >= 0 && Number.isFinite(x),
    "a non-negative weight",
  );
  const samples = numberOption(
    options.samples,
    "samples",
    (x) => Number.isInteger(x) && x >= 0,
    "a non-negative integer",
  );
  const extension = imageExtension(fixedPath);
  if (!extension)
    throw new InputError(
      `${fixedPath}: unknown image extension, expected .png, .nii, .nii.gz, .mha, .mhd, .nrrd or .nhdr`,
    );
  const outputExtension = extension === ".mhd" ? ".mha" : extension === ".nhdr" ? ".nrrd" : extension;
  const ioStart = performance.now();
  const fixed = await readImageFile(fixedPath);
  const moving = await readImageFile(movingPath);
  const mask = options.fixedMask === undefined ? undefined : await readImageFile(options.fixedMask);
  let ioSeconds = (performance.now() - ioStart) / 1000;
  if (
    mask &&
    (mask.image.size.length !== fixed.image.size.length ||
      mask.image.size.some((n, k) => n !== fixed.image.size[k]))
  )
    throw new InputError(
      `--fixed-mask ${options.fixedMask}: ${mask.image.size.join("×")} pixels, expected the fixed image's ${fixed.image.size.join("×")}`,
    );
  if (mask && !Array.prototype.some.call(mask.image.data, (v: number) => v !== 0))
    throw new InputError(
      `--fixed-mask ${options.fixedMask}: every pixel is 0, expected some inside (non-zero)`,
    );
  const d = fixed.image.size.length;
  const dm = moving.image.size.length;
  if (d !== dm)
    throw new InputError(`${movingPath}: a ${dm}D image, expected ${d}D like the fixed image ${fixedPath}`);
  for (const [path, image] of [
    [fixedPath, fixed.image],
    [movingPath, moving.image],
  ] as const) {
    if (image.size.some((n) => n < 4))
      throw new InputError(`${path}: ${image.size.join("×")} pixels, expected at least 4 along every axis`);
  }
  const quiet = options.quiet === true;
  if (!quiet)
    for (const notice of [...fixed.notices, ...moving.notices]) process.stderr.write(`thb: ${notice}\n`);
  const temporary = checkOutput(options.out);
  try {
    const showProgress = !quiet && process.stderr.isTTY;
    const onProgress = showProgress
      ? (p: RegistrationProgress) =>
          process.stderr.write(
            `\rlevel ${p.level} iteration ${p.iteration} MSE ${p.metric.toFixed(3)} dofs ${p.dofs}   `,
          )
      : undefined;
    const { transform, warped, report } = await registerImages(fixed.image, moving.image, {
      metric,
      gridSpacing,
      levels,
      refine,
      bending,
      iterations,
      seed,
      interpolation,
      fixedMask: mask?.image,
      jacobianPenalty,
      samples,
      onProgress,
    });
    if (showProgress) process.stderr.write("\n");
    const writeStart = performance.now();
    const warpedBytes = await encodeImageFile(`warped${outputExtension}`, warped, moving.pngDepth ?? 8);
    writeFileSync(join(temporary, `warped${outputExtension}`), warpedBytes);
    writeFileSync(join(temporary, "transform.json"), transformToJson(transform));
    const rows = ["level\titeration\tmetric\tregularizer\tgradientNorm\tdofs\tmilliseconds"];
    for (const r of report.iterations)
      rows.push(
        [
          r.level,
          r.iteration,
          r.metric,
          r.regularizer,
          r.gradientNorm,
          r.dofs,
          r.milliseconds.toFixed(1),
        ].join("\t"),
      );
    writeFileSync(join(temporary, "iterations.tsv"), `${rows.join("\n")}\n`);
    ioSeconds += (performance.now() - writeStart) / 1000;
    const summary = {
      fixed: fixedPath,
      moving: movingPath,
      metric,
      metricBefore: report.metricBefore,
      metricAfter: report.metricAfter,
      foldingFraction: report.foldingFraction,
      minJacobian: report.minJacobian,
      maxJacobian: report.maxJacobian,
      dofsPerLevel: report.dofsPerLevel,
      levels: report.levels,
      aborted: report.aborted,
      seconds: {
        startup,
        io: ioSeconds,
        optimisation: report.optimisationSeconds,
        total: process.uptime(),
      },
      backend: "cpu",
      options: report.options,
    };
    writeFileSync(join(temporary, "summary.json"), `${JSON.stringify(summary, null, 2)}\n`);
    const target = resolve(options.out);
    if (existsSync(target)) rmdirSync(target); // checked empty above
    renameSync(temporary, target);
    if (!quiet) {
      process.stderr.write(
        `registered ${basename(movingPath)} onto ${basename(fixedPath)}: MSE ${report.metricBefore.toFixed(1)} → ${report.metricAfter.toFixed(2)}, folding ${(100 * summary.foldingFraction).toFixed(3)} %, ${process.uptime().toFixed(2)} s; results in ${options.out}\n`,
      );
    }
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    throw error;
  }
}
