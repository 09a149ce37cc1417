/**
 * compile(): a THB space as flat typed arrays — the only thing the CPU evaluator and the GPU kernels read.
 *
 * Layout (d parametric directions, B = (p_0+1)…(p_{d-1}+1) local B-splines per element, nE elements,
 * nF functions, L levels; "first direction fastest" everywhere):
 *
 *   degrees                Int32Array d
 *   knots                  Float64Array   all level knot vectors, level-major then direction
 *   knotStart              Int32Array L·d+1  knots of level l, direction k: knots[knotStart[l·d+k] …]
 *   elementLevel           Int32Array nE      elements ordered by level, then by cell key
 *   elementCell            Int32Array nE·d    cell index on its level
 *   elementSpan            Int32Array nE·d    knot span index in its level's knot vector
 *   elementBox             Float64Array nE·2d lo_0 … lo_{d-1}, hi_0 … hi_{d-1}
 *   rootCells              Int32Array d       level-0 cells per direction
 *   rootBreaks             Float64Array       level-0 cell boundaries, direction after direction
 *   rootBreakStart         Int32Array d+1
 *   treeNodes              Int32Array         first Π rootCells entries: the level-0 cells (first
 *                                             direction fastest). Entry v ≥ 0: element id. v < 0: the cell
 *                                             is refined and its 2^d children are entries −v … −v+2^d−1,
 *                                             child bit k set = upper half along direction k (x ≥ midpoint).
 *   extractionStart        Int32Array nE+1    element e's functions: extractionFunctions[start[e] … start[e+1])
 *   extractionFunctions    Int32Array nnz     global function ids, ascending per element
 *   extractionCoefficients Float64Array nnz·B row r (function extractionFunctions[r]) at r·B: its
 *                                             coefficients in the element's local level-l B-splines
 *   functionLevel          Int32Array nF
 *   functionIndex          Int32Array nF·d    tensor index on its level
 *   levelOffsets           Int32Array L+1     first global id of each level
 *
 * A plan compiled from a previous one (compile(space, previous)) keeps its coefficient rows in a row pool it
 * shares with the plans of the same line of refinements: the rows of element e are the `count_e` rows from
 * rowStart[e] of the pool (extractionRows(plan)); kept elements point at their old rows, new rows are appended
 * behind the pool's high-water mark (so that two plans refined from one parent never write the same rows),
 * and only when the pool is full are the live rows copied into a new pool with room to spare. A local
 * refinement thus copies the rows it extracts, not every row. Its `extractionCoefficients`, the dense
 * layout above, is gathered from the pool on first use (kernels that upload or sweep the whole operator).
 *
 * Locating x: find the level-0 cell by binary search in rootBreaks (the right end of the domain belongs to
 * the last cell), then while the node is negative descend into the child on x's side of each midpoint
 * 0.5·(lo+hi) — exactly how dyadic refinement makes the next level's knots — at most L steps.
 */
import { ExtractionWorkspace, extractElement } from "./extraction.js";
import { type CompiledSpace, type PlanReuse, planReuse } from "./planReuse.js";
import type { ElementExtraction, THBSpace } from "./thbSpace.js";

/** The compiled, flat form of a THB space. */
export interface EvaluationPlan {
  readonly dimension: number;
  readonly degrees: Int32Array;
  readonly localSize: number;
  readonly levelCount: number;
  readonly functionCount: number;
  readonly elementCount: number;
  readonly truncated: boolean;
  readonly knots: Float64Array;
  readonly knotStart: Int32Array;
  readonly elementLevel: Int32Array;
  readonly elementCell: Int32Array;
  readonly elementSpan: Int32Array;
  readonly elementBox: Float64Array;
  readonly rootCells: Int32Array;
  readonly rootBreaks: Float64Array;
  readonly rootBreakStart: Int32Array;
  readonly treeNodes: Int32Array;
  readonly extractionStart: Int32Array;
  readonly extractionFunctions: Int32Array;
  readonly extractionCoefficients: Float64Array;
  readonly functionLevel: Int32Array;
  readonly functionIndex: Int32Array;
  readonly levelOffsets: Int32Array;
}

/** Coefficient rows shared by the plans of one line of refinements: rows [0, used) are written, never changed. */
interface RowPool {
  values: Float64Array;
  /** Rows written so far (any plan's); rows are appended here. */
  used: number;
}

