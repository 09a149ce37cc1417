/**
 * The pixel grid of one pyramid level tabulated against a compiled plan, for the warp kernels
 * (warpKernel.ts): each active element's box of pixels (a block of the grid, found per axis without locating
 * any pixel), the element of every pixel, and per axis the level-l B-spline values and slopes at every grid
 * coordinate — the tensor basis of a pixel is a product of one row per axis.
 * Shapes: `weights[k], slopes[k]  #levels by counts[k] by (p_k+1)`; `boxes  #elements by 6`.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { basisFunctionDerivatives, createBasisWorkspace } from "../../splines/basis.js";
import { locatePoint } from "./planEvaluate.js";

/** The pixel grid of one pyramid level tabulated against one plan. */
export interface PixelBlocks {
  readonly dimension: 2 | 3;
  /** Pixels per axis (3 entries; the third is 1 in 2D). */
  readonly counts: readonly number[];
  /** Frame coordinate of each index per axis: `coordinates[k]  #counts[k]`. */
  readonly coordinates: readonly Float64Array[];
  /** Per axis: `#levels by counts[k] by (p_k+1)` B-spline values (zero rows for unused level/index pairs). */
  readonly weights: readonly Float64Array[];
  /** Per axis: their first derivatives, the same layout. */
  readonly slopes: readonly Float64Array[];
  /** `#elements by 6`: lo0 hi0 lo1 hi1 lo2 hi2 pixel index ranges (hi exclusive; empty when lo = hi). */
  readonly boxes: Int32Array;
  /** `#pixels`: the element of each pixel. */
  readonly element: Int32Array;
}

/**
 * Tabulates the grid origin + spacing · i (i < counts, clamped onto the domain as thbGrid does) against
 * `plan`: the element of every pixel (located once), each element's pixel box, per-axis basis values.
 */
export function pixelBlocks(
  plan: EvaluationPlan,
  origin: readonly number[],
  spacing: readonly number[],
  counts: readonly number[],
): PixelBlocks {
  const d = plan.dimension as 2 | 3;
  const n = [counts[0], counts[1], d === 3 ? counts[2] : 1];
  const coordinates: Float64Array[] = [];
  for (let k = 0; k < d; k++) {
    const lo = plan.rootBreaks[plan.rootBreakStart[k]];
    const hi = plan.rootBreaks[plan.rootBreakStart[k + 1] - 1];
    coordinates.push(
      Float64Array.from({ length: n[k] }, (_, i) => {
        const x = origin[k] + spacing[k] * i;
        if (x < lo - 1e-9 * (hi - lo) || x > hi + 1e-9 * (hi - lo))
          throw new RangeError(`grid index ${i} lies outside the domain along direction ${k}`);
        return Math.min(Math.max(x, lo), hi);
      }),
    );
  }
  if (d === 2) coordinates.push(Float64Array.of(0));
  return separablePixelBlocks(plan, coordinates, n) ?? locatedBlocks(plan, coordinates, n);
}

/**
 * The level-l cell of every grid coordinate along each axis, by the walk locatePoint makes (the root cell by
 * binary search, then the side of each midpoint 0.5 (lo + hi)), which treats the axes independently: each
 * element's pixels are then the product of one index range per axis, found without locating any pixel.
 * Undefined when the boxes do not tile the grid exactly (never expected; the per-pixel walk takes over).
 */
export function separablePixelBlocks(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
): PixelBlocks | undefined {
  const d = plan.dimension as 2 | 3;
  const L = plan.levelCount;
  // ranges[k][l]: per level-l cell along axis k, the first and one-past-last grid index inside it
  const ranges: Int32Array[][] = [];
  for (let k = 0; k < d; k++) {
    const start = plan.rootBreakStart[k];
    const cells = plan.rootCells[k];
    const perLevel: Int32Array[] = [];
    for (let l = 0; l < L; l++) {
      const r = new Int32Array(2 * cells * 2 ** l);
      for (let c = 0; c < r.length; c += 2) r[c] = n[k];
      perLevel.push(r);
    }
    for (let i = 0; i < n[k]; i++) {
      const x = coordinates[k][i];
      let a = 0;
      let b = cells;
      while (b - a > 1) {
        const mid = (a + b) >> 1;
        if (x < plan.rootBreaks[start + mid]) b = mid;
        else a = mid;
      }
      let lo = plan.rootBreaks[start + a];
      let hi = plan.rootBreaks[start + a + 1];
      let cell = a;
      for (let l = 0; l < L; l++) {
        if (l > 0) {
          const mid = 0.5 * (lo + hi);
          if (x >= mid) {
            cell = 2 * cell + 1;
            lo = mid;
          } else {
            cell = 2 * cell;
            hi = mid;
          }
        }
        const r = perLevel[l];
        if (i < r[2 * cell]) r[2 * cell] = i;
        if (i + 1 > r[2 * cell + 1]) r[2 * cell + 1] = i + 1;
      }
    }
    ranges.push(perLevel);
  }
  const E = plan.elementCount;
  const boxes = new Int32Array(E * 6);
  let covered = 0;
  for (let e = 0; e < E; e++) {
    const l = plan.elementLevel[e];
    let volume = 1;
    for (let k = 0; k < 3; k++) {
      let lo = 0;
      let hi = 1;
      if (k < d) {
        const c = plan.elementCell[e * d + k];
        lo = ranges[k][l][2 * c];
        hi = ranges[k][l][2 * c + 1];
        if (hi <= lo) {
          lo = 0;
          hi = 0;
        }
      }
      boxes[e * 6 + 2 * k] = lo;
      boxes[e * 6 + 2 * k + 1] = hi;
      volume *= hi - lo;
    }
    if (volume === 0) for (let k = 0; k < 6; k++) boxes[e * 6 + k] = 0;
    covered += volume;
  }
  const total = n[0] * n[1] * n[2];
  if (covered !== total) return undefined;
  const element = new Int32Array(total).fill(-1);
  for (let e = 0; e < E; e++) {
    const b = e * 6;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++)
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const row = n[0] * (i1 + n[1] * i2);
        for (let i0 = boxes[b]; i0 < boxes[b + 1]; i0++) {
          if (element[row + i0] !== -1) return undefined;
          element[row + i0] = e;
        }
      }
  }
  const { weights, slopes } = axisTables(plan, coordinates, n, boxes);
  return { dimension: d, counts: n, coordinates, weights, slopes, boxes, element };
}

