/**
 * Adaptive THB surface fitting: solve → error per element → mark → admissible refinement → carry the
 * solution over exactly (as the next solve's starting point) → solve again, until the tolerance or the limits.
 * Fits surfaces in R³ (x, y, z over parameters) or scalar height fields (z over the normalised (x, y)).
 */
import { THBField } from "../../fields/thbField.js";
import { compile, type EvaluationPlan } from "../../hierarchy/plan.js";
import { refineElementRefs } from "../../hierarchy/refinement.js";
import { type ElementRef, THBSpace } from "../../hierarchy/thbSpace.js";
import { locatePoint } from "../../kernels/cpu/planEvaluate.js";
import { NumericalError } from "../../linalg/errors.js";
import type { Backend } from "../../primitives/backend.js";
import { ArgumentError } from "../../splines/errors.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import {
  correctParameters,
  type FitLoss,
  fitCoefficientsByGradient,
  fitCoefficientsByGradientOnDevice,
  type GradientFitOptions,
} from "./gradientFit.js";
import { assembleNormalEquations, solveNormalEquations } from "./normalEquations.js";
import { projectOntoBestFitPlane } from "./parametrize.js";

/** Options of fitSurface. */
export interface FitOptions {
  /** Degree per direction (default 3). */
  degree?: number;
  /** Level-0 elements per direction (default 4). */
  elements?: number;
  /** Stop when the largest point error is at most this (input units; default: 1e-3 × bounding-box size). */
  tolerance?: number;
  /** Also stop when the RMS error is at most this. */
  rmsTolerance?: number;
  /** Largest number of levels (default 6). */
  maxLevels?: number;
  /** Admissibility class m (default 2). */
  admissibility?: number;
  /** Marking: elements whose worst point error exceeds the tolerance ("threshold", default) or the worst
   * `fraction` of elements by error ("fraction"). */
  marking?: "threshold" | "fraction";
  fraction?: number;
  /** Thin-plate smoothing weight λ, absolute: added to the automatic regularisation (default 0). */
  smoothing?: number;
  /**
   * Automatic thin-plate regularisation β (default 1e-6; 0 turns it off). Each solve adds
   * λ = β · n · (h_u h_v)² / (W_u W_v) times the thin-plate energy, with n points, h the finest element size
   * and W the parameter box: for evenly spread data this is β relative to the data's weight on the finest
   * functions, whatever the units and the depth. It makes the normal equations well posed where functions
   * have little or no data (holes, edges, more functions than points) — they continue the surface smoothly —
   * and leaves well-supported functions almost untouched.
   */
  regularization?: number;
  /** Fit z over (x, y) as a scalar height field instead of a surface in R³. */
  heightField?: boolean;
  /** Solver: "lsq" (sparse normal equations, default) or a gradient method through autodiff. */
  method?: "lsq" | "lbfgs" | "adam";
  /** Data term of the gradient methods (default "l2"); "huber" and "l1" resist outliers. */
  loss?: FitLoss;
  /** Huber threshold δ in input units (default: the tolerance). */
  huberDelta?: number;
  /** Iterations of the gradient method per refinement step (default 200). */
  gradientIterations?: number;
  /** Rounds of parameter correction (foot-point Gauss–Newton) per refinement step (default 0). */
  parameterCorrection?: number;
  /** Most refinement iterations (default 20). */
  maxIterations?: number;
  onProgress?: (iteration: FitIteration) => void;
  signal?: AbortSignal;
}

/** One row of the report. */
export interface FitIteration {
  levels: number;
  dofs: number;
  maxError: number;
  rmsError: number;
  seconds: number;
}

/** The fit: the surface (a THB field over the parameter box) and its report. */
export interface FitResult {
  surface: THBField;
  /** Parameters used per point (`#points by 2`). */
  params: Float64Array;
  report: {
    iterations: FitIteration[];
    final: FitIteration;
    options: Record<string, unknown>;
    notes: string[];
    /**
     * Why the loop stopped: the tolerance was met; the elements over it are on the finest allowed level;
     * the errors left come only from points that share parameters with other points but not their values
     * (no surface can meet them, so no refinement helps: "unresolvable"); the iteration limit; or the signal.
     */
    stopReason: "tolerance" | "maxLevels" | "unresolvable" | "maxIterations" | "aborted";
  };
}

