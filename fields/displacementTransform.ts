/**
 * A deformable transform of registration: T(x) = A(x + u(x)), fixed physical point → moving physical point,
 * with u a vector THB field over the fixed image's domain and A an affine map of physical space (the initial
 * alignment; the identity unless given). The displacement acts first, in the fixed image's space, so its
 * grid stays on the fixed image's domain; A then carries the result into the moving image's space
 * (warped(x) = M(A(x + u(x)))). The field lives in the fixed image's axis frame ξ = Dᵀ (x − origin) (mm
 * along the fixed image's index axes, ξ ∈ [0, (n_k − 1) spacing_k]); its values are displacements along
 * those axes, so x + u = origin + D (ξ + u(ξ)). Outside the domain u is held at its value on the nearest
 * boundary point. Everything here is exact: the Jacobian is L (I + ∂u/∂ξ) in the frame (L the linear part
 * of A, so det J = det L · det(I + ∂u/∂ξ)), and the inverse solves ξ + u(ξ) = frame(A⁻¹ y) by Newton's
 * method with the field's exact Jacobian.
 */

import { mat3, mat4 } from "gl-matrix";
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
  /**
   * A, the affine map applied after the displacement: `(d+1) by (d+1)` column-major (gl-matrix `mat3` in
   * 2D, `mat4` in 3D), physical → physical. The identity when the transform has no initial alignment.
   */
  readonly affine: Float64Array;
  private readonly toFrame: Float64Array;
  private readonly fromFrame: Float64Array;
  private readonly extent: Float64Array;
  private readonly affineInverse: Float64Array;
  /** det A, the affine's linear part's determinant. */
  readonly affineDeterminant: number;

  constructor(fixed: ImageGeometry, field: THBField, affine?: ArrayLike<number>) {
    const d = checkGeometry(fixed, "fixed geometry");
    this.affine = checkAffine(affine, d);
    const inverse = new Float64Array(this.affine.length);
    const ok = d === 2 ? mat3.invert(inverse, this.affine) : mat4.invert(inverse, this.affine);
    this.affineDeterminant = d === 2 ? mat3.determinant(this.affine) : mat4.determinant(this.affine);
    if (!ok || !(Math.abs(this.affineDeterminant) > 1e-12))
      throw new ArgumentError(`affine must be invertible, its determinant is ${this.affineDeterminant}`);
    this.affineInverse = inverse;
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

  /** True when the transform holds an initial alignment other than the identity. */
  get hasAffine(): boolean {
    return !isIdentity(this.affine);
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

  /** T(x) = A(x + u(x)) for physical `points  #points by d`. */
  mapPoints(points: ArrayLike<number>): Float64Array {
    const d = this.dimension;
    checkPoints(points, d, "points");
    const frame = transformPoints(this.toFrame, points);
    const u = this.displacement(frame, 0);
    for (let i = 0; i < frame.length; i++) frame[i] += u[i];
    return transformPoints(composeAffine(this.affine, this.fromFrame), frame);
  }

  /**
   * T⁻¹(y) for physical `points  #points by d`: η = frame(A⁻¹ y), then Newton's method on ξ + u(ξ) = η with
   * the exact Jacobian, from ξ = η. A point where Newton does not converge (T folds there, or the step
   * stalls) comes back as NaN.
   */
  inverseMapPoints(points: ArrayLike<number>, options: InverseOptions = {}): Float64Array {
    const d = this.dimension;
    checkPoints(points, d, "points");
    const tolerance = options.tolerance ?? 1e-9 * Math.max(...this.extent, 1);
    const maxIterations = options.maxIterations ?? 50;
    const target = transformPoints(composeAffine(this.toFrame, this.affineInverse), points);
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
   * det ∂T/∂x = det L · det(I + ∂u/∂ξ) at every pixel of the fixed grid (`#pixels`, first axis fastest),
   * from the field's exact first derivatives (L the linear part of A): ≤ 0 where the transform folds.
   */
  jacobianDeterminant(): Float64Array {
    const det = jacobianDeterminants(this.field, this.framePoints());
    if (this.affineDeterminant !== 1) for (let p = 0; p < det.length; p++) det[p] *= this.affineDeterminant;
    return det;
  }

  /**
   * The full Jacobian ∂T/∂x at every pixel of the fixed grid, `#pixels by d by d` row-major per pixel
   * (J[p][k][j] = ∂T_k/∂x_j, physical axes), exact: L · D (I + ∂u/∂ξ) Dᵀ.
   */
  jacobian(): Float64Array {
    const d = this.dimension;
    const frame = this.framePoints();
    const values = this.field.evaluate(frame, 1);
    const count = frame.length / d;
    const out = new Float64Array(count * d * d);
    // B = L · D (linear parts, column-major (d+1)²); J = B (I + G) Dᵀ with G[k][j] = ∂u_k/∂ξ_j
    const n = d + 1;
    const B = composeAffine(this.affine, this.fromFrame);
    const D = this.fromFrame;
    const M = new Float64Array(9);
    const b = (1 + d) * d;
    for (let p = 0; p < count; p++) {
      const o = p * b;
      // M = B (I + G)
      for (let r = 0; r < d; r++) {
        for (let j = 0; j < d; j++) {
          let v = B[j * n + r];
          for (let k = 0; k < d; k++) v += B[k * n + r] * values[o + (1 + j) * d + k];
          M[r * 3 + j] = v;
        }
      }
      // J = M Dᵀ: J[r][c] = Σ_j M[r][j] D[c][j]
      for (let r = 0; r < d; r++) {
        for (let c = 0; c < d; c++) {
          let v = 0;
          for (let j = 0; j < d; j++) v += M[r * 3 + j] * D[j * n + c];
          out[p * d * d + r * d + c] = v;
        }
      }
    }
    return out;
  }

  /**
   * Resamples `moving` on the fixed grid: warped(x) = moving(A(x + u(x))) (clamp to edge outside the moving
   * image). Linear interpolation by default; "cubic" interpolates with the cubic B-spline through the
   * samples (prefiltered; at the outermost pixels the clamp-to-edge kernel departs from the mirror
   * boundary the prefilter assumes); "nearest" takes the nearest pixel's value unchanged (label images).
   */
  apply(moving: Image, interpolation: Interpolation | "nearest" = "linear"): Image {
    const d = checkImage(moving, "moving image");
    if (d !== this.dimension)
      throw new ArgumentError(`moving image is ${d}D, the transform maps ${this.dimension}D points`);
    const coords = this.movingIndexAt(moving, this.framePoints());
    if (interpolation === "nearest") return { ...this.fixed, data: sampleNearest(moving, coords) };
    const samples =
      interpolation === "cubic"
        ? cubicBSplineCoefficients(moving.data, moving.size)
        : Float64Array.from(moving.data);
    const values = sampleImageCpu({ size: moving.size, values: samples }, coords, interpolation).values;
    return { ...this.fixed, data: values };
  }

  /** The moving image's continuous index of A(x + u(x)) at frame points (`#points by d`). */
  movingIndexAt(moving: ImageGeometry, frame: Float64Array): Float64Array {
    const u = this.displacement(frame, 0);
    const warped = Float64Array.from(frame);
    for (let i = 0; i < warped.length; i++) warped[i] += u[i];
    return transformPoints(frameToMovingIndex(this.fixed, moving, this.affine), warped);
  }
}

/**
 * The affine map from the fixed axis frame to the moving image's continuous index, through the physical
 * affine `affine` (A, column-major (d+1)², default the identity): index_M ∘ A ∘ frame⁻¹.
 */
export function frameToMovingIndex(
  fixed: ImageGeometry,
  moving: ImageGeometry,
  affine?: Float64Array,
): Float64Array {
  const d = fixed.size.length;
  const unit = { ...fixed, spacing: new Array(d).fill(1) };
  const fromFrame = indexToPhysical(unit);
  return composeAffine(physicalToIndex(moving), affine ? composeAffine(affine, fromFrame) : fromFrame);
}

/** The nearest pixel's value (ties round half up; clamp to edge) at continuous indices `#points by d`. */
function sampleNearest(image: Image, coords: Float64Array): Image["data"] {
  const d = image.size.length;
  const count = coords.length / d;
  const Constructor = image.data.constructor as new (n: number) => Image["data"];
  const out = new Constructor(count);
  const [nx, ny] = image.size;
  for (let p = 0; p < count; p++) {
    let offset = 0;
    let stride = 1;
    for (let k = 0; k < d; k++) {
      const i = Math.min(Math.max(Math.floor(coords[p * d + k] + 0.5), 0), image.size[k] - 1);
      offset += i * stride;
      stride *= k === 0 ? nx : ny;
    }
    out[p] = image.data[offset];
  }
  return out;
}

/** The identity affine of dimension d, `(d+1)²` column-major. */
export function identityAffine(d: number): Float64Array {
  return Float64Array.from({ length: (d + 1) ** 2 }, (_, i) => (i % (d + 2) === 0 ? 1 : 0));
}

function isIdentity(m: Float64Array): boolean {
  const n = Math.round(Math.sqrt(m.length));
  for (let i = 0; i < m.length; i++) if (m[i] !== (i % (n + 1) === 0 ? 1 : 0)) return false;
  return true;
}

/** Checks an affine argument: `(d+1)²` finite entries with last row (0 … 0 1); the identity when absent. */
function checkAffine(affine: ArrayLike<number> | undefined, d: number): Float64Array {
  if (affine === undefined) return identityAffine(d);
  const n = d + 1;
  if (affine == null || affine.length !== n * n)
    throw new ArgumentError(
      `affine must hold ${n}×${n} numbers (column-major), got length ${affine?.length}`,
    );
  const m = Float64Array.from(affine);
  for (let i = 0; i < m.length; i++) {
    if (!Number.isFinite(m[i])) throw new ArgumentError(`affine[${i}] must be finite, got ${m[i]}`);
  }
  for (let c = 0; c < n; c++) {
    if (m[c * n + d] !== (c === d ? 1 : 0))
      throw new ArgumentError(
        `affine's last row must be (0 … 0 1) (column-major: entries ${d}, ${d + n}, …), got ${m[c * n + d]} in column ${c}`,
      );
  }
  return m;
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
