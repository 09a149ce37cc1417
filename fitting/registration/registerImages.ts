/**
 * Deformable image registration with an adaptive THB free-form deformation (browser-safe: no Node imports).
 * warped(x) = M(x + u(x)), u a cubic vector THB field over the fixed image's domain; coarse to fine over a
 * Gaussian pyramid, L-BFGS on SSD + bending energy at each level; between levels the displacement grid is
 * refined — where the residual is high (adaptive, Dörfler marking) or everywhere (uniform, elastix's grid
 * doubling) — and the field carried over exactly (THBField.carryOverTo), so no level starts from scratch.
 * `backend` chooses where each level's loss runs: the fused f64 CPU loss (default), or the metric and its
 * gradient on a WebGPU device in f32 (gpuLevelLoss.ts); the initial alignment, the optimiser's state, the
 * regularisers and the final resampling stay on the CPU in f64.
 */
import { type MinimizeOptions, minimizeFunction, minimizeFunctionAsync } from "../../autodiff/optimize.js";
import { DisplacementTransform, frameToMovingIndex } from "../../fields/displacementTransform.js";
import { checkImage, type Image, type ImageGeometry } from "../../fields/image.js";
import { THBField } from "../../fields/thbField.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import type { Interpolation } from "../../kernels/cpu/imageKernels.js";
import { localControl } from "../../kernels/cpu/planEvaluate.js";
import {
  gridJacobianDeterminant,
  pixelBlocks,
  type WarpImage,
  warpForward,
  warpValues,
} from "../../kernels/cpu/warpKernel.js";
import type { WarpHelper } from "../../kernels/cpu/warpThreads.js";
import { ArgumentError } from "../../linalg/errors.js";
import type { Backend, BackendKind } from "../../primitives/backend.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { type FusedLevelLoss, fusedLevelLoss } from "./fusedLevelLoss.js";
import { gpuLevelLoss } from "./gpuLevelLoss.js";
import { type InitialAlignmentReport, type InitialKind, initialAlignment } from "./initialAlignment.js";
import type { LevelData, Metric } from "./levelLoss.js";
import { dorflerMarking, elementRequests, withNeighbours } from "./marking.js";
import { type PyramidLevel, pyramidLevel } from "./pyramid.js";

/** Refinement schedules between pyramid levels. */
export type RefineSchedule = "adaptive" | "uniform" | "none";

