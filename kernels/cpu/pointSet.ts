/**
 * Fixed points with their basis cached: the loops of fitting and registration evaluate the same points at
 * every iteration with new coefficients, so each point's element and its (p+1)^d local B-spline values are
 * computed once and kept. A forward is then one gather-and-dot per point, and the coefficient backward a
 * per-element reduction over points stored by element (deterministic, no atomics), followed by the
 * transposed extraction. Layout (slots in element order, kernels/cpu/elementOrder.ts):
 *   pointStart  #elements+1   element e owns slots pointStart[e] … pointStart[e+1]−1
 *   order       #points       slot s holds input point order[s] (stable: one element's points keep their order)
 *   basis       #points by B  basis[s·B + j] = b_j(x_order[s]), the element's level-l tensor B-splines in the
 *                             local block order of `local  #elements by B by dim` (first direction fastest)
 * Shapes otherwise as in thbKernels.ts; `sorted` arrays are in slot order, the others in input order.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { elementOrder } from "./elementOrder.js";
import { LocalBasisScratch, localTensorBasis } from "./planEvaluate.js";
import { type SparseExtraction, sparseExtraction } from "./sparseExtraction.js";
import { SurfaceBasisScratch, surfaceBasisAt, surfacePlanCache } from "./surfaceLocation.js";

/** A point set's cached element order and basis values. */
export interface PointSetBasis {
  readonly count: number;
  readonly pointStart: Int32Array;
  readonly order: Int32Array;
  readonly basis: Float64Array;
}

/** Bytes a point set of `count` points keeps for a plan (its basis values and its order). */
export function pointSetBytes(plan: EvaluationPlan, count: number): number {
  return count * (8 * plan.localSize + 4) + 4 * (plan.elementCount + 1);
}

/** Locates `params  #points by d`, sorts them by element and evaluates their local basis once. */
export function buildPointSetBasis(plan: EvaluationPlan, params: ArrayLike<number>): PointSetBasis {
  const d = plan.dimension;
  const B = plan.localSize;
  const { pointStart, order } = elementOrder(plan, params);
  const count = order.length;
  const basis = new Float64Array(count * B);
  if (d === 2) {
    // surfaces: the cached division-free A2.2 of the surface kernels, the products in local block order
    const cache = surfacePlanCache(plan);
    const p = plan.degrees[0];
    const q = plan.degrees[1];
    const scratch = new SurfaceBasisScratch(p, q);
    const { Nu, Nv } = scratch;
    for (let s = 0; s < count; s++) {
      const i = order[s];
      surfaceBasisAt(plan, cache, params[2 * i], params[2 * i + 1], scratch);
      let w = s * B;
      for (let j = 0; j <= q; j++) for (let k = 0; k <= p; k++) basis[w++] = Nu[k] * Nv[j];
    }
    return { count, pointStart, order, basis };
  }
  const scratch = new LocalBasisScratch(plan, 0);
  for (let e = 0; e < plan.elementCount; e++) {
    for (let s = pointStart[e]; s < pointStart[e + 1]; s++) {
      localTensorBasis(plan, e, params, order[s] * d, scratch);
      basis.set(scratch.values.subarray(0, B), s * B);
    }
  }
  return { count, pointStart, order, basis };
}

/** Rows of `values  #points by width` in slot order. */
export function toSlotOrder(set: PointSetBasis, values: ArrayLike<number>, width: number): Float64Array {
  const out = new Float64Array(set.count * width);
  const { order } = set;
  for (let s = 0; s < set.count; s++) {
    const from = order[s] * width;
    for (let c = 0; c < width; c++) out[s * width + c] = values[from + c];
  }
  return out;
}

/** Field values at the points, `out  #points by dim` in input order. */
export function pointSetValues(
  plan: EvaluationPlan,
  set: PointSetBasis,
  local: Float64Array,
  dim: number,
  out = new Float64Array(set.count * dim),
): Float64Array {
  const B = plan.localSize;
  const { pointStart, order, basis } = set;
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * dim;
    for (let s = pointStart[e]; s < pointStart[e + 1]; s++) {
      const w = s * B;
      const target = order[s] * dim;
      for (let c = 0; c < dim; c++) {
        let x = 0;
        for (let j = 0; j < B; j++) x += basis[w + j] * local[base + j * dim + c];
        out[target + c] = x;
      }
    }
  }
  return out;
}

/**
 * Per-element reduction G_e[j] = Σ_{x∈e} b_j(x) g(x) for `cotangent  #points by dim` in input order,
 * `out  #elements by B by dim` (overwritten).
 */
