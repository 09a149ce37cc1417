/**
 * THB evaluation as autodiff primitives over one compiled plan:
 *   thbEvaluate(control #functions×dim, params #points×d) → values #points×dim
 * (and, on request, first derivatives #points×d×dim) with VJPs to the coefficients (per-element reduction,
 * then the transposed extraction product — no scatter races, deterministic) and to the parameters (first
 * derivatives of the field). The coefficient VJP is itself a primitive (thbTranspose), linear in its input,
 * whose VJP is thbEvaluate again, so second derivatives with respect to the coefficients (Hessian-vector
 * products) work too. Each primitive is written once over the kernels of the backend its inputs live on
 * (primitives/tensorKernels.ts).
 */

import { add, reshape, slice } from "../autodiff/api.js";
import { defineOp } from "../autodiff/customOp.js";
import { Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { gridPoints } from "../kernels/cpu/gridPoints.js";
import { kernelsOf, onEveryBackend } from "./tensorKernels.js";
import { type ResidualLossOptions, type ThbPointSet, thbPointSet, thbPointSetOps } from "./thbPointSet.js";
import type { WebGpuTensors } from "./webgpuTensors.js";

/**
 * A regular grid origin + spacing · i (first direction fastest) inside the domain, with its points as a
 * tensor (`#grid points by d`): on the host, or on the GPU (then the grid evaluates there).
 */
export interface ThbGrid {
  readonly origin: readonly number[];
  readonly spacing: readonly number[];
  readonly counts: readonly number[];
  readonly points: Tensor;
}

/**
 * The grid origin + spacing · i, i < counts, of a plan's domain (rounding past the domain's end clamped
 * back onto it); with `gpu`, its points live on that device, and evaluation uses the grid kernel.
 */
export function thbGrid(
  plan: EvaluationPlan,
  origin: readonly number[],
  spacing: readonly number[],
  counts: readonly number[],
  gpu?: WebGpuTensors,
): ThbGrid {
  const d = plan.dimension;
  if (origin.length !== d || spacing.length !== d || counts.length !== d)
    throw new RangeError(`origin, spacing and counts need ${d} entries each`);
  const points = gridPoints([...origin], [...spacing], [...counts]);
  for (let i = 0; i < points.length; i++) {
    const k = i % d;
    const lo = plan.rootBreaks[plan.rootBreakStart[k]];
    const hi = plan.rootBreaks[plan.rootBreakStart[k + 1] - 1];
    if (points[i] < lo - 1e-9 * (hi - lo) || points[i] > hi + 1e-9 * (hi - lo))
      throw new RangeError(`grid point ${Math.floor(i / d)} lies outside the domain along direction ${k}`);
    points[i] = Math.min(Math.max(points[i], lo), hi);
  }
  const shape = [points.length / d, d];
  return { origin, spacing, counts, points: gpu ? gpu.toDevice(points, shape) : new Tensor(points, shape) };
}

/** The THB primitives of one plan. */
export interface ThbOps {
  /** Field values at the parameters, `#points by dim`. */
  evaluate(control: Tensor, params: Tensor): Tensor;
  /** Values and first derivatives: `values  #points by dim`, `derivatives  #points by d by dim`. */
  evaluateWithDerivatives(control: Tensor, params: Tensor): { values: Tensor; derivatives: Tensor };
  /** Values on a regular grid (`#grid points by dim`, first direction fastest); on the GPU when its points are. */
  evaluateGrid(control: Tensor, grid: ThbGrid): Tensor;
  /** Fixed points with their basis cached once (primitives/thbPointSet.ts), for loops over the same points. */
  pointSet(params: Tensor | Float64Array, maxBytes?: number): ThbPointSet;
  /** Values at a point set's points, `#points by dim`. */
  evaluatePoints(control: Tensor, set: ThbPointSet): Tensor;
  /** The fused loss mean (or sum) of ρ(‖S(x_k) − t_k‖) at a point set's points, a scalar (first order). */
  residualLoss(control: Tensor, set: ThbPointSet, targets: Tensor, options?: ResidualLossOptions): Tensor;
}

function checkInputs(plan: EvaluationPlan, control: Tensor, params: Tensor): number {
  if (control.rank !== 2 || control.shape[0] !== plan.functionCount) {
    throw new RangeError(`control must have shape [${plan.functionCount}, dim], got [${control.shape}]`);
  }
  if (params.rank !== 2 || params.shape[1] !== plan.dimension) {
    throw new RangeError(`params must have shape [#points, ${plan.dimension}], got [${params.shape}]`);
  }
  return control.shape[1];
}

/** Builds the THB primitives for a plan. */
export function thbOps(plan: EvaluationPlan): ThbOps {
  type Op = (inputs: readonly Tensor[]) => Tensor[];
  const d = plan.dimension;
  const thb = (tensors: readonly Tensor[]) => kernelsOf(tensors).thb(plan);
  // the coefficient VJPs: a per-element reduction of the cotangent against the basis (or its derivatives),
  // then the transposed extraction product — deterministic, no atomics; linear in g, so their own VJP is
  // the evaluation again (second derivatives with respect to the coefficients)
  const transpose: Op = defineOp<Tensor>({
    name: "thbTranspose",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [g, params] = inputs;
        return { outputs: [thb(inputs).transpose(g, params, false)], residuals: params };
      },
      vjp: (params, [h]) => [h ? evaluate([h, params])[0] : undefined, undefined],
    }),
  });
  // residuals: the local control blocks, where the forward ran
  const evaluate: Op = defineOp<Tensor>({
    name: "thbEvaluate",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [control, params] = inputs;
        const dim = checkInputs(plan, control, params);
        const kernels = thb(inputs);
        const local = kernels.localControl(control);
        return { outputs: [kernels.forward(local, params, dim, 0)], residuals: local };
      },
      vjp: (local, [g], [control, params]) => {
        if (!g) return [undefined, undefined];
        const dim = control.shape[1];
        const toControl = control.traced ? transpose([g, params])[0] : undefined;
        const toParams = params.traced ? thb([local]).backwardParams(local, params, g, dim) : undefined;
        return [toControl, toParams];
      },
    }),
  });
  // first derivatives: the coefficient VJP is another linear primitive (its own VJP evaluates derivatives)
  const transposeDerivatives: Op = defineOp<Tensor>({
    name: "thbTransposeDerivatives",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [g, params] = inputs;
        return { outputs: [thb(inputs).transpose(g, params, true)], residuals: params };
      },
      vjp: (params, [h]) => [h ? withDerivatives([h, params])[1] : undefined, undefined],
    }),
  });
  const withDerivatives: Op = defineOp<Tensor>({
    name: "thbEvaluateWithDerivatives",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [control, params] = inputs;
        const dim = checkInputs(plan, control, params);
        const count = params.shape[0];
        const kernels = thb(inputs);
        const local = kernels.localControl(control);
        const both = kernels.forward(local, params, dim, 1);
        return {
          outputs: [reshape(slice(both, 1, 0, 1), [count, dim]), slice(both, 1, 1, 1 + d)],
          residuals: local,
        };
      },
      vjp: (local, [gValues, gDerivatives], [control, params]) => {
        const dim = control.shape[1];
        const toControl = control.traced ? controlCotangent(gValues, gDerivatives, params) : undefined;
        const toParams = params.traced
          ? thb([local]).backwardParamsOfDerivatives(local, params, gValues, gDerivatives, dim)
          : undefined;
        return [toControl, toParams];
      },
    }),
  });
  /** The coefficient VJP of values and first derivatives: the two transposes, summed when both are used. */
  const controlCotangent = (
    gValues: Tensor | undefined,
    gDerivatives: Tensor | undefined,
    params: Tensor,
  ): Tensor | undefined => {
    const fromValues = gValues ? transpose([gValues, params])[0] : undefined;
    const fromDerivatives = gDerivatives ? transposeDerivatives([gDerivatives, params])[0] : undefined;
    return fromValues && fromDerivatives ? add(fromValues, fromDerivatives) : (fromValues ?? fromDerivatives);
  };
  // the grid: the same field at fixed points, whose GPU forward walks each element's block of the grid;
  // its coefficient VJP is the transpose at the grid's points on either backend
  const gridOps = new WeakMap<ThbGrid, Op>();
  const gridOp = (grid: ThbGrid): Op => {
    let op = gridOps.get(grid);
    if (op) return op;
    op = defineOp<undefined>({
      name: "thbEvaluateGrid",
      implementations: onEveryBackend({
        forward: (inputs) => {
          const [control, points] = inputs;
          checkInputs(plan, control, points);
          const out = thb(inputs).grid(control, points, grid.origin, grid.spacing, grid.counts);
          return { outputs: [out], residuals: undefined };
        },
        vjp: (_, [g], [control, points]) => [
          g && control.traced ? transpose([g, points])[0] : undefined,
          undefined,
        ],
      }),
    });
    gridOps.set(grid, op);
    return op;
  };
  const pointSetOps = thbPointSetOps(plan);
  return {
    evaluate: (control, params) => evaluate([control, params])[0],
    pointSet: (params, maxBytes) => thbPointSet(plan, params, maxBytes),
    evaluatePoints: pointSetOps.evaluatePoints,
    residualLoss: pointSetOps.residualLoss,
    evaluateGrid: (control, grid) => gridOp(grid)([control, grid.points])[0],
    evaluateWithDerivatives: (control, params) => {
      const [values, derivatives] = withDerivatives([control, params]);
      return { values, derivatives };
    },
  };
}