/** A solve the gradient path needs: the loop yields it, and the driver runs it on the host or the GPU. */
interface GradientRequest {
  plan: EvaluationPlan;
  params: Float64Array;
  values: Float64Array;
  dim: number;
  initial: Float64Array;
  options: GradientFitOptions;
}

/** Fits a THB surface to `points  #points by 3` (with optional `params  #points by 2`), on the host. */
export function fitSurface(
  points: Float64Array,
  options: FitOptions & { params?: Float64Array } = {},
): FitResult {
  const loop = fitLoop(points, options, "host (f64)");
  let next = loop.next();
  while (!next.done) {
    const r = next.value;
    next = loop.next(
      fitCoefficientsByGradient(r.plan, r.params, r.values, r.dim, r.initial, r.options).control,
    );
  }
  return next.value;
}

/**
 * fitSurface with a backend: on webgpu, the gradient methods (lbfgs, adam — robust losses) run their
 * forward and backward passes on the GPU. The lsq path stays on the host: its normal equations need f64.
 */
export async function fitSurfaceAsync(
  points: Float64Array,
  options: FitOptions & { params?: Float64Array; backend?: Backend } = {},
): Promise<FitResult> {
  const gpu = options.backend?.tensors;
  const loop = fitLoop(points, options, gpu ? (options.backend?.description ?? "webgpu") : "host (f64)");
  let next = loop.next();
  while (!next.done) {
    const r = next.value;
    const solved = gpu
      ? await fitCoefficientsByGradientOnDevice(gpu, r.plan, r.params, r.values, r.dim, r.initial, r.options)
      : fitCoefficientsByGradient(r.plan, r.params, r.values, r.dim, r.initial, r.options);
    next = loop.next(solved.control);
  }
  return next.value;
}

