/**
 * The three registration programs of `npm run bench:register`, each run as its user would run it and judged
 * the same way from what it writes: native elastix (a process, `-threads 2`), @itk-wasm/elastix (a Node
 * process of its own, so module and wasm start-up count as elastix's process start does) with the same
 * parameter map, and ours (`node dist/bin/thb.js register`, the bundled bin, process start included).
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import type { Image } from "../../fields/image.js";
import { readImageFile } from "../../io/node/imageFile.js";
import { transformFromJson } from "../../io/transformJson.js";

/** What one program produced on one pair. */
export interface PeerRun {
  /** Wall time of the whole process, seconds. */
  seconds: number;
  /** CPU time of the whole process (user + system, all threads), seconds, when it could be measured. */
  cpuSeconds?: number;
  /** The warped moving image on the fixed grid. */
  warped: Image;
  /** Fixed physical points → moving physical points, when the program's transform can be evaluated here. */
  map?: (points: Float64Array) => ArrayLike<number>;
  /** Share of fixed pixels with det J ≤ 0, or undefined when the program cannot say. */
  folding?: number;
  /** Extra facts (DOFs per level, …). */
  notes: Record<string, unknown>;
}

/** An elastix parameter map: name → values (strings), as itk-wasm's parameter objects hold them. */
export type ParameterMap = Record<string, string[]>;

/**
 * The map of the issue's reference run: itk-wasm's default B-spline map (3 resolutions, 16 mm final grid,
 * 2,048 random samples per iteration, linear interpolation while optimising, cubic for the result) with
 * the metric set to AdvancedMeanSquares alone and 500 iterations per resolution.
 */
export function bsplineMeanSquaresMap(dimension: number, metric = "AdvancedMeanSquares"): ParameterMap {
  return {
    FixedImageDimension: [String(dimension)],
    MovingImageDimension: [String(dimension)],
    FixedInternalImagePixelType: ["float"],
    MovingInternalImagePixelType: ["float"],
    AutomaticParameterEstimation: ["true"],
    CheckNumberOfSamples: ["true"],
    DefaultPixelValue: ["0"],
    FinalBSplineInterpolationOrder: ["3"],
    FinalGridSpacingInPhysicalUnits: ["16"],
    FixedImagePyramid: ["FixedSmoothingImagePyramid"],
    MovingImagePyramid: ["MovingSmoothingImagePyramid"],
    GridSpacingSchedule: ["1.9881", "1.41", "1.0"],
    ImageSampler: ["RandomCoordinate"],
    Interpolator: ["LinearInterpolator"],
    MaximumNumberOfIterations: ["500"],
    MaximumNumberOfSamplingAttempts: ["8"],
    Metric: [metric],
    NewSamplesEveryIteration: ["true"],
    NumberOfResolutions: ["3"],
    NumberOfSamplesForExactGradient: ["4096"],
    NumberOfSpatialSamples: ["2048"],
    Optimizer: ["AdaptiveStochasticGradientDescent"],
    Registration: ["MultiResolutionRegistration"],
    ResampleInterpolator: ["FinalBSplineInterpolator"],
    Resampler: ["DefaultResampler"],
    ResultImageFormat: ["mha"],
    ResultImagePixelType: ["float"],
    Transform: ["BSplineTransform"],
    WriteIterationInfo: ["false"],
    WriteResultImage: ["true"],
  };
}

/** elastix's parameter file text for a map (numbers bare, words quoted). */
export function parameterFileText(map: ParameterMap): string {
  const value = (v: string) => (/^-?[0-9.]+(e-?[0-9]+)?$/i.test(v) ? v : `"${v}"`);
  return `${Object.entries(map)
    .map(([name, values]) => `(${name} ${values.map(value).join(" ")})`)
    .join("\n")}\n`;
}

