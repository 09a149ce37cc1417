/**
 * CPU (f64) evaluation from a compiled plan: point location, the THB basis at points, and fields.
 * Shapes: `params  #points by d`; `control  #functions by dim`; `localControl  #elements by B by dim`;
 * field output `#points by blocks by dim` with blocks in derivativeMultiIndices order (value, ∂_k, ∂_kk,
 * mixed). Hot loops use caller-sized scratch allocated once per call.
 */

import { type EvaluationPlan, extractionRows } from "../../hierarchy/plan.js";
import { type BasisWorkspace, basisFunctionDerivatives, createBasisWorkspace } from "../../splines/basis.js";
import { derivativeMultiIndices } from "../../splines/tensorBasis.js";
import { sparseExtraction } from "./sparseExtraction.js";

/** Element id containing x (x read from params[offset … offset+d−1]); see plan.ts for the walk. */
export function locatePoint(plan: EvaluationPlan, params: ArrayLike<number>, offset: number): number {
  const d = plan.dimension;
  const nodes = plan.treeNodes;
  const breaks = plan.rootBreaks;
  let root = 0;
  let stride = 1;
  // the level-0 cell per direction, and its bounds, kept for the descent
  let lo0 = 0;
  let hi0 = 0;
  let lo1 = 0;
  let hi1 = 0;
  let lo2 = 0;
  let hi2 = 0;
  for (let k = 0; k < d; k++) {
    const start = plan.rootBreakStart[k];
    const cells = plan.rootCells[k];
    const x = params[offset + k];
    let a = 0;
    let b = cells;
    // invariant: breaks[a] <= x < breaks[b] (x at the upper end stays in the last cell)
    while (b - a > 1) {
      const mid = (a + b) >> 1;
      if (x < breaks[start + mid]) b = mid;
      else a = mid;
    }
    root += a * stride;
    stride *= cells;
    const lo = breaks[start + a];
    const hi = breaks[start + a + 1];
    if (k === 0) {
      lo0 = lo;
      hi0 = hi;
    } else if (k === 1) {
      lo1 = lo;
      hi1 = hi;
    } else {
      lo2 = lo;
      hi2 = hi;
    }
  }
  let node = nodes[root];
  while (node < 0) {
    let bits = 0;
    let mid = 0.5 * (lo0 + hi0);
    if (params[offset] >= mid) {
      bits = 1;
      lo0 = mid;
    } else hi0 = mid;
    mid = 0.5 * (lo1 + hi1);
    if (params[offset + 1] >= mid) {
      bits |= 2;
      lo1 = mid;
    } else hi1 = mid;
    if (d === 3) {
      mid = 0.5 * (lo2 + hi2);
      if (params[offset + 2] >= mid) {
        bits |= 4;
        lo2 = mid;
      } else hi2 = mid;
    }
    node = nodes[-node + bits];
  }
  return node;
}

/** Element of each point, `out  #points`. */
export function locatePoints(plan: EvaluationPlan, params: ArrayLike<number>, out?: Int32Array): Int32Array {
  const d = plan.dimension;
  const count = params.length / d;
  const target = out ?? new Int32Array(count);
  for (let i = 0; i < count; i++) target[i] = locatePoint(plan, params, i * d);
  return target;
}

/** Scratch for local tensor basis evaluation on one plan and derivative order. */
export class LocalBasisScratch {
  readonly work: BasisWorkspace;
  readonly ders: Float64Array[];
  /** blocks × 3 per-direction derivative orders. */
  readonly orders: Int32Array;
  readonly blocks: number;
  /** `blocks by B` local tensor values. */
  readonly values: Float64Array;
  readonly order: number;

  constructor(plan: EvaluationPlan, order: number) {
    const d = plan.dimension;
    this.order = order;
    this.work = createBasisWorkspace(Math.max(...plan.degrees));
    this.ders = Array.from({ length: 3 }, (_, k) =>
      k < d ? new Float64Array((order + 1) * (plan.degrees[k] + 1)) : Float64Array.of(1),
    );
    const multi = derivativeMultiIndices(d, order);
    this.blocks = multi.length;
    this.orders = new Int32Array(3 * multi.length);
    multi.forEach((m, b) => {
      for (let k = 0; k < d; k++) this.orders[3 * b + k] = m[k];
    });
    this.values = new Float64Array(this.blocks * plan.localSize);
  }
}

/** Fills scratch.values with the element's local level-l B-splines (and derivatives) at x. */
export function localTensorBasis(
  plan: EvaluationPlan,
  element: number,
  params: ArrayLike<number>,
  offset: number,
  s: LocalBasisScratch,
): void {
  const d = plan.dimension;
  const level = plan.elementLevel[element];
  const q = [1, 1, 1];
  for (let k = 0; k < d; k++) {
    const p = plan.degrees[k];
    q[k] = p + 1;
    const span = plan.knotStart[level * d + k] + plan.elementSpan[element * d + k];
    basisFunctionDerivatives(plan.knots, p, span, params[offset + k], s.order, s.ders[k], 0, s.work);
  }
  const [D0, D1, D2] = s.ders;
  const B = plan.localSize;
  for (let b = 0; b < s.blocks; b++) {
    const o0 = s.orders[3 * b] * q[0];
    const o1 = s.orders[3 * b + 1] * q[1];
    const o2 = s.orders[3 * b + 2] * q[2];
    let j = b * B;
    for (let j2 = 0; j2 < q[2]; j2++) {
      const w2 = D2[o2 + j2];
      for (let j1 = 0; j1 < q[1]; j1++) {
        const w12 = w2 * D1[o1 + j1];
        for (let j0 = 0; j0 < q[0]; j0++) s.values[j++] = w12 * D0[o0 + j0];
      }
    }
  }
}

