/**
 * `thb demo`: evaluates bundled sample geometry, fits the bundled scan and registers the bundled ITK brain
 * slices, writing meshes, data and the registration's folder (registration/) to an output folder.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { type FitResult, fitSurface } from "../fitting/surface/fitSurface.js";
import { meshToObj } from "../io/mesh.js";
import { checkOutputPaths, type OutputFile, writeFilesAtomic } from "../io/node/atomicWrite.js";
import { readPointCloud } from "../io/node/readPointCloud.js";
import type { PointCloud } from "../io/pointCloud.js";
import { fieldToJson } from "../io/serialization.js";
import { BSpline } from "../splines/bspline.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { Nurbs } from "../splines/nurbs.js";
import { tessellateSurface } from "../splines/tessellation.js";
import { surfaceMesh } from "./fit.js";

/** A bicubic "wavy sheet": 12 × 12 control points over [0, 1]², heights from a few cosines. */
export function sampleSurface(): BSpline {
  const n = 12;
  const control = new Float64Array(n * n * 3);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const x = i / (n - 1);
      const y = j / (n - 1);
      const r = (i + n * j) * 3;
      control[r] = x;
      control[r + 1] = y;
      control[r + 2] =
        0.15 * Math.cos(3 * Math.PI * x) * Math.sin(2 * Math.PI * y) +
        0.1 * Math.exp(-20 * ((x - 0.6) ** 2 + (y - 0.4) ** 2));
    }
  }
  const knots = uniformKnotVector(3, n - 3);
  return BSpline.create({ degrees: [3, 3], knots: [knots, knots], control });
}

/** An exact rational quadratic cylinder patch: a quarter circle of radius 1 swept along z. */
export function sampleNurbsPatch(): Nurbs {
  const h = Math.SQRT1_2;
  const arc = [
    [1, 0],
    [1, 1],
    [0, 1],
  ];
  const control: number[] = [];
  const weights: number[] = [];
  for (const z of [0, 1]) {
    for (let i = 0; i < 3; i++) {
      control.push(arc[i][0], arc[i][1], z);
      weights.push(i === 1 ? h : 1);
    }
  }
  return new Nurbs({
    degrees: [2, 1],
    knots: [
      [0, 0, 0, 1, 1, 1],
      [0, 0, 1, 1],
    ],
    control,
    weights,
  });
}

/** A path relative to the working folder when it lies inside it, else absolute. */
function shortPath(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel === "" ? "." : rel.startsWith("..") ? path : rel;
}

/** The bundled data folder examples/data (one folder up from cli/, two from dist/cli/). */
function dataFolder(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", "examples"), join(here, "..", "..", "examples")];
  const examples = candidates.find((dir) => existsSync(join(dir, "data"))) ?? candidates[0];
  return join(examples, "data");
}

/** The bundled scan examples/data/deepdrawingC.xml. */
export function demoCloudPath(): string {
  return join(dataFolder(), "deepdrawingC.xml");
}

/** The bundled ITK registration pair (221×257 proton-density brain slices): fixed and moving PNG. */
export function demoImagePaths(): { fixed: string; moving: string } {
  return {
    fixed: join(dataFolder(), "BrainProtonDensitySliceBorder20.png"),
    moving: join(dataFolder(), "BrainProtonDensitySliceBSplined10.png"),
  };
}

/**
 * The demo's adaptive fit of deepdrawingC.xml to 0.5 mm. Its parameters fill a disk, so the corners of the
 * parameter square hold no points: a little thin-plate smoothing keeps the surface there bounded (without
 * it the corners fly off by thousands of mm) at the same tolerance.
 */
export function fitDemoCloud(): { cloudPath: string; cloud: PointCloud; fit: FitResult } {
  const cloudPath = demoCloudPath();
  const cloud = readPointCloud(cloudPath);
  const fit = fitSurface(cloud.points, { params: cloud.params, tolerance: 0.5, smoothing: 1e-4 });
  return { cloudPath, cloud, fit };
}

/**
 * Runs the demo into `outDir` and returns the written file paths. The registration goes to a staging folder
 * first and replaces `outDir/registration` only once the other files are written too.
 */