export function pointSetElementGradients(
  plan: EvaluationPlan,
  set: PointSetBasis,
  cotangent: ArrayLike<number>,
  dim: number,
  out = new Float64Array(plan.elementCount * plan.localSize * dim),
): Float64Array {
  const B = plan.localSize;
  const { pointStart, order, basis } = set;
  out.fill(0);
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * dim;
    for (let s = pointStart[e]; s < pointStart[e + 1]; s++) {
      const w = s * B;
      const from = order[s] * dim;
      for (let j = 0; j < B; j++) {
        const b = basis[w + j];
        const row = base + j * dim;
        for (let c = 0; c < dim; c++) out[row + c] += b * cotangent[from + c];
      }
    }
  }
  return out;
}

/** Per-point penalties ρ of the residual norm r = ‖S(x) − t‖ the fused loss knows. */
export type ResidualPenalty = "squared" | "huber" | "l1";

/** The smoothing of the norm for huber and l1, r = √(Σ r_c² + ε): the general path's constant. */
export const NORM_SMOOTHING = 1e-24;

/**
 * The fused loss Σ_k ρ(‖S(x_k) − t_k‖) · scale in one pass over the points (`targetsSorted  #points by dim`
 * in slot order): squared ρ = r², huber ρ = r²/(2δ) for r ≤ δ else r − δ/2, l1 ρ = r (norms smoothed by
 * NORM_SMOOTHING). With `functionGradients` (`#functions by dim`, overwritten) the same pass forms ∂loss/∂C:
 * each element's reduction G_e of ∂loss/∂S over its points (while they are in L1), at once scattered through
 * the element's non-zero extraction entries — the sums of pointSetElementGradients followed by
 * gatherFunctionGradientsCpu, in the same order (bit-identical), without the #elements × B × dim array
 * between them. Returns the loss.
 */
export function pointSetLoss(
  plan: EvaluationPlan,
  set: PointSetBasis,
  local: Float64Array,
  dim: number,
  targetsSorted: Float64Array,
  penalty: ResidualPenalty,
  delta: number,
  scale: number,
  functionGradients: Float64Array | undefined,
): number {
  if (functionGradients) functionGradients.fill(0, 0, plan.functionCount * dim);
  const loss =
    dim === 3
      ? lossOfTriples(plan, set, local, targetsSorted, penalty, delta, scale, functionGradients)
      : dim === 1
        ? lossOfScalars(plan, set, local, targetsSorted, penalty, delta, scale, functionGradients)
        : lossOfRows(plan, set, local, dim, targetsSorted, penalty, delta, scale, functionGradients);
  return loss * scale;
}

/**
 * ρ(r) and the factor f with ∂ρ/∂r_c = f · r_c, for r² = `squared`, written to `penaltyOut` [ρ, f · scale]
 * (module scratch: the hot loops call this per point and must not allocate).
 */
function penaltyOf(squared: number, penalty: ResidualPenalty, delta: number, scale: number): number {
  if (penalty === "squared") {
    penaltyFactor = 2 * scale;
    return squared;
  }
  const norm = Math.sqrt(squared + NORM_SMOOTHING);
  if (penalty === "l1") {
    penaltyFactor = scale / norm;
    return norm;
  }
  if (norm > delta) {
    penaltyFactor = scale / norm;
    return norm - delta / 2;
  }
  penaltyFactor = scale / delta;
  return (norm * norm) / (2 * delta);
}
let penaltyFactor = 0;

let adjointRows = new Float64Array(0);
/** Module scratch for per-point adjoints (slot order), grown on demand. */
function adjointScratch(n: number): Float64Array {
  if (adjointRows.length < n) adjointRows = new Float64Array(n);
  return adjointRows;
}

let elementRows = new Float64Array(0);
/** Module scratch for one element's reduction G_e (`B by dim`), grown on demand. */
function elementScratch(n: number): Float64Array {
  if (elementRows.length < n) elementRows = new Float64Array(n);
  return elementRows;
}

/**
 * out[a] += E_e[a, j] · G_e[j] over element e's non-zero extraction entries (`Ge  B by dim`), in the order
 * of gatherFunctionGradientsCpu.
 */
