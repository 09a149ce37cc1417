/**
 * Point location and 1D bases for two-parameter plans, the first half of the CPU hot path
 * (surfaceEvaluate.ts is the second): a per-plan cache (built once, kept in a WeakMap) holds what the plan
 * implies but does not store — bucketed locators for the level-0 cells, dense tables for the first levels
 * of the location tree, and per level the reciprocal knot differences of A2.2, so the basis is evaluated
 * without a division.
 */

import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { basisFunctionsPrecomputed } from "../../splines/basis.js";
import { SpanLocator } from "../../splines/spanLocator.js";

/** Derived per-plan data for fast CPU evaluation. */
export interface SurfacePlanCache {
  /** Level-0 cell lookup per direction: a degree-0 span locator over the cell boundaries. */
  readonly rootLocators: SpanLocator[];
  /** 1 / width of each level-0 cell, per direction. */
  readonly rootInverseWidth: Float64Array[];
  /** Per direction: 1 / width when all level-0 cells are equally wide (cells found by one multiply), else 0. */
  readonly rootUniform: Float64Array;
  /**
   * Level-0 cells flattened to a dense 2^D × 2^D table of the nodes D levels down (D ≤ 4, the subtree's
   * depth when smaller; a leaf is a 1-entry table), so most points find their element with one lookup and
   * no branch: rootDepth[c] = D, denseStart[c] = offset of the table in denseNodes.
   */
  readonly rootDepth: Int32Array;
  readonly denseStart: Int32Array;
  readonly denseNodes: Int32Array;
  /**
   * Per level and direction (index 2l + k): the level's knots and the reciprocal knot differences of A2.2
   * per span (SpanLocator.inverseDifferences); small 1D tables that stay in cache.
   */
  readonly levelKnots: Float64Array[];
  readonly levelInverses: Float64Array[];
  /** Per level and direction: 1/h for spans with uniformly spaced neighbours, else 0 (SpanLocator's). */
  readonly levelUniform: Float64Array[];
}

const caches = new WeakMap<EvaluationPlan, SurfacePlanCache>();

/** The cache of a two-parameter plan, built on first use. */
export function surfacePlanCache(plan: EvaluationPlan): SurfacePlanCache {
  let cache = caches.get(plan);
  if (cache) return cache;
  const levelKnots: Float64Array[] = [];
  const levelInverses: Float64Array[] = [];
  const levelUniform: Float64Array[] = [];
  for (let l = 0; l < plan.levelCount; l++) {
    for (let k = 0; k < 2; k++) {
      const U = plan.knots.slice(plan.knotStart[2 * l + k], plan.knotStart[2 * l + k + 1]);
      const locator = new SpanLocator(U, plan.degrees[k]);
      levelKnots.push(U);
      levelInverses.push(locator.inverseDifferences);
      levelUniform.push(locator.uniformInverseWidth);
    }
  }
  const rootLocators: SpanLocator[] = [];
  const rootInverseWidth: Float64Array[] = [];
  for (let k = 0; k < 2; k++) {
    const breaks = plan.rootBreaks.slice(plan.rootBreakStart[k], plan.rootBreakStart[k + 1]);
    rootLocators.push(new SpanLocator(breaks, 0));
    rootInverseWidth.push(
      Float64Array.from({ length: breaks.length - 1 }, (_, c) => 1 / (breaks[c + 1] - breaks[c])),
    );
  }
  const rootUniform = new Float64Array(2);
  for (let k = 0; k < 2; k++) {
    const breaks = rootLocators[k].knots;
    const h = (breaks[breaks.length - 1] - breaks[0]) / (breaks.length - 1);
    let uniform = true;
    for (let c = 0; c + 1 < breaks.length; c++)
      uniform &&= Math.abs(breaks[c + 1] - breaks[0] - (c + 1) * h) <= 1e-12 * h * (c + 1);
    rootUniform[k] = uniform ? 1 / h : 0;
  }
  const { rootDepth, denseStart, denseNodes } = flattenRoots(plan);
  cache = {
    rootLocators,
    rootInverseWidth,
    rootUniform,
    rootDepth,
    denseStart,
    denseNodes,
    levelKnots,
    levelInverses,
    levelUniform,
  };
  caches.set(plan, cache);
  return cache;
}

/** Deepest subtree level flattened into the dense root tables (4^4 = 256 entries per refined root). */
const MAX_DENSE_DEPTH = 4;