/**
 * Where each element's coefficient rows are: element e's row r (r = 0 … its count − 1, function
 * extractionFunctions[extractionStart[e] + r]) is at values[(rowStart[e] + r)·B …]. For a plan compiled
 * from scratch this is the dense layout itself (values = extractionCoefficients, rowStart = extractionStart).
 */
export interface ExtractionRows {
  readonly values: Float64Array;
  readonly rowStart: Int32Array;
}

const pooledRows = new WeakMap<EvaluationPlan, { pool: RowPool; rowStart: Int32Array }>();

/** The plan's coefficient rows without gathering them into the dense layout (see ExtractionRows). */
export function extractionRows(plan: EvaluationPlan): ExtractionRows {
  const pooled = pooledRows.get(plan);
  return pooled
    ? { values: pooled.pool.values, rowStart: pooled.rowStart }
    : { values: plan.extractionCoefficients, rowStart: plan.extractionStart };
}

/** Pool room beyond the live rows when a pool is (re)built: appended rows of later refinements go there. */
const POOL_SLACK = 0.5;

/**
 * The rows of `plan` in a pool with room for `room` more numbers behind its high-water mark: its own pool,
 * or else (a plan compiled from scratch, or a full pool) a new pool holding its rows in the dense layout
 * with room to spare, which becomes the plan's. The plans refined from one plan (a viewer refines, undoes
 * and refines the same surface again) thus append their new rows to one pool, instead of each copying
 * every row into a pool of its own.
 */
function rowsWithRoom(plan: EvaluationPlan, room: number): { pool: RowPool; rowStart: Int32Array } {
  const pooled = pooledRows.get(plan);
  if (pooled && pooled.pool.used * plan.localSize + room <= pooled.pool.values.length) return pooled;
  const B = plan.localSize;
  const rows = plan.extractionStart[plan.elementCount];
  const values = new Float64Array(Math.ceil(rows * (1 + POOL_SLACK)) * B + room);
  if (pooled) gatherRows(plan, pooled, values);
  else values.set(plan.extractionCoefficients);
  const compacted = { pool: { values, used: rows }, rowStart: plan.extractionStart };
  pooledRows.set(plan, compacted);
  return compacted;
}

/** Writes the rows of a pooled plan into `out` in the dense layout (row r at r·B). */
function gatherRows(
  plan: EvaluationPlan,
  pooled: { pool: RowPool; rowStart: Int32Array },
  out: Float64Array,
): void {
  const B = plan.localSize;
  const start = plan.extractionStart;
  const { values } = pooled.pool;
  const { rowStart } = pooled;
  for (let e = 0; e < plan.elementCount; ) {
    // one copy per run of elements whose rows lie one after another in the pool
    let end = e + 1;
    while (end < plan.elementCount && rowStart[end] - rowStart[e] === start[end] - start[e]) end++;
    out.set(values.subarray(rowStart[e] * B, (rowStart[e] + start[end] - start[e]) * B), start[e] * B);
    e = end;
  }
}

/**
 * Compiles a space into its evaluation plan. Given the plan of a space it was refined or coarsened from,
 * the extraction rows of the elements the change cannot reach are reused (planReuse.ts): the same plan,
 * bit for bit, for the work of the elements near the change.
 */
export function compile(space: THBSpace, previous?: CompiledSpace): EvaluationPlan {
  return compileReusing(space, previous).plan;
}

/**
 * compile(), also saying which rows came from the previous plan (`reuse.oldElement[e] ≥ 0`: element e has
 * the rows of that old element, its function ids renumbered) — what carrying a field over needs to copy the
 * local control points of those elements instead of recomputing them.
 */
