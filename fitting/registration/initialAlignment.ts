/**
 * The initial alignment of registration, as elastix users chain it: moments-based centring (the centres of
 * mass of the two images' intensities coincide), then a rigid stage, then an affine stage, each optimised
 * like the deformable one — L-BFGS on the registration's metric, here on one coarse pyramid level with
 * linear interpolation, where a few thousand pixels pin down a dozen parameters. The result is the physical
 * affine A (fixed → moving) that DisplacementTransform applies after the displacement:
 *   A(x) = L (x − c) + c + t,   c the fixed image's centre of mass.
 * Parameters are scaled to mm (angles and matrix entries times the images' radius r, the RMS distance of
 * the fixed pixels from c), so one L-BFGS step weighs rotation and translation alike. Rigid rotations are
 * R = R_z(γ) R_y(β) R_x(α) in 3D, R(θ) in 2D. Browser-safe: no Node imports.
 */
import { mean, neg, square, sub } from "../../autodiff/api.js";
import { defineOp } from "../../autodiff/customOp.js";
import { minimize } from "../../autodiff/optimize.js";
import { Tensor } from "../../autodiff/tensor.js";
import {
  type Image,
  type ImageGeometry,
  indexToPhysical,
  physicalToIndex,
  transformPoints,
} from "../../fields/image.js";
import { gridPoints } from "../../kernels/cpu/gridPoints.js";
import { sampleImageCpu } from "../../kernels/cpu/imageKernels.js";
import {
  type HistogramSpec,
  mutualInformation,
  normalizedCrossCorrelation,
} from "../../primitives/imagePrimitives.js";
import { rangeOf } from "./fusedLevelLoss.js";
import type { Metric } from "./levelLoss.js";

/** Initial alignment stages: none, centring + rigid, or centring + rigid + affine. */
export type InitialKind = "none" | "rigid" | "affine";

/** Options of initialAlignment. */
export interface InitialAlignmentOptions {
  /** Which stages (default "affine": centring, rigid, affine). */
  kind?: InitialKind;
  /** Metric the stages minimise (default "ssd"). */
  metric?: Metric;
  /** L-BFGS iterations at most per stage (default 40). */
  iterations?: number;
  /**
   * The fixed mask (0/1 per full-resolution pixel): only coarse pixels whose whole block lies inside count,
   * in the centring and in the stages' metric (elastix applies the fixed mask to every stage).
   */
  fixedMask?: Uint8Array;
  /** Stops at the next iteration; the alignment reached so far is returned. */
  signal?: AbortSignal;
}

/** What the stages did: the metric on the coarse level after each, iterations, time. */
export interface InitialAlignmentReport {
  kind: InitialKind;
  /** Downsampling factor of the pyramid level the stages ran on. */
  factor: number;
  /** Metric on that level: identity, after centring, after the rigid and the affine stage (NaN if skipped). */
  metricIdentity: number;
  metricCentred: number;
  metricRigid: number;
  metricAffine: number;
  /** Whether the moments-based centring was kept (it is dropped when it raises the metric). */
  centred: boolean;
  rigidIterations: number;
  affineIterations: number;
  milliseconds: number;
}

/** The alignment: A as a `(d+1) by (d+1)` column-major physical matrix (gl-matrix layout), and the report. */
export interface InitialAlignment {
  affine: Float64Array;
  report: InitialAlignmentReport;
}

/** A stage stops when an iteration lowers the loss by less than this share of it. */
const RELATIVE_DECREASE = 1e-3;

/** Pixels the coarse level should keep at least (the factor is the largest power of two that leaves them). */
const MIN_LEVEL_PIXELS = 2048;

/** The pyramid factor of the stages: the largest power of two ≤ 16 leaving ≥ 2,048 pixels and ≥ 8 per axis. */
export function alignmentFactor(size: readonly number[]): number {
  let factor = 1;
  for (let f = 2; f <= 16; f *= 2) {
    const level = size.map((n) => Math.floor((n - 1) / f) + 1);
    if (level.some((n) => n < 8) || level.reduce((a, b) => a * b, 1) < MIN_LEVEL_PIXELS) break;
    factor = f;
  }
  return factor;
}

