/**
 * THB evaluation on a regular grid (image pixels), CPU f64. On a grid the tensor basis separates: the level-l
 * B-splines along axis k at grid coordinate i_k depend on (l, k, i_k) only, so they are tabulated once per
 * grid — `weights[k]  #levels by counts[k] by (p_k+1)` — and each point needs its element id (located once)
 * and a (p+1)^d tensor product of table rows. Forward: S(x) = Σ_j b_j(x) P_e[j]; backward to the local
 * blocks: G_e[j] += b_j(x) g(x) (then the transposed extraction of thbKernels.ts).
 * Shapes: `points  #points by d` (the grid, first axis fastest), `local  #elements by B by dim`.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { basisFunctions, createBasisWorkspace } from "../../splines/basis.js";
import { locatePoint } from "./planEvaluate.js";

/** The tabulated basis of one plan on one grid. */
export interface GridBasis {
  readonly counts: readonly number[];
  /** `#points`: the element of each grid point. */
  readonly element: Int32Array;
  /** Per axis k: `#levels by counts[k] by (p_k+1)` B-spline values. */
  readonly weights: readonly Float64Array[];
  /**
   * The tensor products `#points by B`, kept when they fit in TENSOR_LIMIT numbers (2D images: forward and
   * backward then read them instead of multiplying the axis rows again at every evaluation).
   */
  readonly tensor?: Float64Array;
}

/** Largest tabulated tensor basis, in numbers (64 MiB of f64). */
const TENSOR_LIMIT = 1 << 23;

/** Tabulates the basis of `plan` at the grid `points` (origin + spacing · i, `counts` per axis). */
export function gridBasis(
  plan: EvaluationPlan,
  points: ArrayLike<number>,
  counts: readonly number[],
): GridBasis {
  const d = plan.dimension;
  const L = plan.levelCount;
  const total = counts.reduce((a, b) => a * b, 1);
  if (points.length !== total * d) throw new RangeError(`grid points must hold ${total} × ${d} numbers`);
  const element = new Int32Array(total);
  for (let t = 0; t < total; t++) element[t] = locatePoint(plan, points, t * d);
  const work = createBasisWorkspace(Math.max(...plan.degrees));
  const weights: Float64Array[] = [];
  const cellOf: Int32Array[] = [];
  for (let k = 0; k < d; k++) {
    weights.push(new Float64Array(L * counts[k] * (plan.degrees[k] + 1)));
    cellOf.push(new Int32Array(L * counts[k]).fill(-1));
  }
  const stride = [1, counts[0], counts[0] * (counts[1] ?? 1)];
  for (let t = 0; t < total; t++) {
    const e = element[t];
    const l = plan.elementLevel[e];
    for (let k = 0; k < d; k++) {
      const i = Math.floor(t / stride[k]) % counts[k];
      const row = l * counts[k] + i;
      const cell = plan.elementSpan[e * d + k];
      if (cellOf[k][row] === cell) continue;
      // the walk in locatePoint picks a point's cell per axis from its coordinate alone
      if (cellOf[k][row] !== -1) throw new Error(`grid point ${t} located inconsistently along axis ${k}`);
      cellOf[k][row] = cell;
      const p = plan.degrees[k];
      const span = plan.knotStart[l * d + k] + cell;
      basisFunctions(plan.knots, p, span, points[t * d + k], weights[k], row * (p + 1), work);
    }
  }
  const basis: GridBasis = { counts: [...counts], element, weights };
  const B = plan.localSize;
  if (total * B > TENSOR_LIMIT) return basis;
  const tensor = new Float64Array(total * B);
  const w = new Float64Array(B);
  for (let t = 0; t < total; t++) {
    tensorWeights(plan, basis, t, element[t], w);
    tensor.set(w, t * B);
  }
  return { ...basis, tensor };
}

