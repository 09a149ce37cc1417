/**
 * `thb fit POINTS --out surface.json [--report report.json] [--mesh surface.obj|.stl|.ply] [--tol …] …`:
 * adaptive THB least-squares fitting of a point cloud. Everything is computed and checked before any file
 * is written, and each file is written whole (temporary name, then rename).
 */

import { basename, dirname, extname, join } from "node:path";
import { Presets, SingleBar } from "cli-progress";
import type { THBField } from "../fields/thbField.js";
import { type FitIteration, fitSurfaceAsync } from "../fitting/surface/fitSurface.js";
import { meshToObj, meshToPly, meshToStl } from "../io/mesh.js";
import { checkOutputPaths, type OutputFile, writeFilesAtomic } from "../io/node/atomicWrite.js";
import { meshToGlb } from "../io/node/gltf.js";
import { readPointCloud } from "../io/node/readPointCloud.js";
import type { PointCloud } from "../io/pointCloud.js";
import { fieldToJson } from "../io/serialization.js";
import { selectBackend } from "../primitives/backend.js";
import { ArgumentError } from "../splines/errors.js";
import { tessellateSurface } from "../splines/tessellation.js";
import { numberOption } from "./options.js";
import { InputError } from "./readInput.js";

/** Options of the fit command, as commander parses them. */
export interface FitCommandOptions {
  out: string;
  report?: string;
  mesh?: string;
  tol?: string;
  rmsTol?: string;
  degree?: string;
  elements?: string;
  levels?: string;
  method?: string;
  smoothing?: string;
  regularization?: string;
  loss?: string;
  parameterCorrection?: string;
  heightField?: boolean;
  resolution?: string;
  /** false (from --no-progress) disables the progress bar. */
  progress?: boolean;
}

const MESH_EXTENSIONS = [".obj", ".stl", ".ply", ".glb"];

/**
 * Bounds of the numeric options, stated in `thb fit --help` and the README:
 * - `elements` ≤ 128 per direction: 131² bicubic functions on level 0, whose first solve already takes
 *   seconds and some 100 MB (the envelope of the normal equations grows as elements³);
 * - `resolution` ≤ 1024 mesh segments per direction: 1,050,625 vertices, some 0.5 GB while meshing and an
 *   OBJ of about 110 MB (2048 would come near V8's 512 MB string limit);
 * - `smoothing` ≤ 1e6: the thin-plate weight λ; far beyond the data term it only returns a plane, and near
 *   1e308 its quadrature weights overflow;
 * - `parameterCorrection` ≤ 50 rounds per refinement step.
 */
export const FIT_LIMITS = {
  elements: 128,
  resolution: 1024,
  smoothing: 1e6,
  parameterCorrection: 50,
} as const;

/** A triangle mesh of a fitted surface (R³ surface, or height field z over (u, v)). */
export function surfaceMesh(surface: THBField, resolution: number) {
  const lower = surface.space.lower;
  const upper = surface.space.upper;
  const evaluate =
    surface.dim === 3
      ? (uv: Float64Array) => surface.evaluate(uv, 1)
      : (uv: Float64Array) => {
          const D = surface.evaluate(uv, 1); // z, z_u, z_v
          const out = new Float64Array((uv.length / 2) * 9);
          for (let i = 0; i < uv.length / 2; i++) {
            out.set([uv[2 * i], uv[2 * i + 1], D[3 * i], 1, 0, D[3 * i + 1], 0, 1, D[3 * i + 2]], 9 * i);
          }
          return out;
        };
  return tessellateSurface(evaluate, lower, upper, resolution, resolution);
}

/**
 * Refuses a cloud whose extent overflows in the fit: the bounding box's squared diagonal (errors are squared
 * distances) and the parameters' extent must be finite. Coordinates near 1e300 reported "collinear … NaN".
 */