export function compileReusing(
  space: THBSpace,
  previous?: CompiledSpace,
): { plan: EvaluationPlan; reuse?: PlanReuse } {
  const d = space.dimension;
  const B = space.localSize;
  const L = space.levelCount;
  const elements = space.elements;
  const nE = elements.length;

  const knotParts: Float64Array[] = [];
  const knotStart = new Int32Array(L * d + 1);
  let knotTotal = 0;
  for (let l = 0; l < L; l++) {
    for (let k = 0; k < d; k++) {
      const U = space.level(l, k).knots;
      knotStart[l * d + k] = knotTotal;
      knotParts.push(U);
      knotTotal += U.length;
    }
  }
  knotStart[L * d] = knotTotal;
  const knots = new Float64Array(knotTotal);
  knotParts.forEach((U, i) => {
    knots.set(U, knotStart[i]);
  });

  const elementLevel = new Int32Array(nE);
  const elementCell = new Int32Array(nE * d);
  const elementSpan = new Int32Array(nE * d);
  const elementBox = new Float64Array(nE * 2 * d);
  // elements are sorted by level, then key: levelFirst[l] … levelFirst[l+1] are level l's, keys ascending
  const elementKey = new Float64Array(nE);
  const levelFirst = new Int32Array(L + 1);
  const cell = [0, 0, 0];
  for (let id = 0; id < nE; id++) {
    const e = elements[id];
    elementLevel[id] = e.level;
    elementKey[id] = e.key;
    levelFirst[e.level + 1] = id + 1;
    space.tree.decode(e.level, e.key, cell);
    for (let k = 0; k < d; k++) {
      const lv = space.level(e.level, k);
      elementCell[id * d + k] = cell[k];
      elementSpan[id * d + k] = lv.spanOfCell[cell[k]];
      elementBox[id * 2 * d + k] = lv.breaks[cell[k]];
      elementBox[id * 2 * d + d + k] = lv.breaks[cell[k] + 1];
    }
  }
  for (let l = 1; l <= L; l++) levelFirst[l] = Math.max(levelFirst[l], levelFirst[l - 1]);
  const elementIdOf = (level: number, key: number): number => {
    let lo = levelFirst[level];
    let hi = levelFirst[level + 1] - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (elementKey[mid] < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };

  // point-location tree, breadth-first: roots, then child blocks as refined cells are met
  const rootCells = Int32Array.from(space.tree.baseCells);
  const rootBreakStart = new Int32Array(d + 1);
  for (let k = 0; k < d; k++) rootBreakStart[k + 1] = rootBreakStart[k] + rootCells[k] + 1;
  const rootBreaks = new Float64Array(rootBreakStart[d]);
  for (let k = 0; k < d; k++) rootBreaks.set(space.level(0, k).breaks, rootBreakStart[k]);
  const roots = rootCells.reduce((a, b) => a * b, 1);
  let refinedTotal = 0;
  for (const set of space.tree.refined) refinedTotal += set.size;
  const nodeCount = roots + (refinedTotal << d);
  const treeNodes = new Int32Array(nodeCount);
  // queue entry i is node i (nodes are appended in the order they are queued)
  const queueLevel = new Int32Array(nodeCount);
  const queueKey = new Float64Array(nodeCount);
  for (let key = 0; key < roots; key++) queueKey[key] = key;
  let nodes = roots;
  const children: number[] = [];
  for (let head = 0; head < nodes; head++) {
    const level = queueLevel[head];
    const key = queueKey[head];
    if (space.tree.refined[level].has(key)) {
      treeNodes[head] = -nodes;
      space.tree.childKeys(level, key, children);
      for (let bits = 0; bits < 1 << d; bits++) {
        queueLevel[nodes] = level + 1;
        queueKey[nodes] = children[bits];
        nodes++;
      }
    } else {
      treeNodes[head] = elementIdOf(level, key);
    }
  }

  // extraction: rows kept from the previous plan where the change cannot reach, the rest extracted
  const reuse = previous ? planReuse(space, previous) : undefined;
  const old = previous?.plan;
  const work = new ExtractionWorkspace(space);
  const extractionStart = new Int32Array(nE + 1);
  const fresh: (ElementExtraction | undefined)[] = new Array(nE);
  for (let e = 0; e < nE; e++) {
    const o = reuse ? reuse.oldElement[e] : -1;
    let count: number;
    if (old && o >= 0) count = old.extractionStart[o + 1] - old.extractionStart[o];
    else {
      const extraction = extractElement(elements[e], work);
      fresh[e] = extraction;
      count = extraction.functions.length;
    }
    extractionStart[e + 1] = extractionStart[e] + count;
  }
  const nnz = extractionStart[nE];
  const extractionFunctions = new Int32Array(nnz);
  let extractionCoefficients: Float64Array | undefined;
  let pooled: { pool: RowPool; rowStart: Int32Array } | undefined;
  if (!old || !reuse) {
    // from scratch: the dense layout
    extractionCoefficients = new Float64Array(nnz * B);
    for (let e = 0; e < nE; e++) {
      extractionFunctions.set(fresh[e]!.functions, extractionStart[e]);
      extractionCoefficients.set(fresh[e]!.coefficients, extractionStart[e] * B);
    }
  } else {
    // kept elements point at their rows in the previous plan's pool, fresh rows are appended to it
    let freshRows = 0;
    for (let e = 0; e < nE; e++) if (fresh[e]) freshRows += extractionStart[e + 1] - extractionStart[e];
    const source = rowsWithRoom(old, freshRows * B);
    const pool = source.pool;
    const rowStart = new Int32Array(nE);
    for (let e = 0; e < nE; e++) if (!fresh[e]) rowStart[e] = source.rowStart[reuse.oldElement[e]];
    for (let e = 0; e < nE; e++) {
      const extraction = fresh[e];
      if (extraction) {
        extractionFunctions.set(extraction.functions, extractionStart[e]);
        rowStart[e] = pool.used;
        pool.values.set(extraction.coefficients, pool.used * B);
        pool.used += extraction.functions.length;
      } else {
        const o = reuse.oldElement[e];
        const at = extractionStart[e] - old.extractionStart[o];
        for (let r = old.extractionStart[o]; r < old.extractionStart[o + 1]; r++)
          extractionFunctions[at + r] = reuse.renumber[old.extractionFunctions[r]];
      }
    }
    pooled = { pool, rowStart };
  }

  const nF = space.size;
  const functionLevel = new Int32Array(nF);
  const functionIndex = new Int32Array(nF * d);
  const levelOffsets = space.levelOffsets;
  const index = [0, 0, 0];
  for (let l = 0; l < L; l++) {
    const active = space.activeFunctions(l);
    for (let i = 0; i < active.length; i++) {
      const id = levelOffsets[l] + i;
      functionLevel[id] = l;
      space.tensorIndex(l, active[i], index);
      for (let k = 0; k < d; k++) functionIndex[id * d + k] = index[k];
    }
  }

  const fields = {
    dimension: d,
    degrees: Int32Array.from(space.degrees),
    localSize: B,
    levelCount: L,
    functionCount: nF,
    elementCount: nE,
    truncated: space.truncated,
    knots,
    knotStart,
    elementLevel,
    elementCell,
    elementSpan,
    elementBox,
    rootCells,
    rootBreaks,
    rootBreakStart,
    treeNodes: nodes < nodeCount ? treeNodes.slice(0, nodes) : treeNodes,
    extractionStart,
    extractionFunctions,
    functionLevel,
    functionIndex,
    levelOffsets,
  };
  const plan = new CompiledPlan(fields, pooled ? undefined : extractionCoefficients);
  if (pooled) pooledRows.set(plan, pooled);
  return { plan, reuse };
}

type PlanFields = Omit<EvaluationPlan, "extractionCoefficients">;

/**
 * Every compiled plan is one of these, pooled or not, so that the hot kernels taking a plan see one hidden
 * class: a plan literal with its own getter got a new class per plan (V8 keeps an accessor in the object's
 * map), and the warp kernels of a registration were deoptimised and recompiled at every level. The dense
 * coefficients of a pooled plan are gathered on first use.
 */
class CompiledPlan implements EvaluationPlan {
  declare readonly dimension: number;
  declare readonly degrees: Int32Array;
  declare readonly localSize: number;
  declare readonly levelCount: number;
  declare readonly functionCount: number;
  declare readonly elementCount: number;
  declare readonly truncated: boolean;
  declare readonly knots: Float64Array;
  declare readonly knotStart: Int32Array;
  declare readonly elementLevel: Int32Array;
  declare readonly elementCell: Int32Array;
  declare readonly elementSpan: Int32Array;
  declare readonly elementBox: Float64Array;
  declare readonly rootCells: Int32Array;
  declare readonly rootBreaks: Float64Array;
  declare readonly rootBreakStart: Int32Array;
  declare readonly treeNodes: Int32Array;
  declare readonly extractionStart: Int32Array;
  declare readonly extractionFunctions: Int32Array;
  declare readonly functionLevel: Int32Array;
  declare readonly functionIndex: Int32Array;
  declare readonly levelOffsets: Int32Array;
  #dense: Float64Array | undefined;

  constructor(fields: PlanFields, dense: Float64Array | undefined) {
    Object.assign(this, fields);
    this.#dense = dense;
  }

  get extractionCoefficients(): Float64Array {
    if (this.#dense) return this.#dense;
    // a pooled plan: its rows gathered from its pool of now (a later refinement may have moved them to a new one)
    const dense = new Float64Array(this.extractionStart[this.elementCount] * this.localSize);
    gatherRows(this, pooledRows.get(this) as { pool: RowPool; rowStart: Int32Array }, dense);
    this.#dense = dense;
    return dense;
  }
}
