/**
 * `thb register FIXED MOVING --out DIR [--metric ssd|ncc|mi] [--grid MM] [--levels N] [--refine adaptive|uniform|none]
 * [--bending W] [--iterations N] [--seed S] [--initial affine|rigid|none] [--optimizer lbfgs|adam]
 * [--backend cpu|webgpu] [--write-displacement] [--write-jacobian] [--write-checkerboard] [--quiet]`: deformable
 * registration with an adaptive THB displacement after an initial affine alignment; `--backend webgpu` runs the
 * loss on the GPU (fitting/registration/gpuLevelLoss.ts; this command makes the device and disposes it). DIR is written all or nothing: everything
 * is computed first, the files are written into a temporary folder beside DIR, and that folder is renamed to
 * DIR at the end (removed on any error).
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { DisplacementTransform } from "../fields/displacementTransform.js";
import type { Image } from "../fields/image.js";
import { SHARED_PASS_PIXELS } from "../fitting/registration/fusedLevelLoss.js";
import {
  type RefineSchedule,
  type RegistrationProgress,
  registerImages,
} from "../fitting/registration/registerImages.js";
import {
  encodeImageFile,
  encodeVectorImageFile,
  imageExtension,
  readImageFile,
} from "../io/node/imageFile.js";
import { encodePngZlib } from "../io/node/pngZlib.js";
import { startWarpThread } from "../io/node/warpThread.js";
import { transformToJson } from "../io/transformJson.js";
import type { Backend } from "../primitives/backend.js";
import { choice, numberOption } from "./options.js";
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
  initial?: string;
  optimizer?: string;
  backend?: string;
  writeDisplacement?: boolean;
  writeJacobian?: boolean;
  writeCheckerboard?: boolean;
  fixedMask?: string;
  jacobianPenalty?: string;
  samples?: string;
  threads?: string;
  quiet?: boolean;
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
  const initial = choice(options.initial, "initial", ["affine", "rigid", "none"] as const);
  const optimizer = choice(options.optimizer, "optimizer", ["lbfgs", "adam"] as const);
  const backendKind = choice(options.backend, "backend", ["cpu", "webgpu"] as const) ?? "cpu";
  const threads =
    numberOption(options.threads, "threads", (x) => x === 1 || x === 2, "1 or 2") ??
    (availableParallelism() >= 2 ? 2 : 1);
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
  if (d !== 2 && options.writeCheckerboard)
    throw new InputError(`--write-checkerboard: writes a 2D PNG, but ${fixedPath} is ${d}D`);
  const quiet = options.quiet === true;
  if (!quiet)
    for (const notice of [...fixed.notices, ...moving.notices]) process.stderr.write(`thb: ${notice}\n`);
  const backend = backendKind === "webgpu" ? await webgpuBackendOrError() : undefined;
  if (backend && !quiet)
    process.stderr.write(
      `thb: the loss runs on ${backend.description}${backend.description.endsWith("(software)") ? ", a CPU emulating a GPU: slower than --backend cpu" : ""}\n`,
    );
  let temporary: string;
  try {
    temporary = checkOutput(options.out);
  } catch (error) {
    backend?.dispose();
    throw error;
  }
  // a second thread for the 2D CPU loss of large images: it boots while the first level runs, and takes its
  // share of the levels of SHARED_PASS_PIXELS or more after that (the same numbers on one thread or two;
  // summary.json says how many ran)
  const pixels = fixed.image.size.reduce((a, n) => a * n, 1);
  const helperThread =
    threads === 2 && d === 2 && !backend && pixels >= SHARED_PASS_PIXELS ? startWarpThread() : undefined;
  try {
    const bar = !quiet && process.stderr.isTTY ? await progressBar(levels ?? 3, iterations ?? 20) : undefined;
    const onProgress = bar
      ? (p: RegistrationProgress) =>
          bar.update(p.level, p.iteration, { metric: p.metric.toPrecision(4), dofs: p.dofs })
      : undefined;
    const { transform, warped, report, jacobianDeterminant } = await registerImages(
      fixed.image,
      moving.image,
      {
        metric,
        gridSpacing,
        levels,
        refine,
        bending,
        iterations,
        seed,
        interpolation,
        initial,
        optimizer,
        fixedMask: mask?.image,
        jacobianPenalty,
        samples,
        backend,
        helperThread,
        onProgress,
      },
    ).finally(() => bar?.stop());
    // det J at every fixed pixel, exact (det A included): the summary's folding and the dense map
    const determinant = jacobianDeterminant;
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
    const written = await writeDenseMaps(temporary, options, transform, determinant, fixed.image, warped);
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
      initial: report.initial,
      affine: Array.from(transform.affine),
      levels: report.levels,
      aborted: report.aborted,
      seconds: {
        startup,
        io: ioSeconds,
        optimisation: report.optimisationSeconds,
        total: process.uptime(),
      },
      backend: report.options.backend,
      device: backend?.description ?? "CPU (f64, TypeScript)",
      threads: report.threads,
      options: report.options,
      denseMaps: written,
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
  } finally {
    backend?.dispose();
    await helperThread?.dispose();
  }
}

/** The webgpu backend on this machine's adapter, or an InputError naming --backend when there is none. */
async function webgpuBackendOrError(): Promise<Backend> {
  const { noAdapterAdvice, requestWebGPU } = await import("../kernels/webgpu/device.js");
  const webgpu = await requestWebGPU();
  if (!webgpu)
    throw new InputError(
      `--backend webgpu: expected a WebGPU adapter, but there is ${noAdapterAdvice()}; --backend cpu runs without one`,
    );
  const { webgpuBackend } = await import("../primitives/backend.js");
  return webgpuBackend(webgpu);
}