/** Options of registerImages. */
export interface RegistrationOptions {
  /**
   * Similarity metric (default "ssd", mean squares): "ncc" normalised cross-correlation, "mi" mutual
   * information (32-bin Parzen joint histogram) for pairs of different modalities.
   */
  metric?: Metric;
  /** Final control grid spacing in mm (default 16); the coarsest is this × 2^(levels−1) unless refine is "none". */
  gridSpacing?: number;
  /** Pyramid levels (default 3): factors 2^(levels−1) … 1. */
  levels?: number;
  /** Refinement between levels (default "adaptive"). */
  refine?: RefineSchedule;
  /** Share of the residual the marked elements hold (Dörfler θ, default 0.7), for adaptive refinement. */
  markFraction?: number;
  /**
   * Weight W of the bending energy (default 0: off). Units: the metric's per mm² — for SSD on 8-bit images
   * (intensity² · mm²) weights from about 1e4 change the result; on the ITK pair 1e5 moved the MSE by 0.02.
   */
  bending?: number;
  /**
   * L-BFGS iterations at most per level, or a list with one entry per level (default 20; in 3D 5 on the
   * coarser levels and 20 at full resolution).
   */
  iterations?: number | number[];
  /** Degree of the displacement field per direction (default 3). */
  degree?: number;
  /**
   * Interpolation of the moving image while optimising, for every level or a list with one entry per level
   * (default "cubic" in 2D: the interpolating cubic B-spline, whose gradient is continuous; in 3D "linear" on
   * the coarser levels, where cubic's 64 taps a voxel buy little, and "cubic" at full resolution: linear
   * interpolation's own error pulls the optimum off the true warp — on the 3D phantom, resampling with the
   * true displacement leaves an MSE of 0.36 linear against 0.0001 cubic, and the final MSE went 0.073 → 0.011).
   */
  interpolation?: Interpolation | Interpolation[];
  /**
   * At the full-resolution level the metric uses every `sampleStride`-th pixel along each axis (default 1 in
   * 2D; in 3D defaultSampleStride: up to 4 while 16,384 voxels or more remain): a regular subset of unsmoothed pixels, which keeps the element-block kernels. A coarser
   * level of factor f uses every f-th pixel (smoothed), or every f·⌊sampleStride / f⌋-th when sampleStride
   * ≥ 2f, so no level compares many more pixels than the finest (3D default at 128×128×64: 16k per level).
   */
  sampleStride?: number;
  /** Interpolation of the final resampling (the returned warped image and metricAfter; default "cubic"). */
  finalInterpolation?: Interpolation;
  /**
   * Pixels per level the loss uses (default 0: all): a random subset, fixed for the level, drawn from
   * `seed` — runs are repeatable bit for bit. Levels with fewer pixels use them all.
   */
  samples?: number;
  /** Seed of the pixel subsets (default 0). */
  seed?: number;
  /**
   * Initial alignment before the deformable levels (default "affine": moments-based centring, then a rigid
   * and an affine stage; see initialAlignment.ts); "rigid" stops after the rigid stage, "none" skips it.
   */
  initial?: InitialKind;
  /**
   * Exponent p of the diagonal scaling of the optimiser's variables at each level (default 0.3 in 2D, 0 in 3D:
   * off): the optimiser works on z = c ⊘ s with s_j = (max(h_j, 0.1 h̄) / h̄)^−p, h the lumped Gauss–Newton
   * diagonal of the level's loss at its start (FusedLevelLoss.curvature), h̄ its mean. p = 0.5 would be
   * Jacobi scaling; the partial power and the floor level the curvature of busy and flat, coarse and fine
   * functions only part way. On the ITK pair 0.3 took the MSE after 20 iterations per level from 19.98 to
   * 19.92 (min det J 0.82); 0.5, or a floor of 0.001 h̄, let functions over flat or clamped regions move so far
   * that the synthetic pairs of the tests folded.
   */
  precondition?: number;
  /** Optimiser of the deformable levels (default "lbfgs"; "adam" with a step of 0.2 % of the finest element size). */
  optimizer?: "lbfgs" | "adam";
  /**
   * A mask on the fixed image's grid (same size; non-zero = inside): only pixels inside count in the metric
   * (and in the marking residual). Default: every pixel counts.
   */
  fixedMask?: Image;
  /**
   * Weight of the penalty mean max(0, τ − det J)² over every element's Gauss points (default 0: off), τ =
   * jacobianThreshold: keeps the transform away from folding.
   */
  jacobianPenalty?: number;
  /** τ of the det J penalty (default 0.1). */
  jacobianThreshold?: number;
  /**
   * Where the loss runs (default: the CPU, f64): the `webgpu` backend (`webgpuBackend(await requestWebGPU())`
   * from `thbspline/webgpu`, or `selectBackend({ prefer: "webgpu" })`) evaluates every level's metric and its
   * gradient with the WGSL kernels in f32 (ssd, ncc and mi). The caller owns it (and disposes it).
   */
  backend?: Backend;
  /**
   * A second thread for the CPU loss (`startWarpThread()` from `thbspline/node`; a Web Worker serving
   * kernels/cpu/warpThreads.ts's serveWarpLevel in a browser): 2D levels of 100,000 pixels or more (SHARED_PASS_PIXELS) with
   * a bicubic field and cubic sampling share their warp passes with it, for the same result bit for bit; levels that start before it is ready run on one
   * thread. The caller owns it (and disposes it).
   */
  helperThread?: WarpHelper;
  /** Called after every L-BFGS iteration. */
  onProgress?: (progress: RegistrationProgress) => void;
  /** Stops at the next iteration; the result holds the transform reached so far. */
  signal?: AbortSignal;
}

/** One L-BFGS iteration, as onProgress and the report see it. */
export interface RegistrationProgress {
  level: number;
  iteration: number;
  /** Total loss: metric + bending · regularizer. */
  loss: number;
  metric: number;
  regularizer: number;
  gradientNorm: number;
  dofs: number;
  milliseconds: number;
}

/** Per pyramid level. */
export interface LevelReport {
  level: number;
  factor: number;
  dofs: number;
  elements: number;
  iterations: number;
  /** Loss and gradient evaluations (line-search trials included). */
  evaluations: number;
  reason: string;
  metric: number;
  seconds: number;
}

