/**
 * Batched evaluation of tensor-product B-spline functions and their derivatives.
 *
 * Shapes: `params  #points by d`, `control  #functions by dim` (rows in TensorBasis order),
 * `out  #points by blocks by dim` where blocks are the derivativeMultiIndices of the order
 * (value first). Workspaces are allocated once per call, never per point.
 */
import {
  type BasisWorkspace,
  basisFunctionDerivatives,
  basisFunctionsPrecomputed,
  createBasisWorkspace,
} from "./basis.js";
import { derivativeMultiIndices, type TensorBasis } from "./tensorBasis.js";

/** Per-call scratch for tensor evaluation, padded to three directions (missing ones are constant 1). */
class TensorScratch {
  readonly work: BasisWorkspace;
  readonly degrees = new Int32Array(3);
  readonly sizes = new Int32Array([1, 1, 1]);
  readonly spans = new Int32Array(3);
  /** ders[k]: (order+1) × (p_k+1) derivative table of direction k. */
  readonly ders: Float64Array[];
  /** blocks × 3 derivative orders per direction. */
  readonly orders: Int32Array;
  readonly blocks: number;

  constructor(basis: TensorBasis, order: number) {
    let maxDegree = 0;
    for (let k = 0; k < basis.dimension; k++) {
      this.degrees[k] = basis.degrees[k];
      this.sizes[k] = basis.sizes[k];
      maxDegree = Math.max(maxDegree, basis.degrees[k]);
    }
    this.work = createBasisWorkspace(maxDegree);
    this.ders = [0, 1, 2].map((k) =>
      k < basis.dimension ? new Float64Array((order + 1) * (this.degrees[k] + 1)) : Float64Array.of(1),
    );
    const multi = derivativeMultiIndices(basis.dimension, order);
    this.blocks = multi.length;
    this.orders = new Int32Array(3 * multi.length);
    multi.forEach((m, b) => {
      for (let k = 0; k < m.length; k++) this.orders[3 * b + k] = m[k];
    });
  }
}

/**
 * Values and partial derivatives up to `order` (0–2) at each point; see derivativeMultiIndices for the
 * block order. Inputs are trusted: validate them at the public boundary first.
 */
export function evaluateTensorDerivatives(
  basis: TensorBasis,
  control: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  order: number,
  out: Float64Array,
): Float64Array {
  const d = basis.dimension;
  const count = params.length / d;
  const scratch = new TensorScratch(basis, order);
  const { degrees, sizes, spans, ders, orders, blocks, work } = scratch;
  const q0 = degrees[0] + 1;
  const q1 = degrees[1] + 1;
  const q2 = degrees[2] + 1;
  const [D0, D1, D2] = ders;
  out.fill(0, 0, count * blocks * dim);
  for (let pt = 0; pt < count; pt++) {
    for (let k = 0; k < d; k++) {
      const x = params[pt * d + k];
      const s = basis.locators[k].find(x);
      spans[k] = s - degrees[k];
      basisFunctionDerivatives(basis.knots[k], degrees[k], s, x, order, ders[k], 0, work);
    }
    for (let b = 0; b < blocks; b++) {
      const o0 = orders[3 * b] * q0;
      const o1 = orders[3 * b + 1] * q1;
      const o2 = orders[3 * b + 2] * q2;
      const base = (pt * blocks + b) * dim;
      for (let j2 = 0; j2 < q2; j2++) {
        const w2 = D2[o2 + j2];
        const row2 = spans[2] + j2;
        for (let j1 = 0; j1 < q1; j1++) {
          const w12 = w2 * D1[o1 + j1];
          const row12 = (spans[1] + j1 + sizes[1] * row2) * sizes[0] + spans[0];
          for (let j0 = 0; j0 < q0; j0++) {
            const w = w12 * D0[o0 + j0];
            const row = (row12 + j0) * dim;
            for (let c = 0; c < dim; c++) out[base + c] += w * control[row + c];
          }
        }
      }
    }
  }
  return out;
}

/**
 * Values only of a two-parameter tensor spline: the fast path (division-free A2.2 per direction, then the
 * (p+1)×(q+1) contraction). `out  #points by dim`.
 */
export function evaluateSurfaceValues(
  basis: TensorBasis,
  control: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  const p = basis.degrees[0];
  const q = basis.degrees[1];
  const U = basis.knots[0];
  const V = basis.knots[1];
  const locU = basis.locators[0];
  const locV = basis.locators[1];
  const invU = locU.inverseDifferences;
  const invV = locV.inverseDifferences;
  const n0 = basis.sizes[0];
  const q1 = Math.max(p, q) + 1;
  const left = new Float64Array(q1);
  const right = new Float64Array(q1);
  const Nu = new Float64Array(p + 1);
  const Nv = new Float64Array(q + 1);
  const count = params.length / 2;
  if (dim === 3) {
    for (let pt = 0; pt < count; pt++) {
      const u = params[2 * pt];
      const v = params[2 * pt + 1];
      const su = locU.find(u);
      const sv = locV.find(v);
      basisFunctionsPrecomputed(U, p, su, u, invU, Nu, left, right);
      basisFunctionsPrecomputed(V, q, sv, v, invV, Nv, left, right);
      let x = 0;
      let y = 0;
      let z = 0;
      for (let j = 0; j <= q; j++) {
        let row = ((sv - q + j) * n0 + su - p) * 3;
        let rx = 0;
        let ry = 0;
        let rz = 0;
        for (let i = 0; i <= p; i++, row += 3) {
          const w = Nu[i];
          rx += w * control[row];
          ry += w * control[row + 1];
          rz += w * control[row + 2];
        }
        const wv = Nv[j];
        x += wv * rx;
        y += wv * ry;
        z += wv * rz;
      }
      out[3 * pt] = x;
      out[3 * pt + 1] = y;
      out[3 * pt + 2] = z;
    }
    return out;
  }
  out.fill(0, 0, count * dim);
  for (let pt = 0; pt < count; pt++) {
    const u = params[2 * pt];
    const v = params[2 * pt + 1];
    const su = locU.find(u);
    const sv = locV.find(v);
    basisFunctionsPrecomputed(U, p, su, u, invU, Nu, left, right);
    basisFunctionsPrecomputed(V, q, sv, v, invV, Nv, left, right);
    for (let j = 0; j <= q; j++) {
      const rowBase = (sv - q + j) * n0 + su - p;
      for (let i = 0; i <= p; i++) {
        const w = Nu[i] * Nv[j];
        const row = (rowBase + i) * dim;
        for (let c = 0; c < dim; c++) out[pt * dim + c] += w * control[row + c];
      }
    }
  }
  return out;
}