/** A parametrisation of (L, t): values `m = [L row-major d×d, t]` and their Jacobian dm/dp (row-major). */
export interface Parametrisation {
  count: number;
  evaluate(p: ArrayLike<number>): { m: Float64Array; jacobian: Float64Array };
}

/** Rigid: 2D p = [r θ, t], 3D p = [r α, r β, r γ, t], R = R_z(γ) R_y(β) R_x(α). */
export function rigidParametrisation(d: number, r: number): Parametrisation {
  const angles = d === 2 ? 1 : 3;
  const count = angles + d;
  const width = d * d + d;
  return {
    count,
    evaluate(p) {
      const m = new Float64Array(width);
      const jacobian = new Float64Array(width * count);
      if (d === 2) {
        const c = Math.cos(p[0] / r);
        const s = Math.sin(p[0] / r);
        m.set([c, -s, s, c]);
        const dR = [-s / r, -c / r, c / r, -s / r];
        for (let i = 0; i < 4; i++) jacobian[i * count] = dR[i];
      } else {
        const [a, b, g] = [p[0] / r, p[1] / r, p[2] / r];
        const rx = (t: number, dt: boolean) =>
          dt
            ? [0, 0, 0, 0, -Math.sin(t), -Math.cos(t), 0, Math.cos(t), -Math.sin(t)]
            : [1, 0, 0, 0, Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t)];
        const ry = (t: number, dt: boolean) =>
          dt
            ? [-Math.sin(t), 0, Math.cos(t), 0, 0, 0, -Math.cos(t), 0, -Math.sin(t)]
            : [Math.cos(t), 0, Math.sin(t), 0, 1, 0, -Math.sin(t), 0, Math.cos(t)];
        const rz = (t: number, dt: boolean) =>
          dt
            ? [-Math.sin(t), -Math.cos(t), 0, Math.cos(t), -Math.sin(t), 0, 0, 0, 0]
            : [Math.cos(t), -Math.sin(t), 0, Math.sin(t), Math.cos(t), 0, 0, 0, 1];
        const product = (x: number[], y: number[], z: number[]) => multiply3(multiply3(x, y), z);
        m.set(product(rz(g, false), ry(b, false), rx(a, false)));
        const derivatives = [
          product(rz(g, false), ry(b, false), rx(a, true)),
          product(rz(g, false), ry(b, true), rx(a, false)),
          product(rz(g, true), ry(b, false), rx(a, false)),
        ];
        for (let q = 0; q < 3; q++)
          for (let i = 0; i < 9; i++) jacobian[i * count + q] = derivatives[q][i] / r;
      }
      for (let k = 0; k < d; k++) {
        m[d * d + k] = p[angles + k];
        jacobian[(d * d + k) * count + angles + k] = 1;
      }
      return { m, jacobian };
    },
  };
}

/** Affine: p = [r L (row-major), t]. */
export function affineParametrisation(d: number, r: number): Parametrisation {
  const count = d * d + d;
  const jacobian = new Float64Array(count * count);
  for (let i = 0; i < count; i++) jacobian[i * count + i] = i < d * d ? 1 / r : 1;
  return {
    count,
    evaluate: (p) => ({ m: Float64Array.from(p, (v, i) => (i < d * d ? v / r : v)), jacobian }),
  };
}

function multiply3(a: number[], b: number[]): number[] {
  const out = new Array(9).fill(0);
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) out[i * 3 + j] += a[i * 3 + k] * b[k * 3 + j];
  return out;
}

/** The parametrisation as a differentiable op p ↦ m (its VJP is Jᵀ g). */
function parametrisationOp(parametrisation: Parametrisation): (p: Tensor) => Tensor {
  const op = defineOp<Float64Array>({
    name: "alignmentParameters",
    implementations: {
      cpu: {
        forward: ([p]) => {
          const { m, jacobian } = parametrisation.evaluate(p.values as Float64Array);
          return { outputs: [new Tensor(m, [m.length])], residuals: jacobian };
        },
        vjp: (jacobian, [g]) => {
          if (!g) return [undefined];
          const count = parametrisation.count;
          const gv = g.values;
          const out = new Float64Array(count);
          for (let i = 0; i < gv.length; i++)
            for (let q = 0; q < count; q++) out[q] += jacobian[i * count + q] * gv[i];
          return [new Tensor(out, [count])];
        },
      },
    },
  });
  return (p) => op([p])[0];
}

