/**
 * THB fields: a THB space plus control coefficients `#functions by dim` (f64).
 *
 * Refinement carries a field over exactly. An active level-l function τ of the refined space is non-zero
 * on some active level-l element e, and there the field's level-l local B-spline coefficients P_e satisfy
 * P_e[τ] = c_τ + Σ_{a coarser} c_a E_e[a, τ] (for THB the sum vanishes: truncation removed τ from every
 * coarser function). Visiting functions level by level therefore gives every new coefficient from the
 * old field's local coefficients, refined down to e through the two-scale relation — no solve.
 * Coarsening cannot be exact; it projects by least squares (Gauss quadrature on every element).
 */

import { localRefinementBlocks, refineLocal } from "../hierarchy/extraction.js";
import { compile, compileReusing, type EvaluationPlan, extractionRows } from "../hierarchy/plan.js";
import {
  type Box,
  type CoarsenResult,
  coarsenElements,
  type ElementRequest,
  type RefineOptions,
  refineAtPoints,
  refineBoxes,
  refineElements,
} from "../hierarchy/refinement.js";
import type { ElementRef, THBSpace } from "../hierarchy/thbSpace.js";
import { elementGaussPoint, elementRuleSize } from "../kernels/cpu/elementQuadrature.js";
import {
  evaluateLocalField,
  functionElements,
  LocalBasisScratch,
  localControl,
  localTensorBasis,
  updateLocalControl,
} from "../kernels/cpu/planEvaluate.js";
import { evaluateSurfaceField } from "../kernels/cpu/surfaceEvaluate.js";
import { conjugateGradient } from "../linalg/conjugateGradient.js";
import { gaussLegendre } from "../linalg/gaussLegendre.js";
import { SparseMatrix } from "../linalg/sparseMatrix.js";
import { ArgumentError } from "../splines/errors.js";
import { derivativeCount, validateDerivativeOrder } from "../splines/tensorBasis.js";

/** A function from the parametric domain to R^dim in a THB space. */
export class THBField {
  readonly space: THBSpace;
  readonly dim: number;
  readonly control: Float64Array;
  private planCache?: EvaluationPlan;
  private localCache?: Float64Array;

  /**
   * `plan`, when given, must be compile(space), and `local` localControl(plan, control, dim): callers that
   * already have them pass them on.
   */
  constructor(
    space: THBSpace,
    control: ArrayLike<number>,
    dim: number,
    plan?: EvaluationPlan,
    local?: Float64Array,
  ) {
    if (!Number.isInteger(dim) || dim < 1)
      throw new ArgumentError(`dim must be a positive integer, got ${dim}`);
    if (control == null || control.length !== space.size * dim) {
      throw new ArgumentError(
        `control must hold ${space.size} functions × ${dim} = ${space.size * dim} numbers, got length ${control?.length}`,
      );
    }
    for (let i = 0; i < control.length; i++) {
      if (!Number.isFinite(control[i]))
        throw new ArgumentError(`control[${i}] must be finite, got ${control[i]}`);
    }
    this.space = space;
    this.dim = dim;
    // the constructor copies a typed array in one block; Float64Array.from walks it element by element
    this.control = new Float64Array(control);
    this.planCache = plan;
    this.localCache = plan ? local : undefined;
  }

  /** The zero field. */
  static zeros(space: THBSpace, dim: number): THBField {
    return new THBField(space, new Float64Array(space.size * dim), dim);
  }

  /** The compiled plan of the space (built once). */
  get plan(): EvaluationPlan {
    if (!this.planCache) this.planCache = compile(this.space);
    return this.planCache;
  }

  /** Local control points P_e = E_eᵀ C_e of every element (built once). */
  get localControl(): Float64Array {
    if (!this.localCache) this.localCache = localControl(this.plan, this.control, this.dim);
    return this.localCache;
  }

