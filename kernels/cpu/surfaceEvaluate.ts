/**
 * The forward hot path for two-parameter plans: field values at scattered points, located and with their
 * bases through the per-plan cache of surfaceLocation.ts. Bicubic plans take an unrolled path. Control comes as local blocks (`local  #elements by B by dim`).
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import {
  DEPTH_BITS,
  DEPTH_SCALE,
  SurfaceBasisScratch,
  type SurfacePlanCache,
  surfaceBasisAt,
  surfacePlanCache,
} from "./surfaceLocation.js";

const SIXTH = 1 / 6;

/** Field values at `params  #points by 2`; `out  #points by dim`. */
export function evaluateSurfaceField(
  plan: EvaluationPlan,
  local: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  out?: Float64Array,
): Float64Array {
  const count = params.length / 2;
  const target = out ?? new Float64Array(count * dim);
  const cache = surfacePlanCache(plan);
  if (plan.degrees[0] === 3 && plan.degrees[1] === 3)
    return bicubicValues(plan, cache, local, dim, params, target);
  const p = plan.degrees[0];
  const q = plan.degrees[1];
  const B = plan.localSize;
  const basis = new SurfaceBasisScratch(p, q);
  const { Nu, Nv } = basis;
  for (let i = 0; i < count; i++) {
    const e = surfaceBasisAt(plan, cache, params[2 * i], params[2 * i + 1], basis);
    const base = e * B * dim;
    for (let c = 0; c < dim; c++) {
      let sum = 0;
      let row = base + c;
      for (let j = 0; j <= q; j++) {
        let inner = 0;
        for (let k = 0; k <= p; k++, row += dim) inner += Nu[k] * local[row];
        sum += Nv[j] * inner;
      }
      target[i * dim + c] = sum;
    }
  }
  return target;
}

/**
 * Per-level control grids. On an active level-l element every THB function is, restricted there, a fixed
 * level-l spline (truncation only drops finer B-splines that vanish on it), so P_e[j] depends on the
 * level-l B-spline j only, not on e: the local blocks of all level-l elements are windows of one level-l
 * tensor grid. Stored over the bounding box of the level's elements, that grid is as compact as a tensor
 * spline's control net and keeps evaluation cache-friendly. Levels whose box would exceed 4× the rows of
 * their elements' blocks keep per-element 4-wide blocks instead. All grids live in one array; each element
 * gets one packed record so the hot loop reads a single cache line per point:
 *   elementRecord[8e …] = [first row of its block, functions per row, u knot index, u inverse index,
 *                          v knot index, v inverse index, 0, 0]
 * with knot and inverse indices into the concatenated per-level tables `knots` and `inverses`.
 */
interface ControlLayout {
  /** Rows (functions) of the combined grid array. */
  rows: number;
  elementRecord: Int32Array;
  /**
   * Per element: 1/h of its u and v spans when their neighbourhood is uniformly spaced (the basis there is
   * the translated uniform cubic B-spline, in closed form), else 0.
   */
  elementUniform: Float64Array;
  knots: Float64Array;
  inverses: Float64Array;
}

const layouts = new WeakMap<EvaluationPlan, ControlLayout>();