/** The dense maps asked for, written into `folder`; returns their file names. */
async function writeDenseMaps(
  folder: string,
  options: RegisterCommandOptions,
  transform: DisplacementTransform,
  determinant: Float64Array,
  fixed: Image,
  warped: Image,
): Promise<string[]> {
  const written: string[] = [];
  const d = transform.dimension;
  const { displacementMap, jacobianPreview, checkerboard } = await import("../fields/transformMaps.js");
  if (options.writeDisplacement) {
    const bytes = await encodeVectorImageFile(
      "displacement.nii.gz",
      transform.fixed,
      displacementMap(transform),
      d,
    );
    writeFileSync(join(folder, "displacement.nii.gz"), bytes);
    written.push("displacement.nii.gz");
  }
  if (options.writeJacobian) {
    const image = { ...transform.fixed, data: Float32Array.from(determinant) };
    writeFileSync(join(folder, "jacobian.nii.gz"), await encodeImageFile("jacobian.nii.gz", image));
    written.push("jacobian.nii.gz");
    if (d === 2) {
      writeFileSync(join(folder, "jacobian.png"), encodePngZlib(jacobianPreview(transform, determinant)));
      written.push("jacobian.png");
    }
  }
  if (options.writeCheckerboard) {
    // both images scaled together to 0 … 255; squares of 1/8 of the larger side
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const image of [fixed, warped])
      for (const v of image.data) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    const scale = hi > lo ? 255 / (hi - lo) : 1;
    const scaled = (image: Image): Image => ({
      ...image,
      data: Float64Array.from(image.data, (v) => (v - lo) * scale),
    });
    const square = Math.max(1, Math.ceil(Math.max(...fixed.size) / 8));
    writeFileSync(
      join(folder, "checkerboard.png"),
      encodePngZlib(checkerboard(scaled(fixed), scaled(warped), square)),
    );
    written.push("checkerboard.png");
  }
  return written;
}

/** A cli-progress bar over levels × iterations on stderr (cli-progress loaded only on a terminal). */
async function progressBar(levels: number, iterations: number) {
  const { Presets, SingleBar } = await import("cli-progress");
  const bar = new SingleBar(
    {
      format:
        "registering |{bar}| level {level}/{levels}  iteration {iteration}  metric {metric}  dofs {dofs}",
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(levels * Math.max(iterations, 1), 0, { level: 1, levels, iteration: 0, metric: "…", dofs: 0 });
  return {
    update(level: number, iteration: number, payload: { metric: string; dofs: number }) {
      bar.update(level * Math.max(iterations, 1) + Math.min(iteration, iterations), {
        ...payload,
        level: level + 1,
        iteration,
      });
    },
    stop: () => bar.stop(),
  };
}