  /**
   * The same field with the control points of some functions replaced (`ids`, and `rows  #ids by dim`):
   * no recompilation, and only the local control points of the elements those functions act on are
   * recomputed (bit-identical to recomputing all of them). What a control-point drag needs.
   */
  withControlRows(ids: ArrayLike<number>, rows: ArrayLike<number>): THBField {
    const dim = this.dim;
    const n = this.space.size;
    if (rows == null || rows.length !== ids.length * dim) {
      throw new ArgumentError(
        `rows must hold ${ids.length} functions × ${dim} numbers, got length ${rows?.length}`,
      );
    }
    const control = this.control.slice();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= n)
        throw new ArgumentError(`ids[${i}] = ${id} is not a function id (0 … ${n - 1})`);
      for (let k = 0; k < dim; k++) {
        const v = rows[i * dim + k];
        if (!Number.isFinite(v)) throw new ArgumentError(`rows[${i * dim + k}] must be finite, got ${v}`);
        control[id * dim + k] = v;
      }
    }
    const plan = this.plan;
    const touched = this.elementsOfFunctions(ids);
    const local = updateLocalControl(plan, control, dim, touched, this.localControl.slice());
    return new THBField(this.space, control, dim, plan, local);
  }

  /** The plan's elements (ids, ascending) on which any of the functions `ids` acts: where they move the field. */
  elementsOfFunctions(ids: ArrayLike<number>): number[] {
    const { start, elements } = functionElements(this.plan);
    const touched = new Set<number>();
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (!Number.isInteger(id) || id < 0 || id >= this.space.size)
        throw new ArgumentError(`ids[${i}] = ${id} is not a function id (0 … ${this.space.size - 1})`);
      for (let j = start[id]; j < start[id + 1]; j++) touched.add(elements[j]);
    }
    return [...touched].sort((a, b) => a - b);
  }

  /** Values and derivatives up to `order` at `params  #points by d`; `#points by blocks by dim`. */
  evaluate(params: ArrayLike<number>, order = 0, out?: Float64Array): Float64Array {
    validateDerivativeOrder(order);
    const d = this.space.dimension;
    this.space.checkPoints(params, "params", (message) => new ArgumentError(message));
    const count = params.length / d;
    const length = count * derivativeCount(d, order) * this.dim;
    if (out !== undefined && out.length < length) {
      throw new ArgumentError(`out must hold at least ${length} numbers, got ${out.length}`);
    }
    if (d === 2 && order === 0)
      return evaluateSurfaceField(this.plan, this.localControl, this.dim, params, out);
    return evaluateLocalField(this.plan, this.localControl, this.dim, params, order, out);
  }

  /** Refines elements (admissibly, class m) and carries the field over exactly. */
  refineElements(requests: readonly ElementRequest[], options: RefineOptions = {}): THBField {
    return this.carryOverTo(refineElements(this.space, requests, options));
  }

  /** Inserts G+Smo boxes and carries the field over exactly. */
  refineBoxes(boxes: readonly Box[]): THBField {
    return this.carryOverTo(refineBoxes(this.space, boxes));
  }

  /** Refines around points to a target level and carries the field over exactly. */
  refineAtPoints(points: ArrayLike<number>, targetLevel: number, options: RefineOptions = {}): THBField {
    return this.carryOverTo(refineAtPoints(this.space, points, targetLevel, options));
  }

  /** Coarsens where admissible and projects the field by least squares onto the coarser space. */
  coarsen(
    requests: readonly ElementRequest[],
    options: RefineOptions = {},
  ): { field: THBField } & Omit<CoarsenResult, "space"> {
    const { space, coarsened, skipped } = coarsenElements(this.space, requests, options);
    return { field: coarsened === 0 ? this : projectLeastSquares(this, space), coarsened, skipped };
  }

  /**
   * The same function in a finer space `target` (one whose every Ω^l contains this space's): exact.
   * Throws when the target does not refine this space.
   */
  carryOverTo(target: THBSpace): THBField {
    const source = this.space;
    const dim = this.dim;
    const B = source.localSize;
    for (let l = 0; l < source.maxLevels; l++) {
      for (const key of source.tree.refined[l]) {
        if (!target.tree.refined[l].has(key)) {
          throw new ArgumentError("carryOverTo needs a target space that refines this one (no coarsening)");
        }
      }
    }
    const oldPlan = this.plan;
    const oldLocal = this.localControl;
    const { plan: newPlan, reuse } = compileReusing(target, { space: source, plan: oldPlan });
    const control = new Float64Array(target.size * dim);
    const offsets = target.levelOffsets;
    const carried = new CarryOver(this, target, newPlan);
    if (target.truncated && reuse) {
      // THB preserves coefficients: an active function of both spaces keeps its control point (on a level-l
      // element e of both, P_e[τ] = c_τ exactly, coarser functions being truncated to 0 there), so only the
      // functions new to the target are computed
      const known = new Uint8Array(target.size);
      for (let f = 0; f < oldPlan.functionCount; f++) {
        const id = reuse.renumber[f];
        if (id < 0) continue;
        known[id] = 1;
        for (let c = 0; c < dim; c++) control[id * dim + c] = this.control[f * dim + c];
      }
      for (let l = 0; l < target.levelCount; l++) {
        const active = target.activeFunctions(l);
        for (let i = 0; i < active.length; i++) {
          const id = offsets[l] + i;
          if (!known[id]) carried.coefficient(l, active[i], id, control);
        }
      }
      // the elements that kept their rows, whose functions all kept their control points, keep their local
      // control points; the others are recomputed
      const local = new Float64Array(newPlan.elementCount * B * dim);
      const recompute: number[] = [];
      const block = B * dim;
      for (let e = 0; e < newPlan.elementCount; ) {
        const o = reuse.oldElement[e];
        if (o < 0) {
          recompute.push(e++);
          continue;
        }
        // one copy per run of elements whose old elements follow one another
        let end = e + 1;
        while (end < newPlan.elementCount && reuse.oldElement[end] === o + (end - e)) end++;
        local.set(oldLocal.subarray(o * block, (o + end - e) * block), e * block);
        e = end;
      }
      updateLocalControl(newPlan, control, dim, recompute, local);
      return new THBField(target, control, dim, newPlan, local);
    }
    for (let l = 0; l < target.levelCount; l++) {
      const active = target.activeFunctions(l);
      for (let i = 0; i < active.length; i++) carried.coefficient(l, active[i], offsets[l] + i, control);
    }
    return new THBField(target, control, dim, newPlan);
  }
}

