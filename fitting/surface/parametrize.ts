/**
 * Parameters for unparametrised clouds: orthogonal projection onto the best-fit plane (the two principal
 * directions of the centred cloud), scaled to [0, 1]². Right for height-field-like clouds whose projection
 * onto that plane is one-to-one; folded or closed surfaces need parameters from the user.
 */
import { ArgumentError } from "../../splines/errors.js";

/** Eigen-decomposition of a symmetric 3×3 matrix by cyclic Jacobi rotations: values descending, vectors as rows. */
export function symmetricEigen3(m: Float64Array): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(m);
  const v = Float64Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  for (let sweep = 0; sweep < 50; sweep++) {
    const off = a[1] * a[1] + a[2] * a[2] + a[5] * a[5];
    if (off < 1e-30 * (a[0] * a[0] + a[4] * a[4] + a[8] * a[8] + 1e-300)) break;
    for (const [p, q] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const apq = a[3 * p + q];
      if (apq === 0) continue;
      const theta = (a[3 * q + q] - a[3 * p + p]) / (2 * apq);
      const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
      const c = 1 / Math.sqrt(t * t + 1);
      const s = t * c;
      for (let k = 0; k < 3; k++) {
        const akp = a[3 * k + p];
        const akq = a[3 * k + q];
        a[3 * k + p] = c * akp - s * akq;
        a[3 * k + q] = s * akp + c * akq;
      }
      for (let k = 0; k < 3; k++) {
        const apk = a[3 * p + k];
        const aqk = a[3 * q + k];
        a[3 * p + k] = c * apk - s * aqk;
        a[3 * q + k] = s * apk + c * aqk;
      }
      for (let k = 0; k < 3; k++) {
        const vpk = v[3 * p + k];
        const vqk = v[3 * q + k];
        v[3 * p + k] = c * vpk - s * vqk;
        v[3 * q + k] = s * vpk + c * vqk;
      }
    }
  }
  const order = [0, 1, 2].sort((i, j) => a[4 * j] - a[4 * i]);
  return {
    values: Float64Array.from(order, (i) => a[4 * i]),
    vectors: Float64Array.from(order.flatMap((i) => [v[3 * i], v[3 * i + 1], v[3 * i + 2]])),
  };
}

/** (u, v) ∈ [0, 1]² per point by projection onto the best-fit plane; `points  #points by 3`. */
export function projectOntoBestFitPlane(points: Float64Array): Float64Array {
  const n = points.length / 3;
  const mean = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let k = 0; k < 3; k++) mean[k] += points[3 * i + k] / n;
  const cov = new Float64Array(9);
  for (let i = 0; i < n; i++) {
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++)
        cov[3 * r + c] += (points[3 * i + r] - mean[r]) * (points[3 * i + c] - mean[c]);
    }
  }
  const { vectors } = symmetricEigen3(cov);
  const params = new Float64Array(2 * n);
  const lo = [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY];
  const hi = [Number.NEGATIVE_INFINITY, Number.NEGATIVE_INFINITY];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) {
      let s = 0;
      for (let c = 0; c < 3; c++) s += (points[3 * i + c] - mean[c]) * vectors[3 * k + c];
      params[2 * i + k] = s;
      lo[k] = Math.min(lo[k], s);
      hi[k] = Math.max(hi[k], s);
    }
  }
  // rounding leaves a collinear cloud a sliver of width ~1e-16 across: refuse rather than stretch it to [0, 1]
  if (!(hi[1] - lo[1] > 1e-9 * (hi[0] - lo[0]))) {
    throw new ArgumentError(
      `points: the cloud is collinear (or a single point): its extent across the best-fit line is ${(hi[1] - lo[1]).toExponential(2)} against ${(hi[0] - lo[0]).toExponential(2)} along it, so no surface is determined`,
    );
  }
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < 2; k++) params[2 * i + k] = (params[2 * i + k] - lo[k]) / (hi[k] - lo[k]);
  }
  return params;
}