function scatterElement(
  sparse: SparseExtraction,
  e: number,
  Ge: Float64Array,
  dim: number,
  out: Float64Array,
): void {
  const { entryStart, entryFunction, entryLocal, entryCoefficient } = sparse;
  const last = entryStart[e + 1];
  if (dim === 3) {
    for (let n = entryStart[e]; n < last; n++) {
      const coefficient = entryCoefficient[n];
      const a = entryFunction[n] * 3;
      const row = entryLocal[n] * 3;
      out[a] += coefficient * Ge[row];
      out[a + 1] += coefficient * Ge[row + 1];
      out[a + 2] += coefficient * Ge[row + 2];
    }
    return;
  }
  for (let n = entryStart[e]; n < last; n++) {
    const coefficient = entryCoefficient[n];
    const a = entryFunction[n] * dim;
    const row = entryLocal[n] * dim;
    for (let c = 0; c < dim; c++) out[a + c] += coefficient * Ge[row + c];
  }
}

/** pointSetLoss for any dim (`residual` a scratch row). */
function lossOfRows(
  plan: EvaluationPlan,
  set: PointSetBasis,
  local: Float64Array,
  dim: number,
  targets: Float64Array,
  penalty: ResidualPenalty,
  delta: number,
  scale: number,
  out: Float64Array | undefined,
): number {
  const B = plan.localSize;
  const { pointStart, basis } = set;
  const sparse = sparseExtraction(plan);
  const residual = new Float64Array(dim);
  const G = elementScratch(B * dim);
  let loss = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * dim;
    if (out) G.fill(0, 0, B * dim);
    for (let s = pointStart[e]; s < pointStart[e + 1]; s++) {
      const w = s * B;
      let squared = 0;
      for (let c = 0; c < dim; c++) {
        let x = 0;
        for (let j = 0; j < B; j++) x += basis[w + j] * local[base + j * dim + c];
        const r = x - targets[s * dim + c];
        residual[c] = r;
        squared += r * r;
      }
      loss += penaltyOf(squared, penalty, delta, scale);
      if (!out) continue;
      for (let c = 0; c < dim; c++) residual[c] *= penaltyFactor;
      for (let j = 0; j < B; j++) {
        const b = basis[w + j];
        const row = j * dim;
        for (let c = 0; c < dim; c++) G[row + c] += b * residual[c];
      }
    }
    if (out) scatterElement(sparse, e, G, dim, out);
  }
  return loss;
}

/** pointSetLoss for dim 3 (surfaces in space): the row in three locals, the same sums as lossOfRows. */
function lossOfTriples(
  plan: EvaluationPlan,
  set: PointSetBasis,
  local: Float64Array,
  targets: Float64Array,
  penalty: ResidualPenalty,
  delta: number,
  scale: number,
  out: Float64Array | undefined,
): number {
  const B = plan.localSize;
  const { pointStart, basis } = set;
  const sparse = sparseExtraction(plan);
  const adjoint = adjointScratch(set.count * 3);
  const G = elementScratch(B * 3);
  const squared = penalty === "squared";
  const twiceScale = 2 * scale;
  let loss = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * 3;
    const first = pointStart[e];
    const last = pointStart[e + 1];
    for (let s = first; s < last; s++) {
      const w = s * B;
      // six independent sums (even and odd locals): three chains of B dependent adds are latency-bound
      let x0 = 0;
      let x1 = 0;
      let x2 = 0;
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      let j = 0;
      for (let row = base; j + 1 < B; j += 2, row += 6) {
        const b = basis[w + j];
        const c = basis[w + j + 1];
        x0 += b * local[row];
        x1 += b * local[row + 1];
        x2 += b * local[row + 2];
        y0 += c * local[row + 3];
        y1 += c * local[row + 4];
        y2 += c * local[row + 5];
      }
      if (j < B) {
        const b = basis[w + j];
        const row = base + 3 * j;
        x0 += b * local[row];
        x1 += b * local[row + 1];
        x2 += b * local[row + 2];
      }
      const r0 = x0 + y0 - targets[3 * s];
      const r1 = x1 + y1 - targets[3 * s + 1];
      const r2 = x2 + y2 - targets[3 * s + 2];
      const norm2 = r0 * r0 + r1 * r1 + r2 * r2;
      // the squared penalty inline (the fitting default); the others through penaltyOf
      let factor = twiceScale;
      if (squared) loss += norm2;
      else {
        loss += penaltyOf(norm2, penalty, delta, scale);
        factor = penaltyFactor;
      }
      if (!out) continue;
      adjoint[3 * s] = r0 * factor;
      adjoint[3 * s + 1] = r1 * factor;
      adjoint[3 * s + 2] = r2 * factor;
    }
    if (!out) continue;
    // the element's reduction, four locals at a time: twelve sums in registers over its points (in L1
    // by now), each point's adjoint read once per four locals
    let j = 0;
    for (; j + 3 < B; j += 4) {
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      let z0 = 0;
      let z1 = 0;
      let z2 = 0;
      let u0 = 0;
      let u1 = 0;
      let u2 = 0;
      let v0 = 0;
      let v1 = 0;
      let v2 = 0;
      for (let s = first; s < last; s++) {
        const a0 = adjoint[3 * s];
        const a1 = adjoint[3 * s + 1];
        const a2 = adjoint[3 * s + 2];
        const w = s * B + j;
        const b = basis[w];
        y0 += b * a0;
        y1 += b * a1;
        y2 += b * a2;
        const c = basis[w + 1];
        z0 += c * a0;
        z1 += c * a1;
        z2 += c * a2;
        const d = basis[w + 2];
        u0 += d * a0;
        u1 += d * a1;
        u2 += d * a2;
        const f = basis[w + 3];
        v0 += f * a0;
        v1 += f * a1;
        v2 += f * a2;
      }
      const r = 3 * j;
      G[r] = y0;
      G[r + 1] = y1;
      G[r + 2] = y2;
      G[r + 3] = z0;
      G[r + 4] = z1;
      G[r + 5] = z2;
      G[r + 6] = u0;
      G[r + 7] = u1;
      G[r + 8] = u2;
      G[r + 9] = v0;
      G[r + 10] = v1;
      G[r + 11] = v2;
    }
    for (; j < B; j++) {
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      for (let s = first; s < last; s++) {
        const b = basis[s * B + j];
        y0 += b * adjoint[3 * s];
        y1 += b * adjoint[3 * s + 1];
        y2 += b * adjoint[3 * s + 2];
      }
      G[3 * j] = y0;
      G[3 * j + 1] = y1;
      G[3 * j + 2] = y2;
    }
    scatterElement(sparse, e, G, 3, out);
  }
  return loss;
}