/**
 * The exact carry-over of one function's coefficient: the old field's local coefficients on the old element
 * containing a level-l element e in the function's support, refined down to level l, read at the function's
 * local index, minus the coarser functions' contributions (zero for THB).
 */
class CarryOver {
  private readonly source: THBSpace;
  private readonly target: THBSpace;
  private readonly plan: EvaluationPlan;
  private readonly oldLocal: Float64Array;
  private readonly dim: number;
  private readonly oldElements: readonly ElementRef[];
  private readonly newElements: readonly ElementRef[];
  private readonly cell = [0, 0, 0];
  private readonly index = [0, 0, 0];
  private readonly span = [0, 0, 0];
  private readonly previousSpan = [0, 0, 0];
  private readonly blocks: Float64Array[] = [];
  private readonly q: number[];
  private readonly column: Float64Array;
  private readonly tmpA: Float64Array;
  private readonly tmpB: Float64Array;
  private readonly local: Float64Array;

  constructor(field: THBField, target: THBSpace, plan: EvaluationPlan) {
    this.source = field.space;
    this.target = target;
    this.plan = plan;
    this.oldLocal = field.localControl;
    this.dim = field.dim;
    // element ids by binary search in the sorted element lists (no map of every element per carry-over)
    this.oldElements = field.space.elements;
    this.newElements = target.elements;
    if (this.oldElements.length !== field.plan.elementCount || this.newElements.length !== plan.elementCount)
      throw new Error("plan and space disagree on the element count");
    const B = target.localSize;
    this.q = target.degrees.map((p) => p + 1);
    this.column = new Float64Array(B);
    this.tmpA = new Float64Array(B);
    this.tmpB = new Float64Array(B);
    this.local = new Float64Array(B * field.dim);
  }

  /** Writes the coefficient of level-l function `flat` (global id `id`) into control. */
  coefficient(l: number, flat: number, id: number, control: Float64Array): void {
    const { source, target, plan, dim, cell, index, span, previousSpan, blocks, q, column, local } = this;
    const d = target.dimension;
    const B = target.localSize;
    const offsets = plan.levelOffsets;
    const elementKey = activeElementInSupport(target, l, flat, cell, index);
    // the old element containing it, and the old field's local coefficients there
    const old = source.tree.activeElementContaining(l, elementKey);
    const oldId = elementIdOf(this.oldElements, old.level, old.key);
    local.set(this.oldLocal.subarray(oldId * B * dim, (oldId + 1) * B * dim));
    for (let k = old.level + 1; k <= l; k++) {
      for (let dir = 0; dir < d; dir++) {
        previousSpan[dir] = target.level(k - 1, dir).spanOfCell[cell[dir] >> (l - k + 1)];
        span[dir] = target.level(k, dir).spanOfCell[cell[dir] >> (l - k)];
      }
      localRefinementBlocks(target, k, span, previousSpan, blocks);
      for (let c = 0; c < dim; c++) {
        for (let j = 0; j < B; j++) column[j] = local[j * dim + c];
        const refined = refineLocal(column, blocks, q, d, this.tmpA, this.tmpB);
        for (let j = 0; j < B; j++) local[j * dim + c] = refined[j];
      }
    }
    // τ's position among the element's local B-splines
    let localIndex = 0;
    for (let dir = d - 1; dir >= 0; dir--) {
      const first = target.level(l, dir).spanOfCell[cell[dir]] - target.degrees[dir];
      localIndex = localIndex * q[dir] + (index[dir] - first);
    }
    const e = elementIdOf(this.newElements, l, elementKey);
    for (let c = 0; c < dim; c++) control[id * dim + c] = local[localIndex * dim + c];
    // subtract coarser functions' contributions (zero for THB, non-zero for HB)
    const rows = extractionRows(plan);
    const shift = rows.rowStart[e] - plan.extractionStart[e];
    for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) {
      const a = plan.extractionFunctions[r];
      if (a >= offsets[l]) break; // ascending ids: the rest are of level ≥ l
      const coefficient = rows.values[(r + shift) * B + localIndex];
      if (coefficient === 0) continue;
      for (let c = 0; c < dim; c++) control[id * dim + c] -= coefficient * control[a * dim + c];
    }
  }
}