/** What registerImages reports. */
export interface RegistrationReport {
  /** Mean squared difference of the moving image (resampled on the fixed grid) and the fixed image. */
  metricBefore: number;
  metricAfter: number;
  levels: LevelReport[];
  iterations: RegistrationProgress[];
  dofsPerLevel: number[];
  aborted: boolean;
  /** The initial alignment's stages (metric on its coarse level after each, milliseconds). */
  initial: InitialAlignmentReport;
  /** Share of fixed-grid pixels where det J ≤ 0 (exact first derivatives of the field at every pixel). */
  foldingFraction: number;
  minJacobian: number;
  maxJacobian: number;
  optimisationSeconds: number;
  /** 2 when some level shared its warp passes with `helperThread`, else 1. */
  threads: number;
  options: Required<
    Omit<RegistrationOptions, "onProgress" | "signal" | "fixedMask" | "backend" | "helperThread">
  > & {
    fixedMask: boolean;
    /** The backend the loss ran on. */
    backend: BackendKind;
  };
}

/** What registerImages returns. */
export interface RegistrationResult {
  transform: DisplacementTransform;
  /** The moving image resampled on the fixed grid through the transform (options.interpolation). */
  warped: Image;
  report: RegistrationReport;
  /** det J of the transform at every pixel of the fixed grid (`#pixels`, first axis fastest). */
  jacobianDeterminant: Float64Array;
}

const DEFAULTS = {
  metric: "ssd" as Metric,
  gridSpacing: 16,
  levels: 3,
  refine: "adaptive" as RefineSchedule,
  markFraction: 0.7,
  bending: 0,
  iterations: 20 as number | number[],
  degree: 3,
  interpolation: "cubic" as Interpolation,
  finalInterpolation: "cubic" as Interpolation,
  samples: 0,
  seed: 0,
  initial: "affine" as InitialKind,
  optimizer: "lbfgs" as "lbfgs" | "adam",
  jacobianPenalty: 0,
  jacobianThreshold: 0.1,
};

function checkOptions(options: RegistrationOptions, size: readonly number[]): RegistrationReport["options"] {
  const d = size.length;
  const levels = options.levels ?? DEFAULTS.levels;
  const byDimension =
    d === 3
      ? {
          ...perLevel3D(Number.isInteger(levels) && levels >= 1 ? Math.min(levels, 8) : 1, size),
          precondition: 0,
        }
      : { sampleStride: 1, precondition: 0.3 };
  const o = { ...DEFAULTS, ...byDimension, ...withoutUndefined(options) };
  const fail = (name: string, expected: string, value: unknown) => {
    throw new ArgumentError(`options.${name} must be ${expected}, got ${JSON.stringify(value)}`);
  };
  if (!["ssd", "ncc", "mi"].includes(o.metric)) fail("metric", '"ssd", "ncc" or "mi"', o.metric);
  if (!(o.gridSpacing > 0) || !Number.isFinite(o.gridSpacing))
    fail("gridSpacing", "a positive number of mm", o.gridSpacing);
  if (!Number.isInteger(o.levels) || o.levels < 1 || o.levels > 8)
    fail("levels", "an integer from 1 to 8", o.levels);
  if (!["adaptive", "uniform", "none"].includes(o.refine))
    fail("refine", '"adaptive", "uniform" or "none"', o.refine);
  if (!(o.markFraction > 0 && o.markFraction <= 1))
    fail("markFraction", "a number in (0, 1]", o.markFraction);
  if (!(o.bending >= 0) || !Number.isFinite(o.bending)) fail("bending", "a non-negative number", o.bending);
  const iterationsPerLevel = Array.isArray(o.iterations) ? o.iterations : [o.iterations];
  if (
    (Array.isArray(o.iterations) && o.iterations.length !== o.levels) ||
    !iterationsPerLevel.every((n) => Number.isInteger(n) && n >= 0)
  )
    fail("iterations", `a non-negative integer or a list of ${o.levels} of them`, o.iterations);
  if (!Number.isInteger(o.degree) || o.degree < 2 || o.degree > 5)
    fail("degree", "an integer from 2 to 5", o.degree);
  const kinds = Array.isArray(o.interpolation) ? o.interpolation : [o.interpolation];
  if (
    (Array.isArray(o.interpolation) && o.interpolation.length !== o.levels) ||
    !kinds.every((k) => k === "linear" || k === "cubic")
  )
    fail("interpolation", `"linear" or "cubic", or a list of ${o.levels} of them`, o.interpolation);
  if (o.finalInterpolation !== "linear" && o.finalInterpolation !== "cubic")
    fail("finalInterpolation", '"linear" or "cubic"', o.finalInterpolation);
  if (!Number.isInteger(o.seed)) fail("seed", "an integer", o.seed);
  if (!Number.isInteger(o.sampleStride) || o.sampleStride < 1 || o.sampleStride > 8)
    fail("sampleStride", "an integer from 1 to 8", o.sampleStride);
  if (!Number.isInteger(o.samples) || o.samples < 0) fail("samples", "a non-negative integer", o.samples);
  if (!["none", "rigid", "affine"].includes(o.initial))
    fail("initial", '"none", "rigid" or "affine"', o.initial);
  if (o.optimizer !== "lbfgs" && o.optimizer !== "adam") fail("optimizer", '"lbfgs" or "adam"', o.optimizer);
  if (!(o.precondition >= 0 && o.precondition <= 1))
    fail("precondition", "a number in [0, 1]", o.precondition);
  if (!(o.jacobianPenalty >= 0) || !Number.isFinite(o.jacobianPenalty))
    fail("jacobianPenalty", "a non-negative weight", o.jacobianPenalty);
  if (!(o.jacobianThreshold < 1) || !Number.isFinite(o.jacobianThreshold))
    fail("jacobianThreshold", "a number below 1", o.jacobianThreshold);
  const {
    onProgress: _p,
    signal: _s,
    helperThread: _h,
    fixedMask,
    backend,
    ...rest
  } = o as typeof o &
    Pick<RegistrationOptions, "onProgress" | "signal" | "fixedMask" | "backend" | "helperThread">;
  if (
    backend !== undefined &&
    !(backend?.name === "cpu" || (backend?.name === "webgpu" && backend.tensors !== undefined))
  )
    fail("backend", "a Backend (cpuBackend, or a webgpu backend with its device tensors)", backend?.name);
  return { ...rest, fixedMask: fixedMask !== undefined, backend: backend?.name ?? "cpu" };
}

