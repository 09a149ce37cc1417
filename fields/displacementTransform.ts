/**
 * A deformable transform of registration: T(x) = x + u(x), with u a vector THB field over the fixed image's
 * domain. The field lives in the fixed image's axis frame ξ = Dᵀ (x − origin) (mm along the fixed image's
 * index axes, ξ ∈ [0, (n_k − 1) spacing_k]); its values are displacements along those axes, so
 * x + u = origin + D (ξ + u(ξ)). Outside the domain u is held at its value on the nearest boundary point.
 * Everything here is exact on the THB field: the Jacobian I + ∂u/∂ξ comes from the field's first
 * derivatives, and the inverse solves ξ + u(ξ) = η by Newton's method with that Jacobian.
 */
import { cubicBSplineCoefficients } from "../kernels/cpu/bsplinePrefilter.js";
import { gridPoints } from "../kernels/cpu/gridPoints.js";
import { type Interpolation, sampleImageCpu } from "../kernels/cpu/imageKernels.js";
import { ArgumentError } from "../linalg/errors.js";
import {
  checkGeometry,
  checkImage,
  composeAffine,
  type Image,
  type ImageGeometry,
  indexToPhysical,
  physicalToIndex,
  transformPoints,
} from "./image.js";
import type { THBField } from "./thbField.js";

/** Options of inverseMapPoints. */
export interface InverseOptions {
  /** Largest Newton step accepted as converged, mm (default 1e-9 · the domain's largest extent). */
  tolerance?: number;
  /** Newton iterations at most (default 50). */
  maxIterations?: number;
}

/** x ↦ x + u(x) with u a THB displacement field over a fixed image's domain. */
export class DisplacementTransform {
  /** Geometry of the fixed image: the grid the transform is defined and resampled on. */
  readonly fixed: ImageGeometry;
  /** u in the fixed axis frame, `dim` = d. */
  readonly field: THBField;
  private readonly toFrame: Float64Array;
  private readonly fromFrame: Float64Array;
  private readonly extent: Float64Array;

  constructor(fixed: ImageGeometry, field: THBField) {
    const d = checkGeometry(fixed, "fixed geometry");
    if (field.dim !== d || field.space.dimension !== d)
      throw new ArgumentError(
        `field must map ${d}D to ${d}D, got ${field.space.dimension}D to ${field.dim}D`,
      );
    this.fixed = {
      size: [...fixed.size],
      spacing: [...fixed.spacing],
      origin: [...fixed.origin],
      direction: [...fixed.direction],
    };
    this.field = field;
    this.extent = Float64Array.from(fixed.size, (n, k) => (n - 1) * fixed.spacing[k]);
    const lower = field.space.lower;
    const upper = field.space.upper;
    for (let k = 0; k < d; k++) {
      if (
        Math.abs(lower[k]) > 1e-9 * (this.extent[k] + 1) ||
        Math.abs(upper[k] - this.extent[k]) > 1e-9 * (this.extent[k] + 1)
      )
        throw new ArgumentError(
          `field domain along axis ${k} must be [0, ${this.extent[k]}] (the fixed image's extent), got [${lower[k]}, ${upper[k]}]`,
        );
    }
    // the frame: index scaled by spacing, i.e. the same maps with unit spacing on a scaled index
    const unit = { ...this.fixed, spacing: new Array(d).fill(1) };
    this.toFrame = physicalToIndex(unit);
    this.fromFrame = indexToPhysical(unit);
  }

  /** Dimension d (2 or 3). */
  get dimension(): number {
    return this.fixed.size.length;
  }

  /** The fixed grid's points in the field's frame, `#pixels by d` (first axis fastest). */
  framePoints(geometry: ImageGeometry = this.fixed): Float64Array {
    const d = this.dimension;
    const origin = new Array(d).fill(0);
    if (geometry !== this.fixed) {
      // another grid (a pyramid level) in the same frame
      const o = transformPoints(this.toFrame, geometry.origin);
      for (let k = 0; k < d; k++) origin[k] = o[k];
    }
    return this.clampToDomain(gridPoints(origin, [...geometry.spacing], [...geometry.size]));
  }