/** Whether native elastix and transformix are on the PATH; installs them with apt-get when they are not. */
export function ensureNativeElastix(log: (line: string) => void): boolean {
  const found = () => spawnSync("elastix", ["--version"], { encoding: "utf8" }).status === 0;
  if (found()) return true;
  log("native elastix not found: installing it with `apt-get install -y elastix` …");
  const root = process.getuid?.() === 0;
  const apt = (args: string[]) =>
    spawnSync(root ? "apt-get" : "sudo", root ? args : ["-n", "apt-get", ...args], {
      stdio: "inherit",
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
  apt(["update"]);
  apt(["install", "-y", "elastix"]);
  return found();
}

/** GNU time, when installed: it reports a child's CPU time (user + system), which Node's spawnSync does not. */
const gnuTime = existsSync("/usr/bin/time") ? "/usr/bin/time" : undefined;

/** Wall seconds of one run, and its CPU seconds (all threads, user + system) when GNU time is there. */
interface Timing {
  seconds: number;
  cpuSeconds?: number;
}

function timed(command: string, args: string[], what: string, timeoutSeconds: number): Timing {
  const cpuFile = gnuTime ? join(mkdtempSync(join(tmpdir(), "thb-bench-time-")), "cpu.txt") : undefined;
  const [program, programArgs] =
    gnuTime && cpuFile ? [gnuTime, ["-f", "%U %S", "-o", cpuFile, command, ...args]] : [command, args];
  const t0 = performance.now();
  const run = spawnSync(program, programArgs, { encoding: "utf8", timeout: timeoutSeconds * 1000 });
  const seconds = (performance.now() - t0) / 1000;
  if (run.error || run.status !== 0)
    throw new Error(
      `${what} failed (${run.error?.message ?? `exit ${run.status}`}): ${(run.stderr || run.stdout || "").slice(-800)}`,
    );
  if (!cpuFile) return { seconds };
  const fields = readFileSync(cpuFile, "utf8").trim().split(/\s+/).slice(-2).map(Number);
  rmSync(dirname(cpuFile), { recursive: true, force: true });
  return {
    seconds,
    cpuSeconds: fields.length === 2 && fields.every(Number.isFinite) ? fields[0] + fields[1] : undefined,
  };
}

/** Reads an image with itk-wasm keeping every component (a displacement field has d). */
async function readVectorImage(path: string): Promise<{ data: Float64Array; components: number }> {
  const io = await import("@itk-wasm/image-io");
  const image = await io.readImageNode(path);
  return {
    data: Float64Array.from(image.data as ArrayLike<number>),
    components: image.imageType.components,
  };
}

/**
 * Native elastix on files `fixed`, `moving` into a new folder `dir`; transformix then writes det J and the
 * deformation field (not timed), from which folding and the map at the fixed grid's pixels are read.
 */
export async function runNativeElastix(
  fixed: string,
  moving: string,
  map: ParameterMap,
  dir: string,
  timeoutSeconds: number,
  withTransformix: boolean,
): Promise<PeerRun> {
  mkdirSync(dir, { recursive: true });
  const parameters = join(dir, "parameters.txt");
  writeFileSync(parameters, parameterFileText(map));
  const { seconds, cpuSeconds } = timed(
    "elastix",
    ["-f", fixed, "-m", moving, "-p", parameters, "-out", dir, "-threads", "2"],
    "native elastix",
    timeoutSeconds,
  );
  const warped = (await readImageFile(join(dir, "result.0.mha"))).image;
  const run: PeerRun = { seconds, cpuSeconds, warped, notes: {} };
  if (!withTransformix) return run;
  const jac = join(dir, "transformix");
  mkdirSync(jac, { recursive: true });
  timed(
    "transformix",
    ["-jac", "all", "-def", "all", "-tp", join(dir, "TransformParameters.0.txt"), "-out", jac],
    "transformix -jac all -def all",
    timeoutSeconds,
  );
  const det = (await readVectorImage(join(jac, "spatialJacobian.mha"))).data;
  let folded = 0;
  for (const v of det) if (v <= 0) folded++;
  run.folding = folded / det.length;
  // the deformation field holds T(x) − x at every fixed pixel, first axis fastest
  const field = await readVectorImage(join(jac, "deformationField.mha"));
  run.map = pixelMap(warped, field.data);
  return run;
}

/**
 * A map known only at the fixed grid's pixels (`displacement  #pixels by d`): points are expected to be
 * pixel centres of that grid (as the endpoint error uses them).
 */
function pixelMap(grid: Image, displacement: Float64Array): (points: Float64Array) => Float64Array {
  const d = grid.size.length;
  return (points) => {
    const out = new Float64Array(points.length);
    for (let i = 0; i < points.length; i += d) {
      let t = 0;
      let stride = 1;
      for (let k = 0; k < d; k++) {
        // axis-aligned grids only (the generated pairs): index = (x − origin) / spacing
        const index = Math.round((points[i + k] - grid.origin[k]) / grid.spacing[k]);
        t += index * stride;
        stride *= grid.size[k];
      }
      for (let k = 0; k < d; k++) out[i + k] = points[i + k] + displacement[t * d + k];
    }
    return out;
  };
}

/** @itk-wasm/elastix in a Node process of its own: read both files, register, write the result as .mha. */
export function runWasmElastix(
  fixed: string,
  moving: string,
  map: ParameterMap,
  dir: string,
  timeoutSeconds: number,
): Promise<PeerRun> {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "run.mjs");
  const elastix = import.meta.resolve("@itk-wasm/elastix");
  const io = import.meta.resolve("@itk-wasm/image-io");
  writeFileSync(
    script,
    [
      `import { elastixNode } from ${JSON.stringify(elastix)};`,
      `import { readImageNode, writeImageNode } from ${JSON.stringify(io)};`,
      `const fixed = await readImageNode(${JSON.stringify(resolve(fixed))});`,
      `const moving = await readImageNode(${JSON.stringify(resolve(moving))});`,
      // scalar float32, as native elastix reads them (RGB to luminance with ITK's weights)
      "for (const image of [fixed, moving]) {",
      "  const c = image.imageType.components, n = image.data.length / c, out = new Float32Array(n);",
      "  for (let i = 0; i < n; i++) out[i] = c >= 3 ? 0.2125 * image.data[c * i] + 0.7154 * image.data[c * i + 1] + 0.0721 * image.data[c * i + 2] : image.data[c * i];",
      "  image.data = out;",
      "  image.imageType = { ...image.imageType, componentType: 'float32', pixelType: 'Scalar', components: 1 };",
      "}",
      `const { result } = await elastixNode([${JSON.stringify(map)}], { fixed, moving });`,
      `await writeImageNode(result, ${JSON.stringify(join(resolve(dir), "result.mha"))});`,
    ].join("\n"),
  );
  const { seconds, cpuSeconds } = timed("node", [script], "@itk-wasm/elastix", timeoutSeconds);
  return readImageFile(join(dir, "result.mha")).then(({ image }) => ({
    seconds,
    cpuSeconds,
    warped: image,
    notes: {},
  }));
}

/** Ours: `node dist/bin/thb.js register FIXED MOVING --out DIR --quiet ARGS`; folding and DOFs from summary.json. */
export async function runOurs(
  fixed: string,
  moving: string,
  dir: string,
  args: string[],
  timeoutSeconds: number,
): Promise<PeerRun> {
  // the `thb` bin (the bundle scripts/buildCli.ts builds), as an installed package runs it
  const cli = resolve("dist/bin/thb.js");
  if (!existsSync(cli)) throw new Error("dist/bin/thb.js is missing: run `npm run build` first");
  const { seconds, cpuSeconds } = timed(
    "node",
    [cli, "register", fixed, moving, "--out", dir, "--quiet", ...args],
    `thb register ${args.join(" ")}`,
    timeoutSeconds,
  );
  const summary = JSON.parse(readFileSync(join(dir, "summary.json"), "utf8"));
  const warpedName = ["warped.png", "warped.nii.gz", "warped.mha", "warped.nii", "warped.nrrd"].find((n) =>
    existsSync(join(dir, n)),
  );
  if (!warpedName) throw new Error(`thb register wrote no warped image into ${dir}`);
  const transform = transformFromJson(readFileSync(join(dir, "transform.json"), "utf8"));
  return {
    seconds,
    cpuSeconds,
    warped: (await readImageFile(join(dir, warpedName))).image,
    map: (points) => transform.mapPoints(points),
    folding: summary.foldingFraction,
    notes: {
      dofs: summary.dofsPerLevel.at(-1),
      dofsPerLevel: summary.dofsPerLevel,
      metricAfter: summary.metricAfter,
      seconds: summary.seconds,
    },
  };
}

/**
 * Mean squared difference on the scale the fixed file stores: for an 8-bit PNG pair every warped image is
 * first rounded and clamped to 0–255 (what a PNG result holds), float formats are compared as they are.
 */
export function meanSquaredError(fixed: Image, warped: Image, eightBit: boolean): number {
  if (fixed.data.length !== warped.data.length)
    throw new Error(`warped image has ${warped.data.length} pixels, the fixed one ${fixed.data.length}`);
  const q = (v: number) => (eightBit ? Math.min(255, Math.max(0, Math.round(v))) : v);
  let s = 0;
  for (let i = 0; i < fixed.data.length; i++) s += (q(warped.data[i]) - fixed.data[i]) ** 2;
  return s / fixed.data.length;
}