/** Centre of mass of `values − min` in physical space; the grid's centre when the image is constant. */
function centreOfMass(geometry: ImageGeometry, values: Float64Array, points: Float64Array): number[] {
  const d = geometry.size.length;
  const [lo] = rangeOf(values);
  const centre = new Array(d).fill(0);
  let total = 0;
  for (let p = 0; p < values.length; p++) {
    const w = values[p] - lo;
    total += w;
    for (let k = 0; k < d; k++) centre[k] += w * points[p * d + k];
  }
  if (total > 0) return centre.map((c) => c / total);
  const middle = transformPoints(
    indexToPhysical(geometry),
    geometry.size.map((n) => (n - 1) / 2),
  );
  return Array.from(middle);
}

/**
 * 1 for the coarse pixels whose whole block lies inside the mask; where no block does (a thin mask), those
 * with any pixel inside.
 */
function insideBlocks(fixed: Image, mask: Uint8Array, factor: number): Uint8Array {
  const coverage = blockAverage({ ...fixed, data: mask }, factor).values;
  const whole = Uint8Array.from(coverage, (c) => (c >= 1 - 1e-9 ? 1 : 0));
  return whole.includes(1) ? whole : Uint8Array.from(coverage, (c) => (c > 0 ? 1 : 0));
}

/** Physical points of a geometry's pixels, `#pixels by d` (first axis fastest). */
function physicalPoints(geometry: ImageGeometry): Float64Array {
  const d = geometry.size.length;
  const index = gridPoints(new Array(d).fill(0), new Array(d).fill(1), [...geometry.size]);
  return transformPoints(indexToPhysical(geometry), index);
}

/** A = L (x − c) + c + t as a `(d+1)²` column-major matrix, from m = [L row-major, t]. */
function affineMatrix(d: number, m: ArrayLike<number>, centre: readonly number[]): Float64Array {
  const n = d + 1;
  const out = new Float64Array(n * n);
  out[n * n - 1] = 1;
  for (let row = 0; row < d; row++) {
    let offset = centre[row] + m[d * d + row];
    for (let col = 0; col < d; col++) {
      out[col * n + row] = m[row * d + col];
      offset -= m[row * d + col] * centre[col];
    }
    out[d * n + row] = offset;
  }
  return out;
}

/** A coarse copy of an image: the mean of each f×f(×f) block, placed at the block's centre. */
export function blockAverage(
  image: Image,
  factor: number,
): { geometry: ImageGeometry; values: Float64Array } {
  const d = image.size.length;
  const size = image.size.map((n) => Math.max(1, Math.floor(n / factor)));
  const [nx, ny] = image.size;
  const [mx, my, mz] = [size[0], size[1], d === 3 ? size[2] : 1];
  const values = new Float64Array(mx * my * mz);
  const fz = d === 3 ? factor : 1;
  const source = image.data;
  for (let k = 0; k < mz * fz; k++) {
    for (let j = 0; j < my * factor; j++) {
      const row = nx * (j + ny * k);
      const target = mx * (Math.floor(j / factor) + my * Math.floor(k / fz));
      for (let i = 0; i < mx * factor; i++) values[target + Math.floor(i / factor)] += source[row + i];
    }
  }
  const scale = 1 / (factor * factor * fz);
  for (let i = 0; i < values.length; i++) values[i] *= scale;
  const half = new Array(d).fill((factor - 1) / 2);
  const origin = Array.from(transformPoints(indexToPhysical(image), half));
  return {
    geometry: { ...image, size, origin, spacing: image.spacing.map((s) => s * factor) },
    values,
  };
}