  /** u at `frame  #points by d` (frame coordinates, clamped to the domain), with first derivatives if asked. */
  private displacement(frame: Float64Array, order: 0 | 1): Float64Array {
    return this.field.evaluate(this.clampToDomain(Float64Array.from(frame)), order);
  }

  private clampToDomain(frame: Float64Array): Float64Array {
    const d = this.dimension;
    for (let i = 0; i < frame.length; i++) {
      const k = i % d;
      frame[i] = Math.min(Math.max(frame[i], 0), this.extent[k]);
    }
    return frame;
  }

  /** T(x) = x + u(x) for physical `points  #points by d`. */
  mapPoints(points: ArrayLike<number>): Float64Array {
    const d = this.dimension;
    checkPoints(points, d, "points");
    const frame = transformPoints(this.toFrame, points);
    const u = this.displacement(frame, 0);
    for (let i = 0; i < frame.length; i++) frame[i] += u[i];
    return transformPoints(this.fromFrame, frame);
  }

  /**
   * T⁻¹(y) for physical `points  #points by d`: Newton's method on ξ + u(ξ) = η with the exact Jacobian,
   * from ξ = η. A point where Newton does not converge (T folds there, or the step stalls) comes back as NaN.
   */
  inverseMapPoints(points: ArrayLike<number>, options: InverseOptions = {}): Float64Array {
    const d = this.dimension;
    checkPoints(points, d, "points");
    const tolerance = options.tolerance ?? 1e-9 * Math.max(...this.extent, 1);
    const maxIterations = options.maxIterations ?? 50;
    const target = transformPoints(this.toFrame, points);
    const xi = Float64Array.from(target);
    const count = target.length / d;
    const done = new Uint8Array(count);
    const J = new Float64Array(9);
    const r = new Float64Array(3);
    const step = new Float64Array(3);
    for (let it = 0; it < maxIterations; it++) {
      const values = this.displacement(xi, 1);
      let pending = 0;
      for (let p = 0; p < count; p++) {
        if (done[p]) continue;
        const o = p * (1 + d) * d;
        for (let k = 0; k < d; k++) {
          r[k] = xi[p * d + k] + values[o + k] - target[p * d + k];
          // J[row k, column j] = δ_kj + ∂u_k/∂ξ_j (zero derivative where u is held constant)
          for (let j = 0; j < d; j++) {
            const inColumn = j === k ? 1 : 0;
            const insideJ = xi[p * d + j] > 0 && xi[p * d + j] < this.extent[j];
            J[k * 3 + j] = inColumn + (insideJ ? values[o + (1 + j) * d + k] : 0);
          }
        }
        if (!solveSmall(J, r, step, d)) {
          for (let k = 0; k < d; k++) xi[p * d + k] = Number.NaN;
          done[p] = 1;
          continue;
        }
        let size = 0;
        for (let k = 0; k < d; k++) {
          xi[p * d + k] -= step[k];
          size = Math.max(size, Math.abs(step[k]));
        }
        if (size <= tolerance) done[p] = 1;
        else pending++;
      }
      if (pending === 0) break;
      if (it === maxIterations - 1) {
        for (let p = 0; p < count; p++) if (!done[p]) for (let k = 0; k < d; k++) xi[p * d + k] = Number.NaN;
      }
    }
    return transformPoints(this.fromFrame, xi);
  }

  /**
   * det(I + ∂u/∂ξ) at every pixel of the fixed grid (`#pixels`, first axis fastest), from the field's exact
   * first derivatives: ≤ 0 where the transform folds.
   */
  jacobianDeterminant(): Float64Array {
    return jacobianDeterminants(this.field, this.framePoints());
  }