export function checkCloudExtent(cloud: PointCloud, where: string): void {
  const extents = (values: Float64Array, dim: number, names: string[]) =>
    names.map((name, k) => {
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (let i = k; i < values.length; i += dim) {
        lo = Math.min(lo, values[i]);
        hi = Math.max(hi, values[i]);
      }
      return { name, lo, hi, extent: hi - lo };
    });
  const box = extents(cloud.points, 3, ["x", "y", "z"]);
  const diagonalSquared = box.reduce((a, b) => a + b.extent * b.extent, 0);
  if (!Number.isFinite(diagonalSquared)) {
    const widest = box.reduce((a, b) => (Math.abs(b.extent) >= Math.abs(a.extent) ? b : a));
    throw new InputError(
      `${where}: ${widest.name} spans [${widest.lo}, ${widest.hi}]; the bounding box's squared diagonal overflows a double (the fit squares distances), rescale the points to extents below about 1e153`,
    );
  }
  if (cloud.params) {
    for (const p of extents(cloud.params, 2, ["u", "v"])) {
      if (!Number.isFinite(p.extent)) {
        throw new InputError(
          `${where}: parameter ${p.name} spans [${p.lo}, ${p.hi}], whose length overflows a double`,
        );
      }
    }
  }
}

/** Runs the fit command; `log` receives progress and the summary (stderr by default; a bar on a terminal). */
export async function runFit(
  pointsPath: string,
  options: FitCommandOptions,
  log: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<void> {
  const method = options.method ?? "lsq";
  if (method !== "lsq" && method !== "lbfgs" && method !== "adam") {
    throw new InputError(`--method ${method}: expected lsq, lbfgs or adam`);
  }
  const loss = options.loss ?? "l2";
  if (loss !== "l2" && loss !== "huber" && loss !== "l1")
    throw new InputError(`--loss ${loss}: expected l2, huber or l1`);
  const mesh = options.mesh;
  if (mesh && !MESH_EXTENSIONS.includes(extname(mesh).toLowerCase())) {
    throw new InputError(`--mesh ${mesh}: unknown extension, expected one of ${MESH_EXTENSIONS.join(", ")}`);
  }
  const positive = (x: number) => x > 0 && Number.isFinite(x);
  const tolerance = numberOption(options.tol, "tol", positive, "a positive finite number");
  const rmsTolerance = numberOption(options.rmsTol, "rms-tol", positive, "a positive finite number");
  const degree = numberOption(
    options.degree,
    "degree",
    (x) => Number.isInteger(x) && x >= 1 && x <= 5,
    "an integer from 1 to 5",
  );
  const elements = numberOption(
    options.elements,
    "elements",
    (x) => Number.isInteger(x) && x >= 1 && x <= FIT_LIMITS.elements,
    `an integer from 1 to ${FIT_LIMITS.elements}`,
  );
  const maxLevels = numberOption(
    options.levels,
    "levels",
    (x) => Number.isInteger(x) && x >= 1 && x <= 16,
    "an integer from 1 to 16",
  );
  const smoothing = numberOption(
    options.smoothing,
    "smoothing",
    (x) => x >= 0 && x <= FIT_LIMITS.smoothing,
    `a number from 0 to ${FIT_LIMITS.smoothing} (larger weights only flatten the surface to a plane)`,
  );
  const regularization = numberOption(
    options.regularization,
    "regularization",
    (x) => x >= 0 && x <= 1,
    "a number from 0 to 1 (the thin-plate weight relative to the data on the finest functions)",
  );
  const parameterCorrection = numberOption(
    options.parameterCorrection,
    "parameter-correction",
    (x) => Number.isInteger(x) && x >= 0 && x <= FIT_LIMITS.parameterCorrection,
    `an integer from 0 to ${FIT_LIMITS.parameterCorrection}`,
  );
  const resolution =
    numberOption(
      options.resolution,
      "resolution",
      (x) => Number.isInteger(x) && x >= 1 && x <= FIT_LIMITS.resolution,
      `an integer from 1 to ${FIT_LIMITS.resolution}`,
    ) ?? 128;
  // every output path is checked before the work: no two on one file, none on the input, none a folder
  const reportPath =
    options.report ??
    join(dirname(options.out), `${basename(options.out, extname(options.out))}.report.json`);
  checkOutputPaths(
    [
      { option: "--out", path: options.out },
      { option: options.report !== undefined ? "--report" : "--report (default)", path: reportPath },
      ...(mesh ? [{ option: "--mesh", path: mesh }] : []),
    ],
    [{ option: "POINTS", path: pointsPath }],
  );
  const cloud = readPointCloud(pointsPath);
  checkCloudExtent(cloud, pointsPath);
  const count = cloud.points.length / 3;
  const t0 = performance.now();
  // a progress bar over the levels on a terminal, plain lines otherwise (logs, pipes, tests)
  const levelLimit = maxLevels ?? 6;
  const bar =
    process.stderr.isTTY && options.progress !== false
      ? new SingleBar(
          {
            format: "fitting |{bar}| level {value}/{total}  dofs {dofs}  max error {maxError}",
            stream: process.stderr,
          },
          Presets.shades_classic,
        )
      : undefined;
  bar?.start(levelLimit, 0, { dofs: 0, maxError: "…" });
  // the gradient methods run on the GPU when a hardware adapter exists (THB_BACKEND=cpu forces the host); lsq
  // solves f64 normal equations on the host and needs no device
  const backend = method === "lsq" ? undefined : await selectBackend({ log });
  let result: Awaited<ReturnType<typeof fitSurfaceAsync>>;
  try {
    result = await fitSurfaceAsync(cloud.points, {
      ...(backend ? { backend } : {}),
      ...(cloud.params && !options.heightField ? { params: cloud.params } : {}),
      ...(tolerance !== undefined ? { tolerance } : {}),
      ...(rmsTolerance !== undefined ? { rmsTolerance } : {}),
      ...(degree !== undefined ? { degree } : {}),
      ...(elements !== undefined ? { elements } : {}),
      ...(maxLevels !== undefined ? { maxLevels } : {}),
      ...(smoothing !== undefined ? { smoothing } : {}),
      ...(regularization !== undefined ? { regularization } : {}),
      heightField: options.heightField ?? false,
      method,
      loss,
      ...(parameterCorrection !== undefined ? { parameterCorrection } : {}),
      onProgress: (it: FitIteration) => {
        if (bar) bar.update(it.levels, { dofs: it.dofs, maxError: it.maxError.toPrecision(4) });
        else {
          log(
            `  level ${it.levels}  dofs ${it.dofs}  max error ${it.maxError.toPrecision(4)}  rms ${it.rmsError.toPrecision(4)}  (${it.seconds.toFixed(2)} s)`,
          );
        }
      },
    });
  } catch (error) {
    // the cloud itself is unfit (collinear, degenerate parameters): say which file
    if (error instanceof ArgumentError) throw new InputError(`${pointsPath}: ${error.message}`);
    throw error;
  } finally {
    bar?.stop();
    backend?.dispose();
  }
  const seconds = (performance.now() - t0) / 1000;
  // everything computed: now write all files or none
  const report = {
    iterations: result.report.iterations,
    final: result.report.final,
    options: result.report.options,
    notes: result.report.notes,
    stopReason: result.report.stopReason,
  };
  const outputs: OutputFile[] = [
    { option: "--out", path: options.out, data: fieldToJson(result.surface) },
    { option: "--report", path: reportPath, data: `${JSON.stringify(report, null, 1)}\n` },
  ];
  if (mesh) {
    const meshData = surfaceMesh(result.surface, resolution);
    const extension = extname(mesh).toLowerCase();
    const comment = `thbspline fit of ${basename(pointsPath)}`;
    outputs.push({
      option: "--mesh",
      path: mesh,
      data:
        extension === ".stl"
          ? meshToStl(meshData, comment)
          : extension === ".ply"
            ? meshToPly(meshData, comment)
            : extension === ".glb"
              ? await meshToGlb(meshData, comment)
              : meshToObj(meshData, comment),
    });
  }
  writeFilesAtomic(outputs);
  const written = outputs.map((o) => o.path);
  for (const note of result.report.notes) log(`  note: ${note}`);
  const f = result.report.final;
  log(
    `fitted ${count} points: ${f.levels} levels, ${f.dofs} functions, max error ${f.maxError.toPrecision(4)}, rms ${f.rmsError.toPrecision(4)} (${result.report.stopReason}) in ${seconds.toFixed(1)} s → ${written.join(", ")}`,
  );
}
