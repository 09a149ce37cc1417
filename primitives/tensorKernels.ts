/**
 * The seam the custom primitives are written over: what a THB or image primitive needs from the backend its
 * inputs live on, in tensors. One implementation per backend — cpu (f64 kernels of kernels/cpu/, host
 * tensors) and webgpu (WGSL kernels, device tensors; it owns every temporary buffer it makes) — so each
 * primitive's forward and VJP are written once. Outputs are new tensors; inputs are not consumed.
 * Shapes: `control  #functions by dim`, `params  #points by d`, `local  #elements·B·dim` (the local control
 * blocks P_e = E_eᵀ C_e, kept as a residual), cotangents shaped like the outputs they belong to.
 */
import type { OpDefinition, OpImplementation } from "../autodiff/customOp.js";
import type { Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import type { Interpolation, ScalarImage } from "../kernels/cpu/imageKernels.js";
import type { BackendKind } from "./backend.js";
import { cpuTensorKernels } from "./cpuTensorKernels.js";
import { GpuStorage } from "./webgpuTensors.js";

/** The THB kernels over one compiled plan. */
export interface ThbTensorKernels {
  /** The local control blocks P_e = E_eᵀ C_e of `control`. */
  localControl(control: Tensor): Tensor;
  /** Values `#points by dim` (order 0), or values and first derivatives `#points by (1+d) by dim` (order 1). */
  forward(local: Tensor, params: Tensor, dim: number, order: 0 | 1): Tensor;
  /** ∂L/∂x `#points by d` for a cotangent `g` of the values. */
  backwardParams(local: Tensor, params: Tensor, g: Tensor, dim: number): Tensor;
  /** ∂L/∂x for cotangents of the values and of the first derivatives (an absent one counts as zero). */
  backwardParamsOfDerivatives(
    local: Tensor,
    params: Tensor,
    gValues: Tensor | undefined,
    gDerivatives: Tensor | undefined,
    dim: number,
  ): Tensor;
  /**
   * The transposed evaluation Σ_e E_e G_e, `#functions by dim`: G_e reduces `g  #points by dim` against the
   * basis on each element (`ofDerivatives`: `g  #points by d by dim` against the first derivatives).
   */
  transpose(g: Tensor, params: Tensor, ofDerivatives: boolean): Tensor;
  /** Values at the points of the grid origin + spacing · i (`points`, first direction fastest). */
  grid(
    control: Tensor,
    points: Tensor,
    origin: readonly number[],
    spacing: readonly number[],
    counts: readonly number[],
  ): Tensor;
}

/** Bins and value ranges of a joint histogram. */
export interface HistogramSpec {
  /** Bins per axis, 2 to 64. */
  bins: number;
  movingRange: readonly [number, number];
  fixedRange: readonly [number, number];
}

/** The image kernels. */
export interface ImageTensorKernels {
  /** Samples at `coords  #points by d` (voxel units): `values  #points`, image gradient `#points by d`. */
  sample(image: ScalarImage, coords: Tensor, kind: Interpolation): { values: Tensor; gradient: Tensor };
  /** The joint histogram `bins by bins` of moving against fixed values (`#points` each). */
  histogram(moving: Tensor, fixed: Tensor, spec: HistogramSpec): Tensor;
  /** Its VJP to the moving values for a cotangent `g  bins by bins`: `#points`. */
  histogramVjp(moving: Tensor, fixed: Tensor, g: Tensor, spec: HistogramSpec): Tensor;
}

/** The kernels of one backend, in tensors. */
export interface TensorKernels {
  readonly name: BackendKind;
  /** The THB kernels of a plan (on the GPU: the plan uploaded once). */
  thb(plan: EvaluationPlan): ThbTensorKernels;
  readonly images: ImageTensorKernels;
}

/** The kernels of the backend where the tensors live: webgpu when any of them is on the GPU, else cpu. */
export function kernelsOf(tensors: readonly Tensor[]): TensorKernels {
  for (const t of tensors) if (t.storage instanceof GpuStorage) return t.storage.owner.kernels;
  return cpuTensorKernels;
}

/** One implementation for both backends (it takes its kernels from `kernelsOf(inputs)`). */
export function onEveryBackend<R>(implementation: OpImplementation<R>): OpDefinition<R>["implementations"] {
  return { cpu: implementation, webgpu: implementation };
}
