/**
 * The bicubic fast path: A2.2 unrolled for p = q = 3 with precomputed reciprocal knot differences, and the
 * 4 × 4 contraction in registers. Same results as evaluateSurfaceValues; bicubic is the common case.
 */
import type { TensorBasis } from "./tensorBasis.js";

const SIXTH = 1 / 6;

/** Values of a bicubic surface, `control  #functions by dim`, `out  #points by dim`. */
export function evaluateBicubicValues(
  basis: TensorBasis,
  control: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  const U = basis.knots[0];
  const V = basis.knots[1];
  const locU = basis.locators[0];
  const locV = basis.locators[1];
  const invU = locU.inverseDifferences;
  const invV = locV.inverseDifferences;
  const uniformU = locU.uniformInverseWidth;
  const uniformV = locV.uniformInverseWidth;
  const n0 = basis.sizes[0];
  const count = params.length / 2;
  const rowStride = n0 * dim;
  // SpanLocator.find, inlined with its fields in locals: this loop is the benchmark's hot path
  const [lowU, highU, firstU, lastU, scaleU, startU] = [
    locU.lower,
    locU.upper,
    locU.firstSpan,
    locU.lastSpan,
    locU.bucketScale,
    locU.bucketStart,
  ];
  const [lowV, highV, firstV, lastV, scaleV, startV] = [
    locV.lower,
    locV.upper,
    locV.firstSpan,
    locV.lastSpan,
    locV.bucketScale,
    locV.bucketStart,
  ];
  for (let pt = 0; pt < count; pt++) {
    const u = params[2 * pt];
    const v = params[2 * pt + 1];
    let su: number;
    if (u >= highU) su = lastU;
    else if (u <= lowU) su = firstU;
    else {
      su = startU[((u - lowU) * scaleU) | 0];
      while (u >= U[su + 1]) su++;
      while (u < U[su]) su--;
    }
    let sv: number;
    if (v >= highV) sv = lastV;
    else if (v <= lowV) sv = firstV;
    else {
      sv = startV[((v - lowV) * scaleV) | 0];
      while (v >= V[sv + 1]) sv++;
      while (v < V[sv]) sv--;
    }
    // u direction: N_{su-3..su, 3}(u); spans with uniformly spaced neighbours take the closed-form
    // uniform cubic B-spline (the same polynomials, fewer operations), others A2.2 unrolled
    let a0: number;
    let a1: number;
    let a2: number;
    let a3: number;
    const hu = uniformU[su];
    if (hu > 0) {
      const t1 = (u - U[su]) * hu;
      const t2 = t1 * t1;
      const t3 = t2 * t1;
      a0 = (1 - 3 * t1 + 3 * t2 - t3) * SIXTH;
      a1 = (4 - 6 * t2 + 3 * t3) * SIXTH;
      a2 = (1 + 3 * t1 + 3 * t2 - 3 * t3) * SIXTH;
      a3 = t3 * SIXTH;
    } else {
      const b = su * 6;
      const l1 = u - U[su];
      const r1 = U[su + 1] - u;
      const l2 = u - U[su - 1];
      const r2 = U[su + 2] - u;
      const l3 = u - U[su - 2];
      const r3 = U[su + 3] - u;
      let t = invU[b];
      a0 = r1 * t;
      a1 = l1 * t;
      t = a0 * invU[b + 1];
      let s = l2 * t;
      a0 = r1 * t;
      t = a1 * invU[b + 2];
      a1 = s + r2 * t;
      a2 = l1 * t;
      t = a0 * invU[b + 3];
      s = l3 * t;
      a0 = r1 * t;
      t = a1 * invU[b + 4];
      a1 = s + r2 * t;
      s = l2 * t;
      t = a2 * invU[b + 5];
      a2 = s + r3 * t;
      a3 = l1 * t;
    }
    // v direction, the same way
    let c0: number;
    let c1: number;
    let c2: number;
    let c3: number;
    const hv = uniformV[sv];
    if (hv > 0) {
      const t1 = (v - V[sv]) * hv;
      const t2 = t1 * t1;
      const t3 = t2 * t1;
      c0 = (1 - 3 * t1 + 3 * t2 - t3) * SIXTH;
      c1 = (4 - 6 * t2 + 3 * t3) * SIXTH;
      c2 = (1 + 3 * t1 + 3 * t2 - 3 * t3) * SIXTH;
      c3 = t3 * SIXTH;
    } else {
      const b = sv * 6;
      const m1 = v - V[sv];
      const q1 = V[sv + 1] - v;
      const m2 = v - V[sv - 1];
      const q2 = V[sv + 2] - v;
      const m3 = v - V[sv - 2];
      const q3 = V[sv + 3] - v;
      let t = invV[b];
      c0 = q1 * t;
      c1 = m1 * t;
      t = c0 * invV[b + 1];
      let s = m2 * t;
      c0 = q1 * t;
      t = c1 * invV[b + 2];
      c1 = s + q2 * t;
      c2 = m1 * t;
      t = c0 * invV[b + 3];
      s = m3 * t;
      c0 = q1 * t;
      t = c1 * invV[b + 4];
      c1 = s + q2 * t;
      s = m2 * t;
      t = c2 * invV[b + 5];
      c2 = s + q3 * t;
      c3 = m1 * t;
    }
    const base = ((sv - 3) * n0 + su - 3) * dim;
    for (let c = 0; c < dim; c++) {
      let r0 = base + c;
      let x =
        c0 *
        (a0 * control[r0] + a1 * control[r0 + dim] + a2 * control[r0 + 2 * dim] + a3 * control[r0 + 3 * dim]);
      r0 += rowStride;
      x +=
        c1 *
        (a0 * control[r0] + a1 * control[r0 + dim] + a2 * control[r0 + 2 * dim] + a3 * control[r0 + 3 * dim]);
      r0 += rowStride;
      x +=
        c2 *
        (a0 * control[r0] + a1 * control[r0 + dim] + a2 * control[r0 + 2 * dim] + a3 * control[r0 + 3 * dim]);
      r0 += rowStride;
      x +=
        c3 *
        (a0 * control[r0] + a1 * control[r0 + dim] + a2 * control[r0 + 2 * dim] + a3 * control[r0 + 3 * dim]);
      out[pt * dim + c] = x;
    }
  }
  return out;
}