/** Builds the dense per-root tables described in SurfacePlanCache. */
function flattenRoots(plan: EvaluationPlan): {
  rootDepth: Int32Array;
  denseStart: Int32Array;
  denseNodes: Int32Array;
} {
  const nodes = plan.treeNodes;
  const roots = plan.rootCells[0] * plan.rootCells[1];
  const depthOf = (node: number): number => {
    if (node >= 0) return 0;
    let deepest = 0;
    for (let b = 0; b < 4; b++) deepest = Math.max(deepest, depthOf(nodes[-node + b]));
    return 1 + deepest;
  };
  const rootDepth = new Int32Array(roots);
  const denseStart = new Int32Array(roots);
  const dense: number[] = [];
  for (let c = 0; c < roots; c++) {
    const D = Math.min(MAX_DENSE_DEPTH, depthOf(nodes[c]));
    rootDepth[c] = D;
    denseStart[c] = dense.length;
    const side = 1 << D;
    for (let j = 0; j < side; j++) {
      for (let i = 0; i < side; i++) {
        let node = nodes[c];
        for (let level = D - 1; level >= 0 && node < 0; level--) {
          node = nodes[-node + (((i >> level) & 1) | (((j >> level) & 1) << 1))];
        }
        dense.push(node);
      }
    }
  }
  return { rootDepth, denseStart, denseNodes: Int32Array.from(dense) };
}

/** Fixed-point resolution of a point's position inside its level-0 cell: 2^30 sub-cells per direction. */
export const DEPTH_BITS = 30;
export const DEPTH_SCALE = 2 ** DEPTH_BITS;

/**
 * Element containing (u, v): bucketed level-0 lookup, then the tree descent of plan.ts. Dyadic refinement
 * splits a level-0 cell uniformly, so the child taken at depth j is bit (30 − j) of the point's fixed-point
 * position in its level-0 cell: the descent needs no comparisons (points exactly on a boundary may land
 * on either side by rounding; fields are continuous there).
 */
export function locateSurfacePoint(
  plan: EvaluationPlan,
  cache: SurfacePlanCache,
  u: number,
  v: number,
): number {
  const c0 = cache.rootLocators[0].find(u);
  const c1 = cache.rootLocators[1].find(v);
  const root = c0 + plan.rootCells[0] * c1;
  const depth = cache.rootDepth[root];
  const breaks = plan.rootBreaks;
  const t0 = (u - breaks[c0]) * cache.rootInverseWidth[0][c0];
  const t1 = (v - breaks[plan.rootBreakStart[1] + c1]) * cache.rootInverseWidth[1][c1];
  const x0 = Math.min(Math.max((t0 * DEPTH_SCALE) | 0, 0), DEPTH_SCALE - 1);
  const x1 = Math.min(Math.max((t1 * DEPTH_SCALE) | 0, 0), DEPTH_SCALE - 1);
  let shift = DEPTH_BITS - depth;
  let node = cache.denseNodes[cache.denseStart[root] + (x0 >> shift) + ((x1 >> shift) << depth)];
  shift--;
  while (node < 0) {
    node = plan.treeNodes[-node + (((x0 >> shift) & 1) | (((x1 >> shift) & 1) << 1))];
    shift--;
  }
  return node;
}

/** Scratch for surfaceBasisAt: the 1D bases of both directions and A2.2's work arrays. */
export class SurfaceBasisScratch {
  readonly Nu: Float64Array;
  readonly Nv: Float64Array;
  readonly left: Float64Array;
  readonly right: Float64Array;

  constructor(p: number, q: number) {
    this.Nu = new Float64Array(p + 1);
    this.Nv = new Float64Array(q + 1);
    this.left = new Float64Array(Math.max(p, q) + 1);
    this.right = new Float64Array(Math.max(p, q) + 1);
  }
}

/** Locates (u, v) and fills scratch.Nu, scratch.Nv with its element's 1D bases (division-free A2.2). */
export function surfaceBasisAt(
  plan: EvaluationPlan,
  cache: SurfacePlanCache,
  u: number,
  v: number,
  scratch: SurfaceBasisScratch,
): number {
  const e = locateSurfacePoint(plan, cache, u, v);
  const l = plan.elementLevel[e];
  const { Nu, Nv, left, right } = scratch;
  basisFunctionsPrecomputed(
    cache.levelKnots[2 * l],
    plan.degrees[0],
    plan.elementSpan[2 * e],
    u,
    cache.levelInverses[2 * l],
    Nu,
    left,
    right,
  );
  basisFunctionsPrecomputed(
    cache.levelKnots[2 * l + 1],
    plan.degrees[1],
    plan.elementSpan[2 * e + 1],
    v,
    cache.levelInverses[2 * l + 1],
    Nv,
    left,
    right,
  );
  return e;
}