/** The id of the active element (level, key) in a space's element list (sorted by level, then key). */
function elementIdOf(elements: readonly ElementRef[], level: number, key: number): number {
  let lo = 0;
  let hi = elements.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const e = elements[mid];
    if (e.level < level || (e.level === level && e.key < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Key of an active level-l element inside the support of level-l function `flat` (one exists for every
 * active function); writes its cell to `cell` and the function's tensor index to `index`.
 */
function activeElementInSupport(
  space: THBSpace,
  l: number,
  flat: number,
  cell: number[],
  index: number[],
): number {
  const d = space.dimension;
  space.tensorIndex(l, flat, index);
  const lo = [0, 0, 0];
  const hi = [1, 1, 1];
  for (let k = 0; k < d; k++) {
    lo[k] = space.level(l, k).supportStart[index[k]];
    hi[k] = space.level(l, k).supportEnd[index[k]];
  }
  for (cell[2] = lo[2]; cell[2] < hi[2]; cell[2]++) {
    for (cell[1] = lo[1]; cell[1] < hi[1]; cell[1]++) {
      for (cell[0] = lo[0]; cell[0] < hi[0]; cell[0]++) {
        const key = space.tree.key(l, cell);
        if (space.tree.isActive(l, key)) return key;
      }
    }
  }
  throw new Error(`active function ${flat} of level ${l} has no active element of its level in its support`);
}

/** Least-squares projection of a field onto another space (Gauss quadrature, p+1 points per direction). */
export function projectLeastSquares(field: THBField, target: THBSpace): THBField {
  const d = target.dimension;
  const dim = field.dim;
  const plan = compile(target, { space: field.space, plan: field.plan });
  const B = plan.localSize;
  const rules = target.degrees.map((p) => gaussLegendre(p + 1, 0, 1));
  const scratch = new LocalBasisScratch(plan, 0);
  const rowIndex: number[] = [];
  const colIndex: number[] = [];
  const values: number[] = [];
  const rhs = new Float64Array(plan.functionCount * dim);
  const total = elementRuleSize(rules);
  // all quadrature points and weights first, so the source field is evaluated in one batch
  const points = new Float64Array(plan.elementCount * total * d);
  const weights = new Float64Array(plan.elementCount * total);
  for (let e = 0; e < plan.elementCount; e++) {
    for (let g = 0; g < total; g++) {
      const q = e * total + g;
      weights[q] = elementGaussPoint(plan, rules, e, g, points, q * d);
    }
  }
  const source = field.evaluate(points, 0);
  for (let e = 0; e < plan.elementCount; e++) {
    const start = plan.extractionStart[e];
    const k = plan.extractionStart[e + 1] - start;
    const T = new Float64Array(k);
    for (let g = 0; g < total; g++) {
      const q = e * total + g;
      const weight = weights[q];
      localTensorBasis(plan, e, points, q * d, scratch);
      for (let a = 0; a < k; a++) {
        let v = 0;
        for (let j = 0; j < B; j++) v += plan.extractionCoefficients[(start + a) * B + j] * scratch.values[j];
        T[a] = v;
      }
      for (let a = 0; a < k; a++) {
        const fa = plan.extractionFunctions[start + a];
        for (let c = 0; c < dim; c++) rhs[fa * dim + c] += weight * T[a] * source[q * dim + c];
        for (let b = 0; b < k; b++) {
          rowIndex.push(fa);
          colIndex.push(plan.extractionFunctions[start + b]);
          values.push(weight * T[a] * T[b]);
        }
      }
    }
  }
  const mass = SparseMatrix.fromTriplets(plan.functionCount, plan.functionCount, rowIndex, colIndex, values);
  const control = new Float64Array(plan.functionCount * dim);
  const b = new Float64Array(plan.functionCount);
  const solution = new Float64Array(plan.functionCount);
  for (let c = 0; c < dim; c++) {
    for (let i = 0; i < plan.functionCount; i++) b[i] = rhs[i * dim + c];
    solution.fill(0);
    conjugateGradient(mass, b, solution, 1e-14);
    for (let i = 0; i < plan.functionCount; i++) control[i * dim + c] = solution[i];
  }
  return new THBField(target, control, dim, plan);
}