/**
 * The 3D defaults per level: linear interpolation and 5 iterations on every coarser level, cubic and 20 at
 * full resolution, on every defaultSampleStride-th voxel per axis. The coarse levels only bring the field
 * near; iterating them longer ended further from the truth (on three generated 128×128×64 pairs, coarse
 * levels at 20 iterations: MSE 0.011, 0.0073, 0.0031; at 10: 0.0067, 0.0040, 0.0017; at 5: 0.0036, 0.0022,
 * 0.0007) and costs time.
 */
function perLevel3D(
  levels: number,
  size: readonly number[],
): { interpolation: Interpolation[]; iterations: number[]; sampleStride: number } {
  const last = (l: number) => l === levels - 1;
  return {
    interpolation: Array.from({ length: levels }, (_, l): Interpolation => (last(l) ? "cubic" : "linear")),
    iterations: Array.from({ length: levels }, (_, l) => (last(l) ? 20 : 5)),
    sampleStride: defaultSampleStride(size),
  };
}

/**
 * The 3D default sampleStride for a fixed image of `size`: the largest stride up to 4 that still keeps
 * 16,384 voxels or more (128×128×64: 4, every 4th voxel; small volumes: 1, all of them). On the 128×128×64
 * phantom every 4th voxel reached MSE 0.0038 against 0.0036 for every 3rd (41k voxels).
 */
export function defaultSampleStride(size: readonly number[]): number {
  for (let stride = 4; stride > 1; stride--) {
    const kept = size.reduce((a, n) => a * (Math.floor((n - 1) / stride) + 1), 1);
    if (kept >= 16384) return stride;
  }
  return 1;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The zero displacement on the fixed image's domain with elements of about `spacing` mm. */
function initialField(fixed: ImageGeometry, spacing: number, degree: number): THBField {
  const d = fixed.size.length;
  const knots = fixed.size.map((n, k) => {
    const extent = (n - 1) * fixed.spacing[k];
    return uniformKnotVector(degree, Math.max(1, Math.round(extent / spacing)), 0, extent);
  });
  const space = THBSpace.create({ degrees: new Array(d).fill(degree), knots, maxLevels: 12 });
  return THBField.zeros(space, d);
}

/** The finest element size of a field per axis (mm): its finest level's knot span. */
function elementSize(field: THBField): number[] {
  const space = field.space;
  const finest = space.levelCount - 1;
  return Array.from(space.lower, (lo, k) => (space.upper[k] - lo) / space.level(finest, k).cells);
}

/** Mean squared difference of two equally long arrays. */
export function meanSquaredDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return s / a.length;
}