/** The non-zero THB functions at one point, with values and derivatives `#functions by blocks`. */
export interface PointBasis {
  element: number;
  functions: Int32Array;
  values: Float64Array;
}

/** The THB basis at each point (not a hot path: allocates per point). */
export function evaluateBasis(plan: EvaluationPlan, params: ArrayLike<number>, order: number): PointBasis[] {
  const d = plan.dimension;
  const B = plan.localSize;
  const s = new LocalBasisScratch(plan, order);
  const result: PointBasis[] = [];
  for (let i = 0; i < params.length / d; i++) {
    const e = locatePoint(plan, params, i * d);
    localTensorBasis(plan, e, params, i * d, s);
    const start = plan.extractionStart[e];
    const count = plan.extractionStart[e + 1] - start;
    const values = new Float64Array(count * s.blocks);
    for (let a = 0; a < count; a++) {
      const row = (start + a) * B;
      for (let b = 0; b < s.blocks; b++) {
        let v = 0;
        for (let j = 0; j < B; j++) v += plan.extractionCoefficients[row + j] * s.values[b * B + j];
        values[a * s.blocks + b] = v;
      }
    }
    result.push({ element: e, functions: plan.extractionFunctions.slice(start, start + count), values });
  }
  return result;
}

/** Local control points P_e = E_eᵀ C_e for every element, `out  #elements by B by dim`. */
export function localControl(
  plan: EvaluationPlan,
  control: ArrayLike<number>,
  dim: number,
  out?: Float64Array,
): Float64Array {
  const B = plan.localSize;
  const target = out ?? new Float64Array(plan.elementCount * B * dim);
  target.fill(0, 0, plan.elementCount * B * dim);
  // the non-zeros only, in the dense loop's order (the same sums)
  const { entryStart, entryFunction, entryLocal, entryCoefficient } = sparseExtraction(plan);
  for (let e = 0; e < plan.elementCount; e++) {
    const base = e * B * dim;
    for (let n = entryStart[e]; n < entryStart[e + 1]; n++) {
      const a = entryCoefficient[n];
      const c = entryFunction[n] * dim;
      const row = base + entryLocal[n] * dim;
      for (let k = 0; k < dim; k++) target[row + k] += a * control[c + k];
    }
  }
  return target;
}

/**
 * Recomputes the local control points of the listed elements only, in place in `target` (the rest stay):
 * the same sums in the same order as localControl, so the result is bit-identical to recomputing all.
 */
export function updateLocalControl(
  plan: EvaluationPlan,
  control: ArrayLike<number>,
  dim: number,
  elements: Iterable<number>,
  target: Float64Array,
): Float64Array {
  const B = plan.localSize;
  // the rows where they are (a plan compiled from a previous one keeps them in a shared pool)
  const { values: E, rowStart } = extractionRows(plan);
  for (const e of elements) {
    const base = e * B * dim;
    target.fill(0, base, base + B * dim);
    const start = plan.extractionStart[e];
    const shift = rowStart[e] - start;
    for (let r = start; r < plan.extractionStart[e + 1]; r++) {
      const c = plan.extractionFunctions[r] * dim;
      for (let j = 0; j < B; j++) {
        const a = E[(r + shift) * B + j];
        if (a === 0) continue;
        const row = base + j * dim;
        for (let k = 0; k < dim; k++) target[row + k] += a * control[c + k];
      }
    }
  }
  return target;
}

const functionElementsCache = new WeakMap<EvaluationPlan, { start: Int32Array; elements: Int32Array }>();

/**
 * The elements each function acts on (the transpose of the extraction's function lists), built on first use
 * and kept with the plan: function f acts on elements[start[f] … start[f+1]−1], ascending.
 */
export function functionElements(plan: EvaluationPlan): { start: Int32Array; elements: Int32Array } {
  let found = functionElementsCache.get(plan);
  if (found) return found;
  const nF = plan.functionCount;
  const start = new Int32Array(nF + 1);
  const rows = plan.extractionFunctions;
  for (let r = 0; r < rows.length; r++) start[rows[r] + 1]++;
  for (let f = 0; f < nF; f++) start[f + 1] += start[f];
  const fill = start.slice(0, nF);
  const elements = new Int32Array(rows.length);
  for (let e = 0; e < plan.elementCount; e++) {
    for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) elements[fill[rows[r]]++] = e;
  }
  found = { start, elements };
  functionElementsCache.set(plan, found);
  return found;
}

/** Field values (and derivatives up to `order`) from local control points; `out  #points by blocks by dim`. */
export function evaluateLocalField(
  plan: EvaluationPlan,
  local: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  order: number,
  out?: Float64Array,
): Float64Array {
  const d = plan.dimension;
  const B = plan.localSize;
  const count = params.length / d;
  const s = new LocalBasisScratch(plan, order);
  const blocks = s.blocks;
  const target = out ?? new Float64Array(count * blocks * dim);
  const values = s.values;
  for (let i = 0; i < count; i++) {
    const e = locatePoint(plan, params, i * d);
    localTensorBasis(plan, e, params, i * d, s);
    const base = e * B * dim;
    for (let b = 0; b < blocks; b++) {
      const o = (i * blocks + b) * dim;
      for (let k = 0; k < dim; k++) target[o + k] = 0;
      for (let j = 0; j < B; j++) {
        const w = values[b * B + j];
        const row = base + j * dim;
        for (let k = 0; k < dim; k++) target[o + k] += w * local[row + k];
      }
    }
  }
  return target;
}