/** Values `#points by dim` of the field with local blocks `local` at the grid's points. */
export function gridForward(
  plan: EvaluationPlan,
  basis: GridBasis,
  local: Float64Array,
  dim: number,
  out = new Float64Array(basis.element.length * dim),
): Float64Array {
  const B = plan.localSize;
  const w = new Float64Array(B);
  const acc = new Float64Array(dim);
  const element = basis.element;
  const count = element.length;
  const tensor = basis.tensor;
  for (let t = 0; t < count; t++) {
    const e = element[t];
    const base = e * B * dim;
    // the point's weights: its row of the tabulated products, or multiplied out from the axis rows
    const weights = tensor ?? w;
    const o = tensor ? t * B : 0;
    if (!tensor) tensorWeights(plan, basis, t, e, w);
    if (dim === 2) {
      let a0 = 0;
      let a1 = 0;
      for (let b = 0; b < B; b++) {
        const wb = weights[o + b];
        a0 += wb * local[base + 2 * b];
        a1 += wb * local[base + 2 * b + 1];
      }
      out[2 * t] = a0;
      out[2 * t + 1] = a1;
      continue;
    }
    acc.fill(0);
    for (let b = 0; b < B; b++) {
      const wb = weights[o + b];
      for (let c = 0; c < dim; c++) acc[c] += wb * local[base + b * dim + c];
    }
    for (let c = 0; c < dim; c++) out[t * dim + c] = acc[c];
  }
  return out;
}

/** Per-element reduction G_e[j] = Σ_{x∈e} b_j(x) g(x) over the grid; `out  #elements by B by dim`. */
export function gridElementGradients(
  plan: EvaluationPlan,
  basis: GridBasis,
  cotangent: Float64Array,
  dim: number,
  out = new Float64Array(plan.elementCount * plan.localSize * dim),
): Float64Array {
  out.fill(0);
  const B = plan.localSize;
  const w = new Float64Array(B);
  const element = basis.element;
  const count = element.length;
  const tensor = basis.tensor;
  for (let t = 0; t < count; t++) {
    const e = element[t];
    const base = e * B * dim;
    const weights = tensor ?? w;
    const o = tensor ? t * B : 0;
    if (!tensor) tensorWeights(plan, basis, t, e, w);
    if (dim === 2) {
      const g0 = cotangent[2 * t];
      const g1 = cotangent[2 * t + 1];
      for (let b = 0; b < B; b++) {
        out[base + 2 * b] += weights[o + b] * g0;
        out[base + 2 * b + 1] += weights[o + b] * g1;
      }
      continue;
    }
    for (let c = 0; c < dim; c++) {
      const g = cotangent[t * dim + c];
      if (g === 0) continue;
      for (let b = 0; b < B; b++) out[base + b * dim + c] += weights[o + b] * g;
    }
  }
  return out;
}

/** The (p+1)^d tensor weights of grid point t on element e, first axis fastest. */
function tensorWeights(plan: EvaluationPlan, basis: GridBasis, t: number, e: number, w: Float64Array): void {
  const { counts, weights } = basis;
  const l = plan.elementLevel[e];
  const n0 = counts[0];
  const n1 = counts[1];
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const i0 = t % n0;
  const rest = (t - i0) / n0;
  const i1 = rest % n1;
  const W0 = weights[0];
  const W1 = weights[1];
  const o0 = (l * n0 + i0) * q0;
  const o1 = (l * n1 + i1) * q1;
  if (plan.dimension === 2) {
    let j = 0;
    for (let j1 = 0; j1 < q1; j1++) {
      const a1 = W1[o1 + j1];
      for (let j0 = 0; j0 < q0; j0++) w[j++] = a1 * W0[o0 + j0];
    }
    return;
  }
  const n2 = counts[2];
  const q2 = plan.degrees[2] + 1;
  const i2 = (rest - i1) / n1;
  const W2 = weights[2];
  const o2 = (l * n2 + i2) * q2;
  let j = 0;
  for (let j2 = 0; j2 < q2; j2++) {
    const a2 = W2[o2 + j2];
    for (let j1 = 0; j1 < q1; j1++) {
      const a12 = a2 * W1[o1 + j1];
      for (let j0 = 0; j0 < q0; j0++) w[j++] = a12 * W0[o0 + j0];
    }
  }
}