/**
 * The moving level sampled (linear) at A(x) for every fixed point, as a differentiable function of
 * m = [L row-major, t] (A(x) = L q + c + t, q = x − c): one op whose VJP is Σ_i g_i ∂w_i/∂m, with
 * ∂w_i/∂L[r][s] = (M⁻ᵀ ∇I)_r q_s and ∂w_i/∂t_r = (M⁻ᵀ ∇I)_r (M the moving level's index → physical map).
 */
function warpOp(
  q: Float64Array,
  centre: readonly number[],
  moving: { geometry: ImageGeometry; values: Float64Array },
): (m: Tensor) => Tensor {
  const d = centre.length;
  const n = d + 1;
  const count = q.length / d;
  const toIndex = physicalToIndex(moving.geometry);
  const image = { size: moving.geometry.size, values: moving.values };
  const coords = new Float64Array(q.length);
  const op = defineOp<Float64Array>({
    name: "alignmentWarp",
    implementations: {
      cpu: {
        forward: ([mTensor]) => {
          const m = mTensor.values;
          for (let p = 0; p < count; p++) {
            for (let r = 0; r < d; r++) {
              let x = centre[r] + m[d * d + r];
              for (let s = 0; s < d; s++) x += m[r * d + s] * q[p * d + s];
              coords[p * d + r] = x;
            }
          }
          transformPoints(toIndex, coords, coords);
          const { values, gradient } = sampleImageCpu(image, coords, "linear");
          return { outputs: [new Tensor(values, [count])], residuals: gradient };
        },
        vjp: (gradient, [g]) => {
          if (!g) return [undefined];
          const gv = g.values;
          const out = new Float64Array(d * d + d);
          const physical = [0, 0, 0];
          for (let p = 0; p < count; p++) {
            const w = gv[p];
            if (w === 0) continue;
            for (let r = 0; r < d; r++) {
              let v = 0;
              for (let k = 0; k < d; k++) v += toIndex[r * n + k] * gradient[p * d + k];
              physical[r] = w * v;
            }
            for (let r = 0; r < d; r++) {
              for (let s = 0; s < d; s++) out[r * d + s] += physical[r] * q[p * d + s];
              out[d * d + r] += physical[r];
            }
          }
          return [new Tensor(out, [d * d + d])];
        },
      },
    },
  });
  return (m) => op([m])[0];
}

/**
 * Aligns `moving` to `fixed` by centring, a rigid and an affine stage (options.kind says how far) and
 * returns the physical affine A (fixed → moving, `(d+1)²` column-major) with a report. Images are checked
 * by the caller (registerImages); "none" returns the identity.
 */
