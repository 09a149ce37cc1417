/**
 * The dyadic levels of one parametric direction: level-l knots (level 0 halved l times), the cells of each
 * level (its non-empty knot spans) and the cells each B-spline's support covers. Cached per level, built on
 * first use, shared by every space refined from the same level-0 knots.
 */

import type { SparseMatrix } from "../linalg/sparseMatrix.js";
import { dyadicRefine } from "../splines/knotVector.js";
import { refinementMatrix } from "../splines/refinement.js";
import { SpanLocator } from "../splines/spanLocator.js";

/** One level of one direction. Cell c covers [breaks[c], breaks[c+1]]. */
export interface DirectionLevel {
  readonly knots: Float64Array;
  /** Number of B-splines of this level. */
  readonly functions: number;
  /** Number of cells (non-empty spans): base cells × 2^level. */
  readonly cells: number;
  /** `#cells + 1` cell boundaries. */
  readonly breaks: Float64Array;
  /** Knot span index of each cell. */
  readonly spanOfCell: Int32Array;
  /** Cell of each non-empty knot span (entries of empty spans are unused). */
  readonly cellOfSpan: Int32Array;
  /** First and one-past-last cell of each function's support. */
  readonly supportStart: Int32Array;
  readonly supportEnd: Int32Array;
  readonly locator: SpanLocator;
}

/** All levels of one direction, built lazily. */
export class DirectionLevels {
  readonly degree: number;
  private readonly levels: DirectionLevel[] = [];
  /** refinements[l]: level l-1 → level l refinement matrix (index 0 unused). */
  private readonly refinements: SparseMatrix[] = [];

  constructor(level0Knots: Float64Array, degree: number) {
    this.degree = degree;
    this.levels.push(buildLevel(level0Knots, degree));
  }

  /** The data of level l. */
  level(l: number): DirectionLevel {
    while (this.levels.length <= l) {
      const coarse = this.levels[this.levels.length - 1];
      this.levels.push(buildLevel(dyadicRefine(coarse.knots), this.degree));
    }
    return this.levels[l];
  }

  /** blocks[l][c]: the local refinement block of level-l cell c (see refinementBlock), built on first use. */
  private readonly blocks: Float64Array[][] = [];

  /**
   * The local block of the two-scale relation on level-l cell c (l ≥ 1): block[j·q + i] = T_l[s − p + j,
   * s' − p + i], s the span of c and s' the span of its parent on level l−1, q = p+1 — rows the level-l
   * B-splines on c, columns the level-(l−1) ones on the parent. Cached: every element under c shares it.
   */
  refinementBlock(l: number, c: number): Float64Array {
    let level = this.blocks[l];
    if (!level) {
      level = [];
      this.blocks[l] = level;
    }
    let block = level[c];
    if (!block) {
      const T = this.refinement(l);
      const p = this.degree;
      const q = p + 1;
      const s = this.level(l).spanOfCell[c];
      const parent = this.level(l - 1).spanOfCell[c >> 1];
      block = new Float64Array(q * q);
      for (let j = 0; j <= p; j++)
        for (let i = 0; i <= p; i++) block[j * q + i] = T.get(s - p + j, parent - p + i);
      level[c] = block;
    }
    return block;
  }

  /** The refinement matrix from level l-1 to level l (#functions_l × #functions_{l-1}). */
  refinement(l: number): SparseMatrix {
    if (!this.refinements[l]) {
      this.refinements[l] = refinementMatrix(this.level(l - 1).knots, this.level(l).knots, this.degree);
    }
    return this.refinements[l];
  }
}

function buildLevel(knots: Float64Array, p: number): DirectionLevel {
  const n = knots.length - p - 1;
  const spans: number[] = [];
  for (let s = p; s < n; s++) if (knots[s] < knots[s + 1]) spans.push(s);
  const cells = spans.length;
  const spanOfCell = Int32Array.from(spans);
  const breaks = new Float64Array(cells + 1);
  for (let c = 0; c < cells; c++) breaks[c] = knots[spans[c]];
  breaks[cells] = knots[spans[cells - 1] + 1];
  // function i is non-zero on spans i … i+p: its cells are the non-empty spans among them
  const supportStart = new Int32Array(n);
  const supportEnd = new Int32Array(n);
  let first = 0;
  for (let i = 0; i < n; i++) {
    while (first < cells && spanOfCell[first] < i) first++;
    let last = first;
    while (last < cells && spanOfCell[last] <= i + p) last++;
    supportStart[i] = first;
    supportEnd[i] = last;
  }
  const cellOfSpan = new Int32Array(knots.length);
  for (let c = 0; c < cells; c++) cellOfSpan[spans[c]] = c;
  return {
    knots,
    functions: n,
    cells,
    breaks,
    spanOfCell,
    cellOfSpan,
    supportStart,
    supportEnd,
    locator: new SpanLocator(knots, p),
  };
}

/** The cell of level `lv` containing x (the right end of the domain belongs to the last cell). */
export function cellOfParameter(lv: DirectionLevel, x: number): number {
  return lv.cellOfSpan[lv.locator.find(x)];
}