/** The adaptive loop, yielding each gradient solve to its driver. */
function* fitLoop(
  points: Float64Array,
  options: FitOptions & { params?: Float64Array },
  gradientDevice: string,
): Generator<GradientRequest, FitResult, Float64Array> {
  const n = points.length / 3;
  if (!Number.isInteger(n) || n === 0)
    throw new ArgumentError(`points must hold #points × 3 numbers, got length ${points.length}`);
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i]))
      throw new ArgumentError(
        `points: point ${Math.floor(i / 3)} has a non-finite coordinate (${points[i]})`,
      );
  }
  let extent = 0;
  for (let k = 0; k < 3; k++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      lo = Math.min(lo, points[3 * i + k]);
      hi = Math.max(hi, points[3 * i + k]);
    }
    extent = Math.max(extent, hi - lo);
  }
  // squared distances of such clouds overflow: every error and residual (and the plane fit) would be NaN
  if (!Number.isFinite(extent * extent))
    throw new ArgumentError(
      `the cloud's extent (${extent}) is too large to square in double precision: rescale the points`,
    );
  if (options.smoothing !== undefined && !(options.smoothing >= 0 && Number.isFinite(options.smoothing)))
    throw new ArgumentError(`smoothing must be a finite number ≥ 0, got ${options.smoothing}`);
  const degree = options.degree ?? 3;
  const elements = options.elements ?? 4;
  const heightField = options.heightField ?? false;
  const notes: string[] = [];
  let params: Float64Array;
  if (heightField) {
    params = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      params[2 * i] = points[3 * i];
      params[2 * i + 1] = points[3 * i + 1];
    }
  } else if (options.params) {
    if (options.params.length !== 2 * n)
      throw new ArgumentError(
        `params must hold #points × 2 = ${2 * n} numbers, got ${options.params.length}`,
      );
    params = Float64Array.from(options.params);
  } else {
    params = projectOntoBestFitPlane(points);
    notes.push("parameters by projection onto the best-fit plane (right for height-field-like clouds)");
  }
  const lower = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const upper = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) {
      const x = params[2 * i + k];
      if (!Number.isFinite(x))
        throw new ArgumentError(`params: point ${i} has a non-finite parameter (${x})`);
      lower[k] = Math.min(lower[k], x);
      upper[k] = Math.max(upper[k], x);
    }
  }
  const span = Math.max(upper[0] - lower[0], upper[1] - lower[1]);
  if (!Number.isFinite(span * span))
    throw new ArgumentError(`the parameter range (${span}) is too large to square in double precision`);
  for (let k = 0; k < 2; k++) {
    if (!(upper[k] - lower[k] > 1e-9 * span)) {
      throw new ArgumentError(
        `the points' parameters are all equal along direction ${k}${heightField ? ` (${k ? "y" : "x"})` : ""}: the cloud is collinear or degenerate, so no surface is determined`,
      );
    }
  }
  const dim = heightField ? 1 : 3;
  const values = heightField ? Float64Array.from({ length: n }, (_, i) => points[3 * i + 2]) : points;
  const groups = parameterGroups(params);
  notes.push(...duplicateNotes(groups, values, dim));
  const conflictSpread = conflictingSpread(groups, values, dim);
  const tolerance = options.tolerance ?? 1e-3 * extent;
  const maxLevels = options.maxLevels ?? 6;
  const admissibility = options.admissibility ?? 2;
  const regularization = options.regularization ?? DEFAULT_REGULARIZATION;
  if (!(regularization >= 0 && regularization <= 1))
    throw new ArgumentError(`regularization must be a number from 0 to 1, got ${regularization}`);
  const knots = [0, 1].map((k) => uniformKnotVector(degree, elements, lower[k], upper[k]));
  let space = THBSpace.create({ degrees: [degree, degree], knots, maxLevels });
  const dofs0 = space.size * dim;
  if (n < dofs0 / dim) {
    notes.push(
      `fewer data (${n} points) than unknowns (${space.size} functions): the thin-plate regularisation (β = ${regularization}) and a tiny ridge determine the rest`,
    );
  }
  const iterations: FitIteration[] = [];
  let control: Float64Array | undefined;
  let carriedPlan: EvaluationPlan | undefined;
  let stopReason: FitResult["report"]["stopReason"] = "maxIterations";
  let field: THBField | undefined;
  let bareFunctions = 0;
  const maxIterations = options.maxIterations ?? 20;
  const method = options.method ?? "lsq";
  if (method !== "lsq" && method !== "lbfgs" && method !== "adam") {
    throw new ArgumentError(`method must be "lsq", "lbfgs" or "adam", got "${method}"`);
  }
  if (method !== "lsq") notes.push(`${method} steps on ${gradientDevice}`);
  for (let it = 0; it < maxIterations; it++) {
    const t0 = performance.now();
    // one compile per refinement: the carried-over field from the last step already holds this space's plan
    const plan = carriedPlan ?? compile(space);
    const smoothing = (options.smoothing ?? 0) + regularizationWeight(plan, n, regularization);
    const solve = (at: Float64Array, initial: Float64Array | undefined) =>
      solveAt(space, () =>
        solveNormalEquations(assembleNormalEquations(plan, at, values, dim, smoothing), initial),
      );
    let solution = solve(params, control);
    if (solution.recoveryRidge > 0)
      notes.push(
        `iteration ${it}: the first factorisation was inaccurate; solved again with a ridge of ${solution.recoveryRidge} × the diagonal toward the carried-over surface`,
      );
    if (solution.solver === "cg")
      notes.push(
        `iteration ${it}: the normal equations were too large to factor; solved by conjugate gradients (relative residual ${solution.relativeResidual.toExponential(1)})`,
      );
    if (solution.regularised > 0)
      notes.push(
        `iteration ${it}: ${solution.regularised} functions were left undetermined by the data and the smoothing; pinned by a tiny ridge toward the carried-over surface`,
      );
    const corrections = heightField ? 0 : (options.parameterCorrection ?? 0);
    if (corrections > 0) {
      params = correctParameters(
        plan,
        solution.control,
        dim,
        params,
        values,
        space.lower,
        space.upper,
        corrections,
      );
      solution = solve(params, solution.control);
    }
    let coefficients = solution.control;
    if (method !== "lsq") {
      coefficients = yield {
        plan,
        params,
        values,
        dim,
        initial: solution.control,
        options: {
          method,
          loss: options.loss ?? "l2",
          huberDelta: options.huberDelta ?? tolerance,
          maxIterations: options.gradientIterations ?? 200,
        },
      };
    }
    for (let i = 0; i < coefficients.length; i++) {
      if (!Number.isFinite(coefficients[i]))
        throw new NumericalError(
          `level ${space.levelCount} (${space.size} functions): the ${method} solve returned a non-finite coefficient (${coefficients[i]} at function ${Math.floor(i / dim)})`,
        );
    }
    field = new THBField(space, coefficients, dim, plan);
    const fitted = field.evaluate(params);
    const { maxError, rmsError, elementError, reducibleError, hasData } = errorsPerElement(
      plan,
      params,
      values,
      fitted,
      dim,
      conflictSpread,
      tolerance,
    );
    bareFunctions = regularization > 0 ? functionsWithoutData(plan, hasData) : 0;
    const entry = {
      levels: space.levelCount,
      dofs: space.size,
      maxError,
      rmsError,
      seconds: (performance.now() - t0) / 1000,
    };
    iterations.push(entry);
    options.onProgress?.(entry);
    if (maxError <= tolerance || (options.rmsTolerance !== undefined && rmsError <= options.rmsTolerance)) {
      stopReason = "tolerance";
      break;
    }
    if (options.signal?.aborted) {
      stopReason = "aborted";
      break;
    }
    const marked = markElements(
      space,
      reducibleError,
      tolerance,
      options.marking ?? "threshold",
      options.fraction ?? 0.1,
    );
    if (marked.length === 0) {
      // nothing over the tolerance can be refined further: the elements are on the finest level, or their
      // error comes from conflicting points that no refinement can meet
      const conflicted = markElements(space, elementError, tolerance, "threshold", 1).length > 0;
      stopReason = conflicted ? "unresolvable" : "maxLevels";
      break;
    }
    const refined = refineElementRefs(space, marked, admissibility);
    const carried = field.carryOverTo(refined);
    control = carried.control;
    carriedPlan = carried.plan;
    space = refined;
  }
  if (bareFunctions > 0)
    notes.push(
      `${bareFunctions} of ${field!.space.size} functions have no data on their support: the thin-plate regularisation continues the surface over them`,
    );
  const surface = field!;
  return {
    surface,
    params,
    report: {
      iterations,
      final: iterations[iterations.length - 1],
      options: {
        degree,
        elements,
        tolerance,
        maxLevels,
        admissibility,
        smoothing: options.smoothing ?? 0,
        regularization,
        method,
        loss: options.loss ?? "l2",
        parameterCorrection: options.parameterCorrection ?? 0,
        heightField,
        marking: options.marking ?? "threshold",
      },
      notes,
      stopReason,
    },
  };
}