  /**
   * Resamples `moving` on the fixed grid: warped(x) = moving(x + u(x)) (clamp to edge outside the moving
   * image). Linear interpolation by default; "cubic" interpolates with the cubic B-spline through the
   * samples (prefiltered; at the outermost pixels the clamp-to-edge kernel departs from the mirror
   * boundary the prefilter assumes).
   */
  apply(moving: Image, interpolation: Interpolation = "linear"): Image {
    const d = checkImage(moving, "moving image");
    if (d !== this.dimension)
      throw new ArgumentError(`moving image is ${d}D, the transform maps ${this.dimension}D points`);
    const coords = this.movingIndexAt(moving, this.framePoints());
    const samples =
      interpolation === "cubic"
        ? cubicBSplineCoefficients(moving.data, moving.size)
        : Float64Array.from(moving.data);
    const values = sampleImageCpu({ size: moving.size, values: samples }, coords, interpolation).values;
    return { ...this.fixed, data: values };
  }

  /** The moving image's continuous index of x + u(x) at frame points (`#points by d`). */
  movingIndexAt(moving: ImageGeometry, frame: Float64Array): Float64Array {
    const u = this.displacement(frame, 0);
    const warped = Float64Array.from(frame);
    for (let i = 0; i < warped.length; i++) warped[i] += u[i];
    return transformPoints(frameToMovingIndex(this.fixed, moving), warped);
  }
}

/** The affine map from the fixed axis frame to the moving image's continuous index. */
export function frameToMovingIndex(fixed: ImageGeometry, moving: ImageGeometry): Float64Array {
  const d = fixed.size.length;
  const unit = { ...fixed, spacing: new Array(d).fill(1) };
  return composeAffine(physicalToIndex(moving), indexToPhysical(unit));
}

/** det(I + ∂u/∂ξ) at `frame  #points by d` inside the field's domain. */
export function jacobianDeterminants(field: THBField, frame: Float64Array): Float64Array {
  const d = field.dim;
  const values = field.evaluate(frame, 1);
  const count = frame.length / d;
  const out = new Float64Array(count);
  const b = (1 + d) * d;
  for (let p = 0; p < count; p++) {
    const o = p * b;
    // J[k][j] = δ_kj + ∂u_k/∂ξ_j, the derivative block j+1 holding component k at offset k
    const J = (k: number, j: number) => (k === j ? 1 : 0) + values[o + (1 + j) * d + k];
    out[p] =
      d === 2
        ? J(0, 0) * J(1, 1) - J(0, 1) * J(1, 0)
        : J(0, 0) * (J(1, 1) * J(2, 2) - J(1, 2) * J(2, 1)) -
          J(0, 1) * (J(1, 0) * J(2, 2) - J(1, 2) * J(2, 0)) +
          J(0, 2) * (J(1, 0) * J(2, 1) - J(1, 1) * J(2, 0));
  }
  return out;
}

/** Solves the d×d system J x = r (J row-major in a 3×3 block) by Cramer's rule; false when singular. */
function solveSmall(J: Float64Array, r: Float64Array, x: Float64Array, d: number): boolean {
  if (d === 2) {
    const det = J[0] * J[4] - J[1] * J[3];
    if (!(Math.abs(det) > 1e-14)) return false;
    x[0] = (r[0] * J[4] - J[1] * r[1]) / det;
    x[1] = (J[0] * r[1] - r[0] * J[3]) / det;
    return true;
  }
  const det3 = (a: number[]) =>
    a[0] * (a[4] * a[8] - a[5] * a[7]) -
    a[1] * (a[3] * a[8] - a[5] * a[6]) +
    a[2] * (a[3] * a[7] - a[4] * a[6]);
  const m = Array.from(J);
  const det = det3(m);
  if (!(Math.abs(det) > 1e-14)) return false;
  for (let c = 0; c < 3; c++) {
    const mc = m.slice();
    for (let row = 0; row < 3; row++) mc[row * 3 + c] = r[row];
    x[c] = det3(mc) / det;
  }
  return true;
}

function checkPoints(points: ArrayLike<number>, d: number, name: string): void {
  if (points == null || points.length % d !== 0)
    throw new ArgumentError(`${name} must hold #points × ${d} numbers, got length ${points?.length}`);
  for (let i = 0; i < points.length; i++) {
    if (!Number.isFinite(points[i]))
      throw new ArgumentError(`${name}[${i}] must be finite, got ${points[i]}`);
  }
}