/** pointSetLoss for dim 1 (height fields, images): each value as four partial sums (instruction parallelism). */
function lossOfScalars(
  plan: EvaluationPlan,
  set: PointSetBasis,
  local: Float64Array,
  targets: Float64Array,
  penalty: ResidualPenalty,
  delta: number,
  scale: number,
  out: Float64Array | undefined,
): number {
  const B = plan.localSize;
  const { pointStart, basis } = set;
  const sparse = sparseExtraction(plan);
  const adjoint = adjointScratch(set.count);
  const G = elementScratch(B);
  const squared = penalty === "squared";
  const twiceScale = 2 * scale;
  let loss = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B;
    const first = pointStart[e];
    const last = pointStart[e + 1];
    for (let s = first; s < last; s++) {
      const w = s * B;
      // four independent sums (a single chain of B dependent adds is latency-bound)
      let x0 = 0;
      let x1 = 0;
      let x2 = 0;
      let x3 = 0;
      let j = 0;
      for (; j + 3 < B; j += 4) {
        x0 += basis[w + j] * local[base + j];
        x1 += basis[w + j + 1] * local[base + j + 1];
        x2 += basis[w + j + 2] * local[base + j + 2];
        x3 += basis[w + j + 3] * local[base + j + 3];
      }
      for (; j < B; j++) x0 += basis[w + j] * local[base + j];
      const r = x0 + x1 + (x2 + x3) - targets[s];
      // the squared penalty inline (the fitting default); the others through penaltyOf
      if (squared) {
        loss += r * r;
        if (out) adjoint[s] = r * twiceScale;
      } else {
        loss += penaltyOf(r * r, penalty, delta, scale);
        if (out) adjoint[s] = r * penaltyFactor;
      }
    }
    if (!out) continue;
    // four locals at a time: four independent sums over the element's points
    let j = 0;
    for (; j + 3 < B; j += 4) {
      let y0 = 0;
      let y1 = 0;
      let y2 = 0;
      let y3 = 0;
      for (let s = first; s < last; s++) {
        const a = adjoint[s];
        const w = s * B + j;
        y0 += basis[w] * a;
        y1 += basis[w + 1] * a;
        y2 += basis[w + 2] * a;
        y3 += basis[w + 3] * a;
      }
      G[j] = y0;
      G[j + 1] = y1;
      G[j + 2] = y2;
      G[j + 3] = y3;
    }
    for (; j < B; j++) {
      let y = 0;
      for (let s = first; s < last; s++) y += basis[s * B + j] * adjoint[s];
      G[j] = y;
    }
    scatterElement(sparse, e, G, 1, out);
  }
  return loss;
}