/** `count` distinct ids below `total`, ascending, drawn by a seeded partial Fisher–Yates shuffle (mulberry32). */
export function sampleIndices(total: number, count: number, seed: number): Int32Array {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const ids = new Int32Array(total);
  for (let i = 0; i < total; i++) ids[i] = i;
  for (let i = 0; i < count; i++) {
    const j = i + Math.floor(random() * (total - i));
    const swap = ids[i];
    ids[i] = ids[j];
    ids[j] = swap;
  }
  return ids.slice(0, count).sort();
}

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * Registers `moving` onto `fixed` (2D or 3D images of the same dimension, any geometry): returns the
 * transform (fixed physical point → moving physical point), the moving image resampled on the fixed grid,
 * and a report of every level and iteration.
 */
export async function registerImages(
  fixed: Image,
  moving: Image,
  options: RegistrationOptions = {},
): Promise<RegistrationResult> {
  const d = checkImage(fixed, "fixed image");
  const dm = checkImage(moving, "moving image");
  if (d !== dm)
    throw new ArgumentError(`fixed image is ${d}D but moving image is ${dm}D: expected the same dimension`);
  for (const [name, image] of [
    ["fixed", fixed],
    ["moving", moving],
  ] as const) {
    if (image.size.some((n) => n < 4))
      throw new ArgumentError(
        `${name} image is ${image.size.join("×")}: expected at least 4 pixels per axis`,
      );
  }
  const o = checkOptions(options, fixed.size);
  const gpu = options.backend?.name === "webgpu" ? options.backend.tensors : undefined;
  const mask = options.fixedMask ? maskOf(options.fixedMask, fixed) : undefined;
  const start = performance.now();
  const initial = initialAlignment(fixed, moving, {
    kind: o.initial,
    metric: o.metric,
    fixedMask: mask,
    signal: options.signal,
  });
  const levels = o.levels;
  const coarsest = o.refine === "none" ? o.gridSpacing : o.gridSpacing * 2 ** (levels - 1);
  let field = initialField(fixed, coarsest, o.degree);
  const fixedValues = Float64Array.from(fixed.data);
  const movingValues = Float64Array.from(moving.data);
  const report: RegistrationReport = {
    metricBefore: Number.NaN,
    metricAfter: Number.NaN,
    levels: [],
    iterations: [],
    dofsPerLevel: [],
    aborted: false,
    initial: initial.report,
    foldingFraction: Number.NaN,
    minJacobian: Number.NaN,
    maxJacobian: Number.NaN,
    optimisationSeconds: 0,
    threads: 1,
    options: o,
  };
  let indicator: Float64Array | undefined;
  // the full-resolution moving image's cubic coefficients, computed once for the last level and the result
  let coefficientsOfMoving: Float64Array | undefined;
  const fullCoefficients = () => {
    coefficientsOfMoving ??= cubicBSplineCoefficients(movingValues, moving.size);
    return coefficientsOfMoving;
  };
  let finest: { blocks: ReturnType<typeof fusedLevelLoss>["blocks"]; plan: THBField["plan"] } | undefined;
  // the level whose loss may hold the helper thread
  let current: ReturnType<typeof fusedLevelLoss> | ReturnType<typeof gpuLevelLoss> | undefined;
  try {
    for (let level = 0; level < levels && !options.signal?.aborted; level++) {
      const factor = 2 ** (levels - 1 - level);
      if (level > 0 && o.refine !== "none") field = refine(field, indicator, o.refine, o.markFraction);
      const levelStart = performance.now();
      // the fixed pixels compared: at full resolution every sampleStride-th one (unsmoothed); on a coarser level
      // every factor-th one (smoothed), or every sampleStride-th when that is sparser (a multiple of the factor)
      const stride =
        factor === 1 ? o.sampleStride : factor * Math.max(1, Math.floor(o.sampleStride / factor));
      const fixedLevel =
        factor === 1 ? strided(fixed, fixedValues, stride) : pyramidLevel(fixed, fixedValues, factor, stride);
      const movingLevel =
        factor === 1
          ? { geometry: moving, values: movingValues, factor }
          : pyramidLevel(moving, movingValues, factor);
      const interpolation = Array.isArray(o.interpolation) ? o.interpolation[level] : o.interpolation;
      const movingCoefficients =
        interpolation !== "cubic"
          ? movingLevel.values
          : factor === 1
            ? fullCoefficients()
            : cubicBSplineCoefficients(movingLevel.values, movingLevel.geometry.size);
      const levelMask = mask ? maskLevel(mask, fixed.size, fixedLevel.geometry.size, stride) : undefined;
      const data: LevelData = {
        gridOrigin: new Array(d).fill(0),
        gridSpacing: fixedLevel.geometry.spacing,
        gridCounts: fixedLevel.geometry.size,
        fixedValues: fixedLevel.values,
        moving: {
          size: movingLevel.geometry.size,
          values: movingCoefficients,
        },
        frameToMoving: frameToMovingIndex(fixed, movingLevel.geometry, initial.affine),
        samples:
          o.samples > 0
            ? levelSamples(fixedLevel.values.length, levelMask, o.samples, o.seed + level)
            : undefined,
        mask: levelMask,
      };
      const plan = field.plan;
      const lossOptions = {
        metric: o.metric,
        interpolation,
        bending: o.bending,
        jacobianWeight: o.jacobianPenalty,
        jacobianThreshold: o.jacobianThreshold,
      };
      const objective = gpu
        ? gpuLevelLoss(gpu, plan, data, lossOptions)
        : fusedLevelLoss(
            plan,
            data,
            lossOptions,
            options.helperThread?.ready() ? options.helperThread : undefined,
          );
      current = objective;
      if ("threads" in objective) report.threads = Math.max(report.threads, objective.threads);
      const dofs = field.control.length;
      let evaluations = 0;
      const recent: { value: number; metric: number; regularizer: number }[] = [];
      // after each evaluation: its parts, for the iteration log
      const counted = (value: number) => {
        evaluations++;
        recent.push({ value, metric: objective.parts.metric, regularizer: objective.parts.regularizer });
        if (recent.length > 64) recent.shift();
        return value;
      };
      const partsOf = (value: number) => {
        for (let i = recent.length - 1; i >= 0; i--) if (recent[i].value === value) return recent[i];
        return { metric: Number.NaN, regularizer: Number.NaN };
      };
      // the optimiser works on z = c ⊘ scale (see options.precondition); the scale comes from the CPU loss's
      // curvature on both backends, so the GPU walks the same variables as the CPU
      const scale =
        o.precondition > 0
          ? variableScale(
              "release" in objective ? fusedLevelLoss(plan, data, lossOptions) : objective,
              field.control,
              o.precondition,
            )
          : undefined;
      const control = new Float64Array(dofs);
      const toControl = (z: Float64Array) => {
        if (!scale) return z;
        for (let i = 0; i < dofs; i++) control[i] = z[i] * scale[i];
        return control;
      };
      const scaled = (value: number, gradient: Float64Array) => {
        if (scale) for (let i = 0; i < dofs; i++) gradient[i] *= scale[i];
        return counted(value);
      };
      const z0 = scale ? Float64Array.from(field.control, (c, i) => c / scale[i]) : field.control;
      const settings: MinimizeOptions = {
        maxIterations: Array.isArray(o.iterations) ? o.iterations[level] : o.iterations,
        method: o.optimizer,
        learningRate: 0.002 * Math.min(...elementSize(field)),
        tolerance: 1e-8,
        signal: options.signal,
        onIteration: (entry) => {
          const parts = partsOf(entry.value);
          const progress: RegistrationProgress = {
            level,
            iteration: entry.iteration,
            loss: entry.value,
            metric: parts.metric,
            regularizer: parts.regularizer,
            gradientNorm: entry.gradientNorm,
            dofs,
            milliseconds: performance.now() - start,
          };
          report.iterations.push(progress);
          options.onProgress?.(progress);
        },
      };
      const result =
        "release" in objective
          ? await minimizeFunctionAsync(
              async (z, gradient) => scaled(await objective.evaluate(toControl(z), gradient), gradient),
              z0,
              settings,
            )
          : minimizeFunction(
              (z, gradient) => scaled(objective.evaluate(toControl(z), gradient), gradient),
              z0,
              settings,
            );
      field = new THBField(
        field.space,
        scale ? Float64Array.from(result.x, (z, i) => z * scale[i]) : result.x,
        d,
        plan,
      );
      if (level < levels - 1 && o.refine === "adaptive")
        indicator = await objective.residualPerElement(field.control);
      else indicator = undefined;
      // the level's device buffers back to the pool (after an error, backend.dispose() frees them with the device)
      if ("release" in objective) objective.release();
      else objective.endLevel();
      if (factor === 1 && stride === 1) finest = { blocks: objective.blocks, plan };
      report.dofsPerLevel.push(dofs);
      report.levels.push({
        level,
        factor,
        dofs,
        elements: plan.elementCount,
        iterations: result.iterations,
        evaluations,
        reason: result.reason,
        metric: partsOf(result.value).metric,
        seconds: (performance.now() - levelStart) / 1000,
      });
      if (result.reason === "aborted") report.aborted = true;
      if (options.onProgress) await yieldToEventLoop();
    }
  } finally {
    // a level left by an error: its helper thread back to waiting for the next level
    if (current && "endLevel" in current) current.endLevel();
  }
  if (options.signal?.aborted) report.aborted = true;
  const transform = new DisplacementTransform(fixed, field, initial.affine);
  // the final resampling and the metrics on the fixed grid, with the warp kernel on the finest level's blocks
  const blocks =
    finest && finest.plan === field.plan
      ? finest.blocks
      : pixelBlocks(field.plan, new Array(d).fill(0), fixed.spacing, fixed.size);
  // before: the images as given (no initial alignment); after: through A and the field
  const identityToMoving = frameToMovingIndex(fixed, moving);
  const frameToMoving = frameToMovingIndex(fixed, moving, initial.affine);
  const total = fixedValues.length;
  const local = new Float64Array(field.plan.elementCount * field.plan.localSize * d);
  const du = new Float64Array(total * d);
  const before = new Float64Array(total);
  if (sameGrid(fixed, moving, identityToMoving))
    report.metricBefore = meanSquaredDifference(movingValues, fixedValues);
  else {
    warpForward(
      field.plan,
      blocks,
      local,
      warpImage(moving.size, movingValues, "linear", identityToMoving),
      before,
      du,
    );
    report.metricBefore = meanSquaredDifference(before, fixedValues);
  }
  localControl(field.plan, field.control, d, local);
  const warpedValues = new Float64Array(total);
  const coefficients = o.finalInterpolation === "cubic" ? fullCoefficients() : movingValues;
  warpValues(
    field.plan,
    blocks,
    local,
    warpImage(moving.size, coefficients, o.finalInterpolation, frameToMoving),
    warpedValues,
    du,
  );
  const warped: Image = { ...transform.fixed, data: warpedValues };
  report.metricAfter = meanSquaredDifference(warpedValues, fixedValues);
  // det J at every pixel reuses the warp's buffer: the values are no longer needed
  const jacobianDeterminant = gridJacobianDeterminant(field.plan, blocks, local, before);
  // T(x) = A(x + u(x)): det J = det A · det(I + Du)
  const affineDeterminant = transform.affineDeterminant;
  if (affineDeterminant !== 1) for (let t = 0; t < total; t++) jacobianDeterminant[t] *= affineDeterminant;
  let folded = 0;
  report.minJacobian = Number.POSITIVE_INFINITY;
  report.maxJacobian = Number.NEGATIVE_INFINITY;
  for (let t = 0; t < total; t++) {
    const v = jacobianDeterminant[t];
    if (v <= 0) folded++;
    if (v < report.minJacobian) report.minJacobian = v;
    if (v > report.maxJacobian) report.maxJacobian = v;
  }
  report.foldingFraction = folded / total;
  report.optimisationSeconds = (performance.now() - start) / 1000;
  return { transform, warped, report, jacobianDeterminant };
}

