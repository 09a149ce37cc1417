#!/usr/bin/env node
/** The `thb` command: demo, and later basis probes, fitting and registration. */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import type { ApplyCommandOptions } from "./apply.js";
import type { FitCommandOptions } from "./fit.js";
import type { RegisterCommandOptions } from "./register.js";
import type { TransformPointsCommandOptions } from "./transformPoints.js";
import type { ViewOptions } from "./view.js";

/**
 * Builds the command-line program (exported for tests). Each command's module is imported when the command
 * runs, so one command's start-up does not pay for the others' dependencies (glTF, progress bars, fitting).
 */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("thb")
    .description("THB-spline geometry engine: fitting, registration, basis probes")
    .version("0.1.0");
  program
    .command("demo")
    .description(
      "evaluate bundled sample geometry, fit the bundled scan and register the bundled ITK brain slices into an output folder",
    )
    .option("--out <dir>", "output folder", "demo-out")
    .action(async (options: { out: string }) => {
      const { runDemo } = await import("./demo.js");
      await runDemo(options.out);
    });
  program
    .command("basis")
    .description(
      "print the non-zero THB functions (values, first and second derivatives) at points, as JSON " +
        "(streamed; at most 2^20 points, 2^18 active elements, 2^20 cells per direction on a level)",
    )
    .argument("<spec>", "SPEC.json: { degree, knots, truncated, boxes }")
    .requiredOption("--points <file>", "POINTS.json: an array of parameter tuples")
    .action(async (spec: string, options: { points: string }) => {
      const { runBasis } = await import("./basis.js");
      runBasis(spec, options.points, (text) => process.stdout.write(text));
    });
  program
    .command("fit")
    .description(
      "fit an adaptive THB surface to a point cloud (.xyz .csv .txt .ply, G+Smo .xml; files up to 256 MiB). " +
        "All output files are written or none; outputs must differ from each other and from the input",
    )
    .argument("<points>", "point cloud file; XYZ/CSV may carry u v columns, G+Smo XML always does")
    .requiredOption("--out <file>", "surface JSON (thbspline-field)")
    .option("--report <file>", "report JSON (default: <out>.report.json beside --out)")
    .option("--mesh <file>", "also write a triangle mesh: .obj, .stl, .ply or .glb")
    .option("--tol <number>", "stop at this max point error (input units; default 1e-3 × bounding box)")
    .option("--rms-tol <number>", "or at this RMS error")
    .option("--degree <n>", "degree per direction (default 3)")
    .option("--elements <n>", "level-0 elements per direction (default 4, at most 128)")
    .option("--levels <n>", "maximum number of levels (default 6)")
    .option(
      "--method <name>",
      "solver: lsq (sparse normal equations, f64), lbfgs or adam (through autodiff)",
      "lsq",
    )
    .option("--loss <name>", "data term of lbfgs/adam: l2, huber or l1", "l2")
    .option(
      "--parameter-correction <rounds>",
      "foot-point correction rounds per refinement step (default 0, at most 50)",
    )
    .option("--smoothing <lambda>", "thin-plate smoothing weight (default 0, at most 1e6)")
    .option(
      "--regularization <beta>",
      "automatic thin-plate regularisation relative to the data on the finest functions (default 1e-6; 0 turns it off)",
    )
    .option("--height-field", "fit z over (x, y) as a scalar height field")
    .option("--resolution <n>", "mesh segments per direction (default 128, at most 1024)")
    .option("--no-progress", "no progress bar on a terminal")
    .action(async (points: string, options: FitCommandOptions) => {
      const { runFit } = await import("./fit.js");
      await runFit(points, options);
    });
  program
    .command("view")
    .description("open surfaces and point clouds in the interactive viewer (a local web page on 127.0.0.1)")
    .argument(
      "[files...]",
      "surface .json / G+Smo .xml, point clouds .xyz .csv .txt .ply .xml (default: the demo fit)",
    )
    .option("--points <file>", "a point cloud to show, coloured by its distance to the surface")
    .option("--port <n>", "port on 127.0.0.1 (0: a free one)", "8765")
    .option("--open", "open the page in the default browser")
    .action(async (files: string[], options: ViewOptions) => {
      const { runView } = await import("./view.js");
      await runView(files, options);
    });

  program
    .command("register")
    .description("register MOVING onto FIXED with an adaptive THB free-form deformation (2D/3D images)")
    .argument("<fixed>", "fixed image: .png, .nii, .nii.gz, .mha, .mhd, .nrrd, .nhdr")
    .argument("<moving>", "moving image, same dimension")
    .requiredOption(
      "--out <dir>",
      "output folder (new): warped image, transform.json, iterations.tsv, summary.json",
    )
    .option("--metric <name>", "similarity metric: ssd (mean squares), ncc or mi (mutual information)", "ssd")
    .option("--grid <mm>", "final control grid spacing in mm (default 16)")
    .option("--levels <n>", "pyramid levels (default 3)")
    .option("--refine <schedule>", "adaptive, uniform or none (default adaptive)")
    .option("--bending <w>", "bending energy weight, metric units per mm² (default 0: off)")
    .option(
      "--iterations <n>",
      "L-BFGS iterations per level at most (default 20; in 3D 5 on coarser levels, 20 at full resolution)",
    )
    .option(
      "--interpolation <kind>",
      "moving image interpolation while optimising: cubic or linear (default cubic in 2D; in 3D linear on coarser levels, cubic at full resolution)",
    )
    .option(
      "--fixed-mask <file>",
      "mask on the fixed grid (same size; non-zero = inside): only inside pixels count",
    )
    .option(
      "--jacobian-penalty <w>",
      "weight of the penalty mean max(0, 0.1 − det J)² that keeps the transform from folding (default 0: off)",
    )
    .option("--samples <n>", "random pixels per level the metric uses (default 0: all), drawn from --seed")
    .option("--seed <s>", "seed of --samples (runs are deterministic, bit for bit)")
    .option(
      "--initial <kind>",
      "initial alignment: affine (default: centring, rigid, affine), rigid (centring, rigid) or none",
    )
    .option("--optimizer <name>", "lbfgs (default) or adam")
    .option(
      "--backend <name>",
      "where the loss runs: cpu (default, f64) or webgpu (the WGSL kernels in f32, on a GPU or SwiftShader)",
    )
    .option(
      "--threads <n>",
      "CPU threads for the 2D loss of images of 100,000 pixels or more: 1, or 2 (default with 2+ cores; the same result bit for bit)",
    )
    .option(
      "--write-displacement",
      "also write displacement.nii.gz: T(x) − x in mm, a vector image (transformix -def)",
    )
    .option(
      "--write-jacobian",
      "also write jacobian.nii.gz (det J, transformix -jac) and, in 2D, jacobian.png",
    )
    .option(
      "--write-checkerboard",
      "also write checkerboard.png: fixed and warped in alternating squares (2D)",
    )
    .option("--quiet", "no progress and no summary line")
    .action(async (fixed: string, moving: string, options: RegisterCommandOptions) => {
      const { runRegister } = await import("./register.js");
      await runRegister(fixed, moving, options);
    });
  program
    .command("apply")
    .description(
      "resample an image of the moving space on a registration's fixed grid: IMAGE(A(x + u(x))), like transformix",
    )
    .argument("<transform>", "transform.json written by thb register")
    .argument("<image>", "image to resample: .png, .nii, .nii.gz, .mha, .mhd, .nrrd, .nhdr")
    .requiredOption(
      "--out <file>",
      "output image; PNG keeps the input's PNG depth (rounded, clamped), .nii.gz/.nii/.mha/.nrrd float32",
    )
    .option(
      "--interpolation <kind>",
      "linear (default), cubic, or nearest (label images: values kept exactly)",
    )
    .option("--quiet", "no notices and no summary line")
    .action(async (transform: string, image: string, options: ApplyCommandOptions) => {
      const { runApply } = await import("./apply.js");
      await runApply(transform, image, options);
    });
  program
    .command("transform-points")
    .description(
      "map physical points (mm) of the fixed space to the moving space, T(x) = A(x + u(x)), or back with --inverse",
    )
    .argument("<transform>", "transform.json written by thb register")
    .argument("<points>", "CSV: d numbers per row (comma, semicolon, tab or space), an optional header line")
    .option("--inverse", "map moving-space points back (Newton with the exact Jacobian)")
    .option("--out <file>", "output CSV (default: standard output)")
    .option("--quiet", "no notices")
    .action(async (transform: string, points: string, options: TransformPointsCommandOptions) => {
      const { runTransformPoints } = await import("./transformPoints.js");
      runTransformPoints(transform, points, options);
    });
  return program;
}

/** Runs the CLI; errors become a one-line message and exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const e = error as Error;
    process.stderr.write(`thb: ${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}\n`);
    process.exitCode = 1;
  }
}

/**
 * Whether this module is the program node runs: the script path resolved through symlinks (a package
 * manager's `thb` is a symlink to the file) against this module's own file — thb.ts under tsx, dist/cli/thb.js,
 * or the bundle dist/bin/thb.js, which holds this module.
 */
function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) await main(process.argv);