export async function runDemo(outDir: string, log: (line: string) => void = console.log): Promise<string[]> {
  const dir = resolve(outDir);
  // every file is staged and written at the end, all or none
  const outputs: OutputFile[] = [];
  const write = (name: string, data: string) => {
    outputs.push({ option: "--out", path: join(dir, name), data });
  };
  const surface = sampleSurface();
  const t0 = performance.now();
  const mesh = tessellateSurface(
    (uv) => surface.derivatives(uv, 1),
    surface.basis.lower,
    surface.basis.upper,
    96,
    96,
  );
  const ms = performance.now() - t0;
  write("surface.obj", meshToObj(mesh, "thbspline demo: bicubic B-spline surface, 12x12 control points"));
  write(
    "surface.json",
    `${JSON.stringify(
      {
        degrees: surface.basis.degrees,
        knots: surface.basis.knots.map((k) => Array.from(k)),
        dim: surface.dim,
        control: Array.from(surface.control),
      },
      null,
      1,
    )}\n`,
  );
  const patch = sampleNurbsPatch();
  const patchMesh = tessellateSurface((uv) => patch.derivatives(uv, 1), [0, 0], [1, 1], 32, 8);
  write("cylinder-patch.obj", meshToObj(patchMesh, "thbspline demo: exact rational quarter cylinder"));
  // the main job: an adaptive THB fit of the bundled sheet-metal scan
  const t1 = performance.now();
  const { cloudPath, cloud, fit } = fitDemoCloud();
  const fitSeconds = (performance.now() - t1) / 1000;
  write("deepdrawing-fit.json", fieldToJson(fit.surface));
  write("deepdrawing-fit.report.json", `${JSON.stringify(fit.report, null, 1)}\n`);
  write(
    "deepdrawing-fit.obj",
    meshToObj(surfaceMesh(fit.surface, 96), "thbspline demo: adaptive THB fit of deepdrawingC.xml"),
  );
  checkOutputPaths(outputs);
  // the registration of the bundled pair, as `thb register` writes it (dense maps for a look at the result)
  const images = demoImagePaths();
  mkdirSync(dir, { recursive: true });
  const staging = join(dir, `.registration.${randomBytes(6).toString("hex")}.new`);
  const { runRegister } = await import("./register.js");
  await runRegister(images.fixed, images.moving, {
    out: staging,
    quiet: true,
    writeJacobian: true,
    writeCheckerboard: true,
  });
  const registration = join(dir, "registration");
  try {
    writeFilesAtomic(outputs);
    const old = `${staging}.old`;
    if (existsSync(registration)) renameSync(registration, old);
    renameSync(staging, registration);
    rmSync(old, { recursive: true, force: true });
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
  const summary = JSON.parse(readFileSync(join(registration, "summary.json"), "utf8"));
  const written = [
    ...outputs.map((o) => o.path),
    ...readdirSync(registration)
      .sort()
      .map((name) => join(registration, name)),
  ];
  log(`Evaluated a bicubic surface at ${97 * 97} points with normals in ${ms.toFixed(1)} ms.`);
  const f = fit.report.final;
  log(
    `Fitted ${cloud.points.length / 3} points of deepdrawingC.xml: ${f.levels} levels, ${f.dofs} functions, max error ${f.maxError.toFixed(3)}, RMS ${f.rmsError.toFixed(3)} in ${fitSeconds.toFixed(1)} s.`,
  );
  log(
    `Registered the bundled ITK brain slices (221×257): MSE ${summary.metricBefore.toFixed(1)} → ${summary.metricAfter.toFixed(2)}, folding ${(100 * summary.foldingFraction).toFixed(2)} %, ${summary.seconds.optimisation.toFixed(2)} s of optimisation; results (warped.png, checkerboard.png, jacobian.png, transform.json, summary.json) in ${shortPath(registration)}`,
  );
  log("Wrote:");
  for (const path of written) log(`  ${path}`);
  const view = /\.ts$/.test(process.argv[1] ?? "") ? "npm run view --" : "thb view";
  log(
    `Open the fit in the viewer: ${view} ${relative(process.cwd(), join(dir, "deepdrawing-fit.json"))} --points ${relative(process.cwd(), cloudPath)}`,
  );
  return written;
}