/** Default β of the automatic thin-plate regularisation (see FitOptions.regularization). */
export const DEFAULT_REGULARIZATION = 1e-6;

/** λ = β · n · (h_u h_v)² / (W_u W_v): β relative to the data's weight on the plan's finest functions. */
function regularizationWeight(plan: EvaluationPlan, pointCount: number, beta: number): number {
  if (beta === 0) return 0;
  const h = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let e = 0; e < plan.elementCount; e++) {
    for (let k = 0; k < 2; k++) {
      const a = plan.elementBox[e * 4 + k];
      const b = plan.elementBox[e * 4 + 2 + k];
      h[k] = Math.min(h[k], b - a);
      lo[k] = Math.min(lo[k], a);
      hi[k] = Math.max(hi[k], b);
    }
  }
  return (beta * pointCount * (h[0] * h[1]) ** 2) / ((hi[0] - lo[0]) * (hi[1] - lo[1]));
}

/** Functions none of whose support elements holds a data point (`hasData` per element). */
function functionsWithoutData(plan: EvaluationPlan, hasData: Uint8Array): number {
  const supported = new Uint8Array(plan.functionCount);
  for (let e = 0; e < plan.elementCount; e++) {
    if (!hasData[e]) continue;
    for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++)
      supported[plan.extractionFunctions[r]] = 1;
  }
  let bare = 0;
  for (let f = 0; f < plan.functionCount; f++) bare += 1 - supported[f];
  return bare;
}

/** Runs a solve, naming the level and size of the space in a numerical failure. */
function solveAt<T>(space: THBSpace, solve: () => T): T {
  try {
    return solve();
  } catch (error) {
    if (error instanceof NumericalError)
      throw new NumericalError(`level ${space.levelCount} (${space.size} functions): ${error.message}`);
    throw error;
  }
}

/**
 * Euclidean point errors: the largest, the RMS, the largest per element, and the largest per element over the
 * points that refinement can still improve (not those whose conflict spread alone exceeds the tolerance);
 * also which elements hold a point.
 */
