/** The cpu side of the primitives' seam (primitives/tensorKernels.ts): the f64 kernels on host tensors. */
import { allocateForOverwrite, recycleCount, Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { type GridBasis, gridBasis, gridElementGradients, gridForward } from "../kernels/cpu/gridBasis.js";
import { jointHistogramOfValues, jointHistogramVjpCpu, sampleImageCpu } from "../kernels/cpu/imageKernels.js";
import { evaluateLocalField, localControl } from "../kernels/cpu/planEvaluate.js";
import { evaluateSurfaceField } from "../kernels/cpu/surfaceEvaluate.js";
import {
  elementGradientsCpu,
  elementGradientsOfDerivativesCpu,
  gatherFunctionGradientsCpu,
  thbBackwardParamsCpu,
  thbBackwardParamsWithDerivativesCpu,
} from "../kernels/cpu/thbKernels.js";
import type { ImageTensorKernels, TensorKernels, ThbTensorKernels } from "./tensorKernels.js";

/** An f64 array of n values from the host pool, for a kernel that writes (or zeroes) all of them. */
const pooled = (n: number) => allocateForOverwrite("f64", n) as Float64Array<ArrayBuffer>;

const thbKernels = new WeakMap<EvaluationPlan, ThbTensorKernels>();

function cpuThb(plan: EvaluationPlan): ThbTensorKernels {
  const d = plan.dimension;
  // grids evaluated on this plan, by their points: the tabulated basis serves the forward and the
  // coefficient VJP at those points (the transpose of a grid evaluation passes the grid's points back)
  // (with the points' recycle count: an op's array recycled by a scope may come back holding other points)
  const grids = new WeakMap<object, { basis: GridBasis; recycled: number }>();
  const gridOf = (points: object): GridBasis | undefined => {
    const entry = grids.get(points);
    return entry && entry.recycled === recycleCount(points) ? entry.basis : undefined;
  };
  return {
    // outputs and temporaries from the host pool (autodiff/tensor.ts): in a scope, a loop's steps reuse them
    localControl: (control) => {
      const dim = control.shape[1];
      const size = plan.elementCount * plan.localSize * dim;
      return new Tensor(localControl(plan, control.values, dim, pooled(size)), [size]);
    },
    forward: (local, params, dim, order) => {
      const count = params.shape[0];
      // the surface kernel for values of surfaces, as thbForwardCpu chooses
      const values =
        d === 2 && order === 0
          ? evaluateSurfaceField(plan, local.values as Float64Array, dim, params.values, pooled(count * dim))
          : evaluateLocalField(plan, local.values as Float64Array, dim, params.values, order);
      return new Tensor(values, order === 0 ? [count, dim] : [count, 1 + d, dim]);
    },
    backwardParams: (local, params, g, dim) =>
      new Tensor(
        thbBackwardParamsCpu(plan, local.values as Float64Array, dim, params.values, g.values),
        params.shape,
      ),
    backwardParamsOfDerivatives: (local, params, gValues, gDerivatives, dim) =>
      new Tensor(
        thbBackwardParamsWithDerivativesCpu(
          plan,
          local.values as Float64Array,
          dim,
          params.values,
          gValues?.values,
          gDerivatives?.values,
        ),
        params.shape,
      ),
    transpose: (g, params, ofDerivatives) => {
      const dim = g.shape[g.rank - 1];
      const out = ofDerivatives
        ? gatherFunctionGradientsCpu(
            plan,
            elementGradientsOfDerivativesCpu(plan, params.values, g.values, dim),
            dim,
          )
        : gridOf(params.values)
          ? gatherFunctionGradientsCpu(
              plan,
              gridElementGradients(plan, gridOf(params.values)!, g.values as Float64Array, dim),
              dim,
            )
          : gatherFunctionGradientsCpu(
              plan,
              elementGradientsCpu(
                plan,
                params.values,
                g.values,
                dim,
                pooled(plan.elementCount * plan.localSize * dim),
              ),
              dim,
              pooled(plan.functionCount * dim),
            );
      return new Tensor(out, [plan.functionCount, dim]);
    },
    grid: (control, points, _origin, _spacing, counts) => {
      const dim = control.shape[1];
      let basis = gridOf(points.values);
      if (!basis) {
        basis = gridBasis(plan, points.values, counts);
        grids.set(points.values, { basis, recycled: recycleCount(points.values) });
      }
      const local = localControl(plan, control.values, dim);
      return new Tensor(gridForward(plan, basis, local, dim), [points.shape[0], dim]);
    },
  };
}

const images: ImageTensorKernels = {
  sample: (image, coords, kind) => {
    const count = coords.shape[0];
    const { values, gradient } = sampleImageCpu(image, coords.values, kind);
    return {
      values: new Tensor(values, [count]),
      gradient: new Tensor(gradient, [count, image.size.length]),
    };
  },
  histogram: (moving, fixed, { bins, movingRange, fixedRange }) =>
    new Tensor(jointHistogramOfValues(moving.values, fixed.values, bins, movingRange, fixedRange), [
      bins,
      bins,
    ]),
  histogramVjp: (moving, fixed, g, { bins, movingRange, fixedRange }) =>
    new Tensor(
      jointHistogramVjpCpu(moving.values, fixed.values, g.values, bins, movingRange, fixedRange),
      moving.shape,
    ),
};

/** The f64 CPU kernels. */
export const cpuTensorKernels: TensorKernels = {
  name: "cpu",
  thb: (plan) => {
    let kernels = thbKernels.get(plan);
    if (!kernels) {
      kernels = cpuThb(plan);
      thbKernels.set(plan, kernels);
    }
    return kernels;
  },
  images,
};