/**
 * A moving image for the warp kernels, built in the same shape as the levels' (fusedLevelLoss.ts): a second
 * object shape (the image spread with its geometry) deoptimised the warp pass once more for the final
 * resampling.
 */
function warpImage(
  size: readonly number[],
  values: Float64Array,
  interpolation: Interpolation,
  frameToMoving: Float64Array,
): WarpImage {
  return { size, values, interpolation, frameToMoving };
}

/**
 * Whether the moving image's pixels sit on the fixed image's (same size, and the frame → moving-index map
 * `toMoving` is ξ ↦ ξ / spacing): then the images compare pixel by pixel without resampling.
 */
function sameGrid(fixed: ImageGeometry, moving: ImageGeometry, toMoving: Float64Array): boolean {
  const d = fixed.size.length;
  if (moving.size.some((n, k) => n !== fixed.size[k])) return false;
  for (let c = 0; c <= d; c++)
    for (let r = 0; r <= d; r++) {
      const expected = r === c ? (r < d ? 1 / fixed.spacing[r] : 1) : 0;
      if (Math.abs(toMoving[c * (d + 1) + r] - expected) > 1e-12 * Math.max(1, Math.abs(expected)))
        return false;
    }
  return true;
}

/** Every `stride`-th pixel of an image along each axis, from pixel 0 (no smoothing), as a pyramid level. */
function strided(geometry: ImageGeometry, values: Float64Array, stride: number): PyramidLevel {
  if (stride === 1) return { geometry, values, factor: 1 };
  const size = geometry.size.map((n) => Math.floor((n - 1) / stride) + 1);
  const out = everyNth(
    values,
    geometry.size,
    size,
    stride,
    new Float64Array(size.reduce((a, n) => a * n, 1)),
  );
  return {
    geometry: { ...geometry, size, spacing: geometry.spacing.map((s) => s * stride) },
    values: out,
    factor: stride,
  };
}