/** Per-axis basis values and slopes of every (level, index) row some element's box uses. */
function axisTables(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
  boxes: Int32Array,
): { weights: Float64Array[]; slopes: Float64Array[] } {
  const d = plan.dimension;
  const L = plan.levelCount;
  const weights: Float64Array[] = [];
  const slopes: Float64Array[] = [];
  const work = createBasisWorkspace(Math.max(...plan.degrees));
  const ders = new Float64Array(2 * (Math.max(...plan.degrees) + 1));
  for (let k = 0; k < d; k++) {
    const q = plan.degrees[k] + 1;
    const W = new Float64Array(L * n[k] * q);
    const S = new Float64Array(L * n[k] * q);
    const done = new Uint8Array(L * n[k]);
    for (let e = 0; e < plan.elementCount; e++) {
      const l = plan.elementLevel[e];
      const span = plan.knotStart[l * d + k] + plan.elementSpan[e * d + k];
      for (let i = boxes[e * 6 + 2 * k]; i < boxes[e * 6 + 2 * k + 1]; i++) {
        const row = l * n[k] + i;
        if (done[row]) continue;
        done[row] = 1;
        basisFunctionDerivatives(plan.knots, q - 1, span, coordinates[k][i], 1, ders, 0, work);
        for (let j = 0; j < q; j++) {
          W[row * q + j] = ders[j];
          S[row * q + j] = ders[q + j];
        }
      }
    }
    weights.push(W);
    slopes.push(S);
  }
  return { weights, slopes };
}

/** pixelBlocks by locating every pixel (the reference the separable path must agree with). */
function locatedBlocks(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
): PixelBlocks {
  const d = plan.dimension as 2 | 3;
  const total = n[0] * n[1] * n[2];
  const E = plan.elementCount;
  const boxes = new Int32Array(E * 6);
  for (let e = 0; e < E; e++) {
    for (let k = 0; k < 3; k++) {
      boxes[e * 6 + 2 * k] = n[k];
      boxes[e * 6 + 2 * k + 1] = 0;
    }
  }
  const population = new Float64Array(E);
  const element = new Int32Array(total);
  const point = new Float64Array(d);
  const L = plan.levelCount;
  const weights: Float64Array[] = [];
  const slopes: Float64Array[] = [];
  const cellOf: Int32Array[] = [];
  for (let k = 0; k < d; k++) {
    weights.push(new Float64Array(L * n[k] * (plan.degrees[k] + 1)));
    slopes.push(new Float64Array(L * n[k] * (plan.degrees[k] + 1)));
    cellOf.push(new Int32Array(L * n[k]).fill(-1));
  }
  const ders = new Float64Array(2 * (Math.max(...plan.degrees) + 1));
  const work = createBasisWorkspace(Math.max(...plan.degrees));
  let t = 0;
  const index = [0, 0, 0];
  for (let i2 = 0; i2 < n[2]; i2++) {
    index[2] = i2;
    if (d === 3) point[2] = coordinates[2][i2];
    for (let i1 = 0; i1 < n[1]; i1++) {
      index[1] = i1;
      point[1] = coordinates[1][i1];
      for (let i0 = 0; i0 < n[0]; i0++, t++) {
        index[0] = i0;
        point[0] = coordinates[0][i0];
        const e = locatePoint(plan, point, 0);
        element[t] = e;
        population[e]++;
        const l = plan.elementLevel[e];
        for (let k = 0; k < d; k++) {
          const i = index[k];
          const b = e * 6 + 2 * k;
          if (i < boxes[b]) boxes[b] = i;
          if (i + 1 > boxes[b + 1]) boxes[b + 1] = i + 1;
          const row = l * n[k] + i;
          const cell = plan.elementSpan[e * d + k];
          if (cellOf[k][row] === cell) continue;
          if (cellOf[k][row] !== -1)
            throw new Error(`grid point ${t} located inconsistently along axis ${k}`);
          cellOf[k][row] = cell;
          const q = plan.degrees[k] + 1;
          basisFunctionDerivatives(
            plan.knots,
            q - 1,
            plan.knotStart[l * d + k] + cell,
            point[k],
            1,
            ders,
            0,
            work,
          );
          for (let j = 0; j < q; j++) {
            weights[k][row * q + j] = ders[j];
            slopes[k][row * q + j] = ders[q + j];
          }
        }
      }
    }
  }
  for (let e = 0; e < E; e++) {
    if (d === 2) {
      boxes[e * 6 + 4] = 0;
      boxes[e * 6 + 5] = 1;
    }
    let volume = 1;
    for (let k = 0; k < 3; k++) volume *= Math.max(0, boxes[e * 6 + 2 * k + 1] - boxes[e * 6 + 2 * k]);
    if (population[e] === 0) {
      for (let k = 0; k < 6; k++) boxes[e * 6 + k] = 0;
    } else if (volume !== population[e]) {
      throw new Error(`element ${e} does not cover a box of the pixel grid`);
    }
  }
  return { dimension: d, counts: n, coordinates, weights, slopes, boxes, element };
}
