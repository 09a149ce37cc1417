/**
 * THB evaluation as autodiff primitives over one compiled plan:
 *   thbEvaluate(control #functions×dim, params #points×d) → values #points×dim
 * (and, on request, first derivatives #points×d×dim) with VJPs to the coefficients (per-element reduction, then the transposed extraction product — no
 * scatter races, deterministic) and to the parameters (first derivatives of the field). The coefficient
 * VJP is itself a primitive (thbTranspose), linear in its input, whose VJP is thbEvaluate again, so
 * second derivatives with respect to the coefficients (Hessian-vector products) work too.
 */

import { add, reshape, slice } from "../autodiff/api.js";
import { defineOp } from "../autodiff/customOp.js";
import { Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import {
  elementGradientsOfDerivativesCpu,
  gatherFunctionGradientsCpu,
  thbBackwardControlCpu,
  thbBackwardParamsCpu,
  thbBackwardParamsWithDerivativesCpu,
  thbForwardCpu,
} from "../kernels/cpu/thbKernels.js";
import { upload } from "../kernels/webgpu/gpuBuffers.js";
import { gridPoints } from "./backend.js";
import { deviceOf, type WebGpuTensors } from "./webgpuTensors.js";

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
  /**
   * The coefficient VJPs on the GPU: a per-element reduction of the cotangent `g` against the basis (or its
   * derivatives, for `#points by d by dim` cotangents) over points sorted by element once, then the gather
   * per function — deterministic, no atomics.
   */
  const transposeOnDevice = (inputs: readonly Tensor[], ofDerivatives: boolean) => {
    const [g, params] = inputs;
    const dim = g.shape[g.rank - 1];
    const gpu = deviceOf(inputs);
    const gpuPlan = gpu.plan(plan);
    const order = gpu.pointOrder(gpuPlan, params);
    const [gIn, pIn] = [gpu.input(g), gpu.input(params)];
    const G = ofDerivatives
      ? gpuPlan.elementGradientsOfDerivatives(pIn.buffer, gIn.buffer, order, dim)
      : gpuPlan.elementGradients(pIn.buffer, gIn.buffer, order, dim);
    const out = gpuPlan.gatherFunctions(G, dim);
    for (const b of [gIn, pIn, { buffer: G, temporary: true }])
      if (b.temporary) gpu.context.pool.release(b.buffer);
    // host parameters were sorted for this call only
    if (!params.onDevice) gpuPlan.releaseOrder(order);
    return { outputs: [gpu.wrap(out, [plan.functionCount, dim])], residuals: params };
  };
  const transpose: Op = defineOp<Tensor>({
    name: "thbTranspose",
    implementations: {
      cpu: {
        forward: ([g, params]) => {
          const dim = g.shape[1];
          const out = thbBackwardControlCpu(plan, params.values, g.values, dim);
          return { outputs: [new Tensor(out, [plan.functionCount, dim])], residuals: params };
        },
        vjp: (params, [h]) => [h ? evaluate([h, params])[0] : undefined, undefined],
      },
      webgpu: {
        forward: (inputs) => transposeOnDevice(inputs, false),
        vjp: (params, [h]) => [h ? evaluate([h, params])[0] : undefined, undefined],
      },
    },
  });
  // host residuals: the local control blocks; device residuals: the same blocks as a device tensor
  type Residuals = { local?: Float64Array; localOnDevice?: Tensor };
  /**
   * The GPU forward at the parameters (order 0 or 1): its output buffer, and the local control blocks as a
   * device tensor — a residual, so the caller's scope frees it.
   */
  const forwardOnDevice = (inputs: readonly Tensor[], order: 0 | 1) => {
    const [control, params] = inputs;
    const dim = checkInputs(plan, control, params);
    const gpu = deviceOf(inputs);
    const [cIn, pIn] = [gpu.input(control), gpu.input(params)];
    const gpuPlan = gpu.plan(plan);
    const local = gpuPlan.localControl(cIn.buffer, dim);
    // points a backward pass already sorted by element need no location (loops over fixed points)
    const known = order === 0 ? gpu.knownPointOrder(gpuPlan, params) : undefined;
    const out = known
      ? gpuPlan.forwardSorted(local, pIn.buffer, known, dim)
      : gpuPlan.forward(local, pIn.buffer, params.shape[0], dim, order);
    for (const b of [cIn, pIn]) if (b.temporary) gpu.context.pool.release(b.buffer);
    const localOnDevice = gpu.wrap(local, [plan.elementCount * plan.localSize * dim]);
    return { gpu, dim, count: params.shape[0], out, residuals: { localOnDevice } };
  };
  const evaluate: Op = defineOp<Residuals>({
    name: "thbEvaluate",
    implementations: {
      cpu: {
        forward: ([control, params]) => {
          const dim = checkInputs(plan, control, params);
          const { values, local } = thbForwardCpu(plan, control.values, dim, params.values, 0);
          return { outputs: [new Tensor(values, [params.shape[0], dim])], residuals: { local } };
        },
        vjp: ({ local }, [g], [control, params]) => {
          if (!g || !local) return [undefined, undefined];
          const dim = control.shape[1];
          const toControl = control.traced ? transpose([g, params])[0] : undefined;
          const toParams = params.traced
            ? new Tensor(thbBackwardParamsCpu(plan, local, dim, params.values, g.values), params.shape)
            : undefined;
          return [toControl, toParams];
        },
      },
      webgpu: {
        forward: (inputs) => {
          const { gpu, dim, count, out, residuals } = forwardOnDevice(inputs, 0);
          return { outputs: [gpu.wrap(out, [count, dim])], residuals };
        },
        vjp: ({ localOnDevice: local }, [g], inputs) => {
          const [control, params] = inputs;
          if (!g || !local) return [undefined, undefined];
          const dim = control.shape[1];
          const toControl = control.traced ? transpose([g, params])[0] : undefined;
          let toParams: Tensor | undefined;
          if (params.traced) {
            const gpu = deviceOf([local]);
            const [pIn, gIn] = [gpu.input(params), gpu.input(g)];
            const localBuffer = gpu.input(local).buffer;
            const gpuPlan = gpu.plan(plan);
            const known = gpu.knownPointOrder(gpuPlan, params);
            const out = known
              ? gpuPlan.backwardParamsSorted(localBuffer, pIn.buffer, gIn.buffer, known, dim)
              : gpuPlan.backwardParams(localBuffer, pIn.buffer, gIn.buffer, params.shape[0], dim);
            for (const b of [pIn, gIn]) if (b.temporary) gpu.context.pool.release(b.buffer);
            toParams = gpu.wrap(out, params.shape);
          }
          return [toControl, toParams];
        },
      },
    },
  });
  // first derivatives: the coefficient VJP is another linear primitive (its own VJP evaluates derivatives)
  const transposeDerivatives: Op = defineOp<Tensor>({
    name: "thbTransposeDerivatives",
    implementations: {
      cpu: {
        forward: ([g, params]) => {
          const dim = g.shape[2];
          const G = elementGradientsOfDerivativesCpu(plan, params.values, g.values, dim);
          const out = gatherFunctionGradientsCpu(plan, G, dim);
          return { outputs: [new Tensor(out, [plan.functionCount, dim])], residuals: params };
        },
        vjp: (params, [h]) => [h ? withDerivatives([h, params])[1] : undefined, undefined],
      },
      webgpu: {
        forward: (inputs) => transposeOnDevice(inputs, true),
        vjp: (params, [h]) => [h ? withDerivatives([h, params])[1] : undefined, undefined],
      },
    },
  });
  const withDerivatives: Op = defineOp<Residuals>({
    name: "thbEvaluateWithDerivatives",
    implementations: {
      cpu: {
        forward: ([control, params]) => {
          const dim = checkInputs(plan, control, params);
          const d = plan.dimension;
          const count = params.shape[0];
          const { values: both, local } = thbForwardCpu(plan, control.values, dim, params.values, 1);
          const values = new Float64Array(count * dim);
          const derivatives = new Float64Array(count * d * dim);
          for (let i = 0; i < count; i++) {
            for (let c = 0; c < dim; c++) values[i * dim + c] = both[i * (1 + d) * dim + c];
            for (let k = 0; k < d; k++) {
              for (let c = 0; c < dim; c++)
                derivatives[(i * d + k) * dim + c] = both[(i * (1 + d) + 1 + k) * dim + c];
            }
          }
          return {
            outputs: [new Tensor(values, [count, dim]), new Tensor(derivatives, [count, d, dim])],
            residuals: { local },
          };
        },
        vjp: ({ local }, [gValues, gDerivatives], [control, params]) => {
          if (!local) return [undefined, undefined];
          const dim = control.shape[1];
          const toControl = control.traced ? controlCotangent(gValues, gDerivatives, params) : undefined;
          const toParams = params.traced
            ? new Tensor(
                thbBackwardParamsWithDerivativesCpu(
                  plan,
                  local,
                  dim,
                  params.values,
                  gValues?.values,
                  gDerivatives?.values,
                ),
                params.shape,
              )
            : undefined;
          return [toControl, toParams];
        },
      },
      webgpu: {
        forward: (inputs) => {
          const { gpu, dim, count, out, residuals } = forwardOnDevice(inputs, 1);
          const d = plan.dimension;
          const both = gpu.wrap(out, [count, 1 + d, dim]);
          return {
            outputs: [reshape(slice(both, 1, 0, 1), [count, dim]), slice(both, 1, 1, 1 + d)],
            residuals,
          };
        },
        vjp: ({ localOnDevice: local }, [gValues, gDerivatives], inputs) => {
          const [control, params] = inputs;
          if (!local) return [undefined, undefined];
          const dim = control.shape[1];
          const toControl = control.traced ? controlCotangent(gValues, gDerivatives, params) : undefined;
          let toParams: Tensor | undefined;
          if (params.traced) {
            const gpu = deviceOf([local]);
            const gpuPlan = gpu.plan(plan);
            const count = params.shape[0];
            const d = plan.dimension;
            const { device, pool } = gpu.context;
            const pIn = gpu.input(params);
            const H = gpuPlan.forward(gpu.input(local).buffer, pIn.buffer, count, dim, 2);
            // an unused output's cotangent is zero
            const gV = gValues
              ? gpu.input(gValues)
              : { buffer: upload(device, pool, new Float32Array(count * dim)), temporary: true };
            const gD = gDerivatives
              ? gpu.input(gDerivatives)
              : { buffer: upload(device, pool, new Float32Array(count * d * dim)), temporary: true };
            const out = gpuPlan.backwardParamsOfDerivatives(H, gV.buffer, gD.buffer, count, dim);
            for (const b of [pIn, gV, gD, { buffer: H, temporary: true }])
              if (b.temporary) pool.release(b.buffer);
            toParams = gpu.wrap(out, params.shape);
          }
          return [toControl, toParams];
        },
      },
    },
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
  const gridVjp = (
    _: undefined,
    [g]: readonly (Tensor | undefined)[],
    [control, points]: readonly Tensor[],
  ) => [g && control.traced ? transpose([g, points])[0] : undefined, undefined];
  const gridOps = new WeakMap<ThbGrid, Op>();
  const gridOp = (grid: ThbGrid): Op => {
    let op = gridOps.get(grid);
    if (op) return op;
    op = defineOp<undefined>({
      name: "thbEvaluateGrid",
      implementations: {
        cpu: {
          forward: ([control, points]) => {
            const dim = checkInputs(plan, control, points);
            const { values } = thbForwardCpu(plan, control.values, dim, points.values, 0);
            return { outputs: [new Tensor(values, [points.shape[0], dim])], residuals: undefined };
          },
          vjp: gridVjp,
        },
        webgpu: {
          forward: (inputs) => {
            const [control, points] = inputs;
            const dim = checkInputs(plan, control, points);
            const gpu = deviceOf(inputs);
            const gpuPlan = gpu.plan(plan);
            const cIn = gpu.input(control);
            const local = gpuPlan.localControl(cIn.buffer, dim);
            const out = gpuPlan.gridForward(
              local,
              dim,
              [...grid.origin],
              [...grid.spacing],
              [...grid.counts],
            );
            if (cIn.temporary) gpu.context.pool.release(cIn.buffer);
            gpu.context.pool.release(local);
            return { outputs: [gpu.wrap(out, [points.shape[0], dim])], residuals: undefined };
          },
          vjp: gridVjp,
        },
      },
    });
    gridOps.set(grid, op);
    return op;
  };
  return {
    evaluate: (control, params) => evaluate([control, params])[0],
    evaluateGrid: (control, grid) => gridOp(grid)([control, grid.points])[0],
    evaluateWithDerivatives: (control, params) => {
      const [values, derivatives] = withDerivatives([control, params]);
      return { values, derivatives };
    },
  };
}