/** The pixels at every `stride`-th index along each axis (from 0) of an image of `size`, into out. */
function everyNth<T extends Float64Array | Uint8Array>(
  values: ArrayLike<number>,
  size: readonly number[],
  levelSize: readonly number[],
  stride: number,
  out: T,
): T {
  const [nx, ny] = size;
  const [mx, my] = levelSize;
  const mz = levelSize[2] ?? 1;
  let o = 0;
  for (let k = 0; k < mz; k++)
    for (let j = 0; j < my; j++)
      for (let i = 0; i < mx; i++) out[o++] = values[i * stride + nx * (j * stride + ny * k * stride)];
  return out;
}

/** The fixed mask as 0/1 per pixel, checked against the fixed image. */
function maskOf(mask: Image, fixed: Image): Uint8Array {
  if (mask.size.length !== fixed.size.length || mask.size.some((n, k) => n !== fixed.size[k]))
    throw new ArgumentError(
      `fixedMask is ${mask.size.join("×")} pixels, expected the fixed image's ${fixed.size.join("×")}`,
    );
  const out = Uint8Array.from(mask.data, (v) => (v !== 0 ? 1 : 0));
  if (!out.includes(1))
    throw new ArgumentError("fixedMask has no pixel inside (all zero): nothing to compare");
  return out;
}