function controlLayout(plan: EvaluationPlan, cache: SurfacePlanCache): ControlLayout {
  let layout = layouts.get(plan);
  if (layout) return layout;
  const L = plan.levelCount;
  const p = plan.degrees[0];
  const q = plan.degrees[1];
  const B = plan.localSize;
  const lo0 = new Int32Array(L).fill(2 ** 30);
  const lo1 = new Int32Array(L).fill(2 ** 30);
  const hi0 = new Int32Array(L);
  const hi1 = new Int32Array(L);
  const count = new Int32Array(L);
  for (let e = 0; e < plan.elementCount; e++) {
    const l = plan.elementLevel[e];
    const f0 = plan.elementSpan[2 * e] - p;
    const f1 = plan.elementSpan[2 * e + 1] - q;
    lo0[l] = Math.min(lo0[l], f0);
    lo1[l] = Math.min(lo1[l], f1);
    hi0[l] = Math.max(hi0[l], f0 + p + 1);
    hi1[l] = Math.max(hi1[l], f1 + q + 1);
    count[l]++;
  }
  const width = new Int32Array(L);
  const start = new Int32Array(L);
  let rows = 0;
  for (let l = 0; l < L; l++) {
    const area = Math.max(0, hi0[l] - lo0[l]) * Math.max(0, hi1[l] - lo1[l]);
    width[l] = count[l] > 0 && area <= 4 * count[l] * B ? hi0[l] - lo0[l] : 0;
    start[l] = rows;
    rows += width[l] > 0 ? area : 0;
  }
  const knotStart: number[] = [];
  const inverseStart: number[] = [];
  let knotTotal = 0;
  let inverseTotal = 0;
  for (let i = 0; i < cache.levelKnots.length; i++) {
    knotStart.push(knotTotal);
    inverseStart.push(inverseTotal);
    knotTotal += cache.levelKnots[i].length;
    inverseTotal += cache.levelInverses[i].length;
  }
  const knots = new Float64Array(knotTotal);
  const inverses = new Float64Array(inverseTotal);
  cache.levelKnots.forEach((U, i) => {
    knots.set(U, knotStart[i]);
  });
  cache.levelInverses.forEach((I, i) => {
    inverses.set(I, inverseStart[i]);
  });
  const tri = (p * (p + 1)) / 2;
  const triV = (q * (q + 1)) / 2;
  const elementRecord = new Int32Array(plan.elementCount * 8);
  const elementUniform = new Float64Array(plan.elementCount * 2);
  for (let e = 0; e < plan.elementCount; e++) {
    const l = plan.elementLevel[e];
    const su = plan.elementSpan[2 * e];
    const sv = plan.elementSpan[2 * e + 1];
    const r = 8 * e;
    if (p === 3 && q === 3) {
      elementUniform[2 * e] = cache.levelUniform[2 * l][su];
      elementUniform[2 * e + 1] = cache.levelUniform[2 * l + 1][sv];
    }
    if (width[l] > 0) {
      elementRecord[r] = start[l] + (sv - q - lo1[l]) * width[l] + su - p - lo0[l];
      elementRecord[r + 1] = width[l];
    } else {
      elementRecord[r] = rows;
      elementRecord[r + 1] = p + 1;
      rows += B;
    }
    elementRecord[r + 2] = knotStart[2 * l] + su;
    elementRecord[r + 3] = inverseStart[2 * l] + su * tri;
    elementRecord[r + 4] = knotStart[2 * l + 1] + sv;
    elementRecord[r + 5] = inverseStart[2 * l + 1] + sv * triV;
  }
  layout = { rows, elementRecord, elementUniform, knots, inverses };
  layouts.set(plan, layout);
  return layout;
}

/** The combined control grids of `local` in a layout, `#rows by dim`. */
function fillControlGrids(
  plan: EvaluationPlan,
  layout: ControlLayout,
  local: Float64Array,
  dim: number,
): Float64Array {
  const p = plan.degrees[0];
  const q = plan.degrees[1];
  const B = plan.localSize;
  const grid = new Float64Array(layout.rows * dim);
  for (let e = 0; e < plan.elementCount; e++) {
    const first = layout.elementRecord[8 * e];
    const width = layout.elementRecord[8 * e + 1];
    for (let j = 0; j <= q; j++) {
      for (let i = 0; i <= p; i++) {
        const src = (e * B + j * (p + 1) + i) * dim;
        const dst = (first + j * width + i) * dim;
        for (let c = 0; c < dim; c++) grid[dst + c] = local[src + c];
      }
    }
  }
  return grid;
}

/** Bicubic plans: A2.2 unrolled for p = 3 from the element's knot windows. */
function bicubicValues(
  plan: EvaluationPlan,
  cache: SurfacePlanCache,
  local: Float64Array,
  dim: number,
  params: ArrayLike<number>,
  target: Float64Array,
): Float64Array {
  return bicubicSweep(plan, cache, "values", local, dim, params, target);
}

/**
 * Per-element reduction for bicubic plans (the coefficient backward's first step): G_e[j] += b_j(x) g(x),
 * `cotangent  #points by dim`, `out  #elements by 16 by dim` (accumulated into; zero it first).
 */
export function bicubicElementGradients(
  plan: EvaluationPlan,
  cotangent: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  out: Float64Array,
): Float64Array {
  return bicubicSweep(plan, surfacePlanCache(plan), "gradients", cotangent, dim, params, out);
}