function errorsPerElement(
  plan: EvaluationPlan,
  params: Float64Array,
  values: ArrayLike<number>,
  fitted: Float64Array,
  dim: number,
  conflictSpread: Float64Array,
  tolerance: number,
): {
  maxError: number;
  rmsError: number;
  elementError: Float64Array;
  reducibleError: Float64Array;
  hasData: Uint8Array;
} {
  const n = params.length / 2;
  const hasData = new Uint8Array(plan.elementCount);
  const elementError = new Float64Array(plan.elementCount);
  const reducibleError = new Float64Array(plan.elementCount);
  let maxError = 0;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const element = locatePoint(plan, params, 2 * i);
    hasData[element] = 1;
    let s = 0;
    for (let c = 0; c < dim; c++) s += (fitted[i * dim + c] - values[i * dim + c]) ** 2;
    const error = Math.sqrt(s);
    sum += s;
    maxError = Math.max(maxError, error);
    elementError[element] = Math.max(elementError[element], error);
    if (!(conflictSpread[i] > tolerance)) reducibleError[element] = Math.max(reducibleError[element], error);
  }
  return { maxError, rmsError: Math.sqrt(sum / n), elementError, reducibleError, hasData };
}

/** Per point: the first point with the same parameters (itself when none comes before it). */
function parameterGroups(params: Float64Array): Int32Array {
  const n = params.length / 2;
  const group = new Int32Array(n);
  const firstOf = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const key = `${params[2 * i]},${params[2 * i + 1]}`;
    const first = firstOf.get(key);
    group[i] = first ?? i;
    if (first === undefined) firstOf.set(key, i);
  }
  return group;
}

/**
 * Per point: the largest distance of a value from the mean of the points that share its parameters (0 for a
 * point alone at its parameters). A fit at those parameters is one value, so it errs by at least half the
 * spread for some point of the group whatever the refinement.
 */
function conflictingSpread(group: Int32Array, values: ArrayLike<number>, dim: number): Float64Array {
  const n = group.length;
  const count = new Int32Array(n);
  const mean = new Float64Array(n * dim);
  for (let i = 0; i < n; i++) {
    count[group[i]]++;
    for (let c = 0; c < dim; c++) mean[group[i] * dim + c] += values[i * dim + c];
  }
  const spread = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const g = group[i];
    if (count[g] < 2) continue;
    let s = 0;
    for (let c = 0; c < dim; c++) s += (values[i * dim + c] - mean[g * dim + c] / count[g]) ** 2;
    spread[g] = Math.max(spread[g], Math.sqrt(s));
  }
  for (let i = 0; i < n; i++) spread[i] = spread[group[i]];
  return spread;
}

/** Elements to refine: over the tolerance, or the worst fraction; never beyond the finest allowed level. */
function markElements(
  space: THBSpace,
  elementError: Float64Array,
  tolerance: number,
  rule: string,
  fraction: number,
): ElementRef[] {
  const elements = space.elements;
  const candidates = elements
    .map((e, i) => ({ e, error: elementError[i] }))
    .filter(({ e, error }) => e.level + 1 < space.maxLevels && error > tolerance);
  if (rule === "fraction") {
    candidates.sort((a, b) => b.error - a.error);
    return candidates.slice(0, Math.max(1, Math.ceil(fraction * candidates.length))).map((c) => c.e);
  }
  return candidates.map((c) => c.e);
}

/**
 * Notes on repeated parameters: exact copies of a point weigh double in least squares (harmless, but worth
 * knowing), and points that share parameters with different values cannot both be met — the fit averages.
 */
function duplicateNotes(group: Int32Array, values: ArrayLike<number>, dim: number): string[] {
  let copies = 0;
  let conflicts = 0;
  let example = -1;
  for (let i = 0; i < group.length; i++) {
    const first = group[i];
    if (first === i) continue;
    let same = true;
    for (let c = 0; c < dim; c++) same &&= values[first * dim + c] === values[i * dim + c];
    if (same) copies++;
    else {
      conflicts++;
      if (example < 0) example = i;
    }
  }
  const notes: string[] = [];
  if (copies > 0) notes.push(`${copies} points repeat an earlier point exactly: kept, so they weigh double`);
  if (conflicts > 0)
    notes.push(
      `${conflicts} points share their parameters with a different earlier point (first: point ${example}): no surface meets both, the fit averages them`,
    );
  return notes;
}