/** The mask on a pyramid level: the full-resolution mask at the pixels the level keeps (every factor-th). */
function maskLevel(
  mask: Uint8Array,
  size: readonly number[],
  levelSize: readonly number[],
  factor: number,
): Uint8Array {
  if (factor === 1) return mask;
  const out = everyNth(mask, size, levelSize, factor, new Uint8Array(levelSize.reduce((a, n) => a * n, 1)));
  // a level whose sampled pixels all fall outside a thin mask still needs something to compare
  return out.includes(1) ? out : new Uint8Array(out.length).fill(1);
}

/** The level's random pixel subset: `count` ids among the masked pixels (all of them when fewer). */
function levelSamples(
  total: number,
  mask: Uint8Array | undefined,
  count: number,
  seed: number,
): Int32Array | undefined {
  const pool = mask ? Int32Array.from(mask.keys()).filter((t) => mask[t] === 1) : undefined;
  const available = pool ? pool.length : total;
  if (count >= available) return pool;
  const ids = sampleIndices(available, count, seed);
  return pool ? Int32Array.from(ids, (i) => pool[i]).sort() : ids;
}

/**
 * The scale s of the optimiser's variables, c = s ⊙ z: s_j = (max(h_j, 0.1 h̄) / h̄)^−p for the lumped
 * Gauss–Newton diagonal h at `control` and its mean h̄ (the floor bounds the boost of functions over flat
 * regions to 10^p); all ones when the image has no gradient anywhere.
 */
function variableScale(objective: FusedLevelLoss, control: Float64Array, power: number): Float64Array {
  const h = objective.curvature(control);
  let mean = 0;
  for (let i = 0; i < h.length; i++) mean += h[i] / h.length;
  if (!(mean > 0)) return new Float64Array(h.length).fill(1);
  return Float64Array.from(h, (v) => (Math.max(v, 0.1 * mean) / mean) ** -power);
}

/** The next level's field: refined where marked (or everywhere) and carried over exactly. */
function refine(
  field: THBField,
  indicator: Float64Array | undefined,
  schedule: RefineSchedule,
  fraction: number,
): THBField {
  const plan = field.plan;
  const maxLevel = field.space.maxLevels - 1;
  const all = Array.from({ length: plan.elementCount }, (_, e) => e).filter(
    (e) => plan.elementLevel[e] < maxLevel,
  );
  const marked =
    schedule === "uniform" || !indicator
      ? all
      : withNeighbours(plan, dorflerMarking(plan, indicator, fraction, maxLevel)).filter(
          (e) => plan.elementLevel[e] < maxLevel,
        );
  if (marked.length === 0) return field;
  return field.carryOverTo(refineElements(field.space, elementRequests(plan, marked)));
}