export function initialAlignment(
  fixed: Image,
  moving: Image,
  options: InitialAlignmentOptions = {},
): InitialAlignment {
  const start = performance.now();
  const kind = options.kind ?? "affine";
  const metric = options.metric ?? "ssd";
  const iterations = options.iterations ?? 40;
  const d = fixed.size.length;
  const n = d + 1;
  const identity = Float64Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  const report: InitialAlignmentReport = {
    kind,
    factor: 1,
    metricIdentity: Number.NaN,
    metricCentred: Number.NaN,
    metricRigid: Number.NaN,
    metricAffine: Number.NaN,
    centred: false,
    rigidIterations: 0,
    affineIterations: 0,
    milliseconds: 0,
  };
  if (kind === "none") return { affine: identity, report };

  const factor = Math.min(alignmentFactor(fixed.size), alignmentFactor(moving.size));
  report.factor = factor;
  const fixedLevel = blockAverage(fixed, factor);
  const movingLevel = blockAverage(moving, factor);
  let fixedPoints = physicalPoints(fixedLevel.geometry);
  if (options.fixedMask) {
    const inside = insideBlocks(fixed, options.fixedMask, factor);
    fixedLevel.values = fixedLevel.values.filter((_, p) => inside[p] === 1);
    fixedPoints = fixedPoints.filter((_, i) => inside[Math.floor(i / d)] === 1);
  }
  const centre = centreOfMass(fixedLevel.geometry, fixedLevel.values, fixedPoints);
  const movingCentre = centreOfMass(
    movingLevel.geometry,
    movingLevel.values,
    physicalPoints(movingLevel.geometry),
  );
  const count = fixedLevel.values.length;
  const q = new Float64Array(fixedPoints.length);
  let spread = 0;
  for (let i = 0; i < q.length; i++) {
    q[i] = fixedPoints[i] - centre[i % d];
    spread += q[i] * q[i];
  }
  const radius = Math.max(Math.sqrt(spread / count), 1e-6);
  const warp = warpOp(q, centre, movingLevel);
  const fixedTensor = new Tensor(fixedLevel.values, [count]);
  const spec: HistogramSpec = {
    bins: 32,
    movingRange: rangeOf(movingLevel.values),
    fixedRange: rangeOf(fixedLevel.values),
  };
  const dissimilarity = (warped: Tensor) =>
    metric === "ssd"
      ? mean(square(sub(warped, fixedTensor)))
      : metric === "ncc"
        ? sub(1, normalizedCrossCorrelation(warped, fixedTensor))
        : neg(mutualInformation(warped, fixedTensor, spec));
  const lossOfMatrix = (m: Tensor) => dissimilarity(warp(m));
  const lossAt = (m: Float64Array) => lossOfMatrix(new Tensor(m, [m.length])).item();
  const identityRows = (t: readonly number[]) => {
    const m = new Float64Array(d * d + d);
    for (let k = 0; k < d; k++) m[k * d + k] = 1;
    for (let k = 0; k < d; k++) m[d * d + k] = t[k];
    return m;
  };
  report.metricIdentity = lossAt(identityRows(new Array(d).fill(0)));
  const shift = movingCentre.map((c, k) => c - centre[k]);
  report.metricCentred = lossAt(identityRows(shift));
  report.centred = report.metricCentred <= report.metricIdentity;
  let current: Float64Array = identityRows(report.centred ? shift : new Array(d).fill(0));
  let best = report.centred ? report.metricCentred : report.metricIdentity;

  const stage = (parametrisation: Parametrisation, p0: Float64Array) => {
    const toMatrix = parametrisationOp(parametrisation);
    const stop = new AbortController();
    const outer = options.signal;
    if (outer?.aborted) stop.abort();
    outer?.addEventListener("abort", () => stop.abort(), { once: true });
    let previous = Number.POSITIVE_INFINITY;
    const result = minimize((p) => lossOfMatrix(toMatrix(p)), p0, {
      maxIterations: iterations,
      tolerance: 0,
      signal: stop.signal,
      onIteration: ({ value }) => {
        // converged for an initial alignment: the loss fell by less than 0.1 % over the last iteration
        if (previous - value < RELATIVE_DECREASE * Math.abs(previous)) stop.abort();
        previous = value;
      },
    });
    const m = parametrisation.evaluate(result.x).m;
    const value = lossAt(m);
    return { m, value, iterations: result.iterations };
  };
  // rigid, from the centring (zero angles, its translation)
  const rigidStage = stage(
    rigidParametrisation(d, radius),
    Float64Array.from({ length: (d === 2 ? 1 : 3) + d }, (_, i) =>
      i < (d === 2 ? 1 : 3) ? 0 : current[d * d + i - (d === 2 ? 1 : 3)],
    ),
  );
  report.metricRigid = rigidStage.value;
  report.rigidIterations = rigidStage.iterations;
  if (rigidStage.value <= best) {
    current = rigidStage.m;
    best = rigidStage.value;
  }
  if (kind === "affine" && !options.signal?.aborted) {
    const affineStage = stage(
      affineParametrisation(d, radius),
      Float64Array.from(current, (v, i) => (i < d * d ? v * radius : v)),
    );
    report.metricAffine = affineStage.value;
    report.affineIterations = affineStage.iterations;
    if (affineStage.value <= best) {
      current = affineStage.m;
      best = affineStage.value;
    }
  }
  report.milliseconds = performance.now() - start;
  return { affine: affineMatrix(d, current, centre), report };
}