/**
 * One pass over the points of a bicubic plan: locate, unrolled A2.2 in both directions, then either contract
 * with the control grids ("values": data = local blocks, out = values) or accumulate the cotangent into the
 * element's block ("gradients": data = cotangent, out = element gradients). One loop serves both so the
 * forward and the backward share every line of location and basis code.
 */
function bicubicSweep(
  plan: EvaluationPlan,
  cache: SurfacePlanCache,
  mode: "values" | "gradients",
  data: ArrayLike<number>,
  dim: number,
  params: ArrayLike<number>,
  target: Float64Array,
): Float64Array {
  const count = params.length / 2;
  const layout = controlLayout(plan, cache);
  const { elementRecord, elementUniform, knots: W, inverses: I } = layout;
  const gradients = mode === "gradients";
  const source = gradients ? new Float64Array(0) : fillControlGrids(plan, layout, data as Float64Array, dim);
  // locateSurfacePoint inlined with its tables in locals: this loop is the benchmark's hot path
  const [locU, locV] = cache.rootLocators;
  const [B0, B1] = [locU.knots, locV.knots];
  const [lowU, highU, lastU, scaleU, startU] = [
    locU.lower,
    locU.upper,
    locU.lastSpan,
    locU.bucketScale,
    locU.bucketStart,
  ];
  const [lowV, highV, lastV, scaleV, startV] = [
    locV.lower,
    locV.upper,
    locV.lastSpan,
    locV.bucketScale,
    locV.bucketStart,
  ];
  const [invW0, invW1] = cache.rootInverseWidth;
  const { rootDepth, denseStart, denseNodes } = cache;
  const nodes = plan.treeNodes;
  const rootCells0 = plan.rootCells[0];
  const [uniformU, uniformV] = cache.rootUniform;
  for (let i = 0; i < count; i++) {
    const u = params[2 * i];
    const v = params[2 * i + 1];
    // level-0 cell and the position inside it (x0, x1 in units of 2^-30 of the cell): one multiply on
    // equally spaced cells, the bucketed search otherwise
    let cellU: number;
    let x0: number;
    if (uniformU > 0) {
      const f = Math.min(Math.max((u - lowU) * uniformU, 0), lastU + 1);
      cellU = Math.min(f | 0, lastU);
      x0 = Math.min(((f - cellU) * DEPTH_SCALE) | 0, DEPTH_SCALE - 1);
    } else {
      cellU = u >= highU ? lastU : u <= lowU ? 0 : startU[((u - lowU) * scaleU) | 0];
      while (u >= B0[cellU + 1] && cellU < lastU) cellU++;
      while (u < B0[cellU] && cellU > 0) cellU--;
      x0 = Math.min(Math.max(((u - B0[cellU]) * invW0[cellU] * DEPTH_SCALE) | 0, 0), DEPTH_SCALE - 1);
    }
    let cellV: number;
    let x1: number;
    if (uniformV > 0) {
      const f = Math.min(Math.max((v - lowV) * uniformV, 0), lastV + 1);
      cellV = Math.min(f | 0, lastV);
      x1 = Math.min(((f - cellV) * DEPTH_SCALE) | 0, DEPTH_SCALE - 1);
    } else {
      cellV = v >= highV ? lastV : v <= lowV ? 0 : startV[((v - lowV) * scaleV) | 0];
      while (v >= B1[cellV + 1] && cellV < lastV) cellV++;
      while (v < B1[cellV] && cellV > 0) cellV--;
      x1 = Math.min(Math.max(((v - B1[cellV]) * invW1[cellV] * DEPTH_SCALE) | 0, 0), DEPTH_SCALE - 1);
    }
    const root = cellU + rootCells0 * cellV;
    const depth = rootDepth[root];
    let shift = DEPTH_BITS - depth;
    let e = denseNodes[denseStart[root] + (x0 >> shift) + ((x1 >> shift) << depth)];
    while (e < 0) {
      shift--;
      e = nodes[-e + (((x0 >> shift) & 1) | (((x1 >> shift) & 1) << 1))];
    }
    const record = 8 * e;
    // each direction: the closed-form uniform cubic B-spline on uniformly spaced spans (as the tensor
    // path does), A2.2 unrolled elsewhere
    let a0: number;
    let a1: number;
    let a2: number;
    let a3: number;
    let k = elementRecord[record + 2];
    const hu = elementUniform[2 * e];
    if (hu > 0) {
      const t1 = (u - W[k]) * hu;
      const t2 = t1 * t1;
      const t3 = t2 * t1;
      a0 = (1 - 3 * t1 + 3 * t2 - t3) * SIXTH;
      a1 = (4 - 6 * t2 + 3 * t3) * SIXTH;
      a2 = (1 + 3 * t1 + 3 * t2 - 3 * t3) * SIXTH;
      a3 = t3 * SIXTH;
    } else {
      const b = elementRecord[record + 3];
      const l1 = u - W[k];
      const r1 = W[k + 1] - u;
      const l2 = u - W[k - 1];
      const r2 = W[k + 2] - u;
      const l3 = u - W[k - 2];
      const r3 = W[k + 3] - u;
      let t = I[b];
      a0 = r1 * t;
      a1 = l1 * t;
      t = a0 * I[b + 1];
      let s = l2 * t;
      a0 = r1 * t;
      t = a1 * I[b + 2];
      a1 = s + r2 * t;
      a2 = l1 * t;
      t = a0 * I[b + 3];
      s = l3 * t;
      a0 = r1 * t;
      t = a1 * I[b + 4];
      a1 = s + r2 * t;
      s = l2 * t;
      t = a2 * I[b + 5];
      a2 = s + r3 * t;
      a3 = l1 * t;
    }
    let c0: number;
    let c1: number;
    let c2: number;
    let c3: number;
    k = elementRecord[record + 4];
    const hv = elementUniform[2 * e + 1];
    if (hv > 0) {
      const t1 = (v - W[k]) * hv;
      const t2 = t1 * t1;
      const t3 = t2 * t1;
      c0 = (1 - 3 * t1 + 3 * t2 - t3) * SIXTH;
      c1 = (4 - 6 * t2 + 3 * t3) * SIXTH;
      c2 = (1 + 3 * t1 + 3 * t2 - 3 * t3) * SIXTH;
      c3 = t3 * SIXTH;
    } else {
      const b = elementRecord[record + 5];
      const m1 = v - W[k];
      const q1 = W[k + 1] - v;
      const m2 = v - W[k - 1];
      const q2 = W[k + 2] - v;
      const m3 = v - W[k - 2];
      const q3 = W[k + 3] - v;
      let t = I[b];
      c0 = q1 * t;
      c1 = m1 * t;
      t = c0 * I[b + 1];
      let s = m2 * t;
      c0 = q1 * t;
      t = c1 * I[b + 2];
      c1 = s + q2 * t;
      c2 = m1 * t;
      t = c0 * I[b + 3];
      s = m3 * t;
      c0 = q1 * t;
      t = c1 * I[b + 4];
      c1 = s + q2 * t;
      s = m2 * t;
      t = c2 * I[b + 5];
      c2 = s + q3 * t;
      c3 = m1 * t;
    }
    if (gradients) {
      let row = e * 16 * dim;
      for (let jj = 0; jj < 4; jj++) {
        const cj = jj === 0 ? c0 : jj === 1 ? c1 : jj === 2 ? c2 : c3;
        for (let c = 0; c < dim; c++) {
          const gc = cj * data[i * dim + c];
          target[row + c] += a0 * gc;
          target[row + dim + c] += a1 * gc;
          target[row + 2 * dim + c] += a2 * gc;
          target[row + 3 * dim + c] += a3 * gc;
        }
        row += 4 * dim;
      }
      continue;
    }
    // the element's 4×4 block: a window of its level's grid (or its own block)
    const base = elementRecord[record] * dim;
    const d4 = elementRecord[record + 1] * dim;
    for (let c = 0; c < dim; c++) {
      let r = base + c;
      let x =
        c0 * (a0 * source[r] + a1 * source[r + dim] + a2 * source[r + 2 * dim] + a3 * source[r + 3 * dim]);
      r += d4;
      x += c1 * (a0 * source[r] + a1 * source[r + dim] + a2 * source[r + 2 * dim] + a3 * source[r + 3 * dim]);
      r += d4;
      x += c2 * (a0 * source[r] + a1 * source[r + dim] + a2 * source[r + 2 * dim] + a3 * source[r + 3 * dim]);
      r += d4;
      x += c3 * (a0 * source[r] + a1 * source[r + dim] + a2 * source[r + 2 * dim] + a3 * source[r + 3 * dim]);
      target[i * dim + c] = x;
    }
  }
  return target;
}
