/**
 * The webgpu side of the primitives' seam (primitives/tensorKernels.ts): the WGSL kernels on device tensors
 * (host tensors mixed in are uploaded). Every temporary buffer made here — uploads, element gradients, local
 * control of a grid, second derivatives — goes back to the pool here, after its last use is encoded.
 */

import { reshape, slice } from "../autodiff/api.js";
import type { Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import type { Interpolation, ScalarImage } from "../kernels/cpu/imageKernels.js";
import { upload } from "../kernels/webgpu/gpuBuffers.js";
import type { HistogramSpec, ImageTensorKernels, TensorKernels, ThbTensorKernels } from "./tensorKernels.js";
import type { WebGpuTensors } from "./webgpuTensors.js";

/** A buffer borrowed for one call: released afterwards when it was made for the call. */
type Borrowed = { buffer: GPUBuffer; temporary: boolean };

/** The WebGPU kernels of one device's tensors. */
export class GpuTensorKernels implements TensorKernels {
  readonly name = "webgpu" as const;
  private readonly thbKernels = new WeakMap<EvaluationPlan, ThbTensorKernels>();
  readonly images: ImageTensorKernels;

  constructor(private readonly gpu: WebGpuTensors) {
    this.images = {
      sample: (image, coords, kind) => this.sample(image, coords, kind),
      histogram: (moving, fixed, spec) => this.histogram(moving, fixed, spec),
      histogramVjp: (moving, fixed, g, spec) => this.histogramVjp(moving, fixed, g, spec),
    };
  }

  /**
   * Runs `encode` on the tensors' buffers (a number: that many zeros), then returns the temporary ones
   * (uploads) to the pool.
   */
  private borrow<T>(tensors: readonly (Tensor | number)[], encode: (buffers: GPUBuffer[]) => T): T {
    const { device, pool } = this.gpu.context;
    const borrowed: Borrowed[] = tensors.map((t) =>
      typeof t === "number"
        ? { buffer: upload(device, pool, new Float32Array(t)), temporary: true }
        : this.gpu.input(t),
    );
    try {
      return encode(borrowed.map((b) => b.buffer));
    } finally {
      for (const b of borrowed) if (b.temporary) this.gpu.context.pool.release(b.buffer);
    }
  }

  thb(plan: EvaluationPlan): ThbTensorKernels {
    let kernels = this.thbKernels.get(plan);
    if (!kernels) {
      kernels = this.makeThb(plan);
      this.thbKernels.set(plan, kernels);
    }
    return kernels;
  }

  private makeThb(plan: EvaluationPlan): ThbTensorKernels {
    const gpu = this.gpu;
    const pool = gpu.context.pool;
    const d = plan.dimension;
    return {
      localControl: (control) => {
        const dim = control.shape[1];
        const local = this.borrow([control], ([c]) => gpu.plan(plan).localControl(c, dim));
        return gpu.wrap(local, [plan.elementCount * plan.localSize * dim]);
      },
      forward: (local, params, dim, order) => {
        const gpuPlan = gpu.plan(plan);
        const count = params.shape[0];
        // points a backward pass already sorted by element need no location (loops over fixed points)
        const known = order === 0 ? gpu.knownPointOrder(gpuPlan, params) : undefined;
        const out = this.borrow([local, params], ([l, p]) =>
          known ? gpuPlan.forwardSorted(l, p, known, dim) : gpuPlan.forward(l, p, count, dim, order),
        );
        return gpu.wrap(out, order === 0 ? [count, dim] : [count, 1 + d, dim]);
      },
      backwardParams: (local, params, g, dim) => {
        const gpuPlan = gpu.plan(plan);
        const known = gpu.knownPointOrder(gpuPlan, params);
        const out = this.borrow([local, params, g], ([l, p, c]) =>
          known
            ? gpuPlan.backwardParamsSorted(l, p, c, known, dim)
            : gpuPlan.backwardParams(l, p, c, params.shape[0], dim),
        );
        return gpu.wrap(out, params.shape);
      },
      backwardParamsOfDerivatives: (local, params, gValues, gDerivatives, dim) => {
        const gpuPlan = gpu.plan(plan);
        const count = params.shape[0];
        // an unused output's cotangent is zero
        const gV = gValues ?? count * dim;
        const gD = gDerivatives ?? count * d * dim;
        const out = this.borrow([local, params, gV, gD], ([l, p, v, w]) => {
          const H = gpuPlan.forward(l, p, count, dim, 2);
          const result = gpuPlan.backwardParamsOfDerivatives(H, v, w, count, dim);
          pool.release(H);
          return result;
        });
        return gpu.wrap(out, params.shape);
      },
      transpose: (g, params, ofDerivatives) => {
        const dim = g.shape[g.rank - 1];
        const gpuPlan = gpu.plan(plan);
        const order = gpu.pointOrder(gpuPlan, params);
        const out = this.borrow([g, params], ([c, p]) => {
          const G = ofDerivatives
            ? gpuPlan.elementGradientsOfDerivatives(p, c, order, dim)
            : gpuPlan.elementGradients(p, c, order, dim);
          const result = gpuPlan.gatherFunctions(G, dim);
          pool.release(G);
          return result;
        });
        // host parameters were sorted for this call only
        if (!params.onDevice) gpuPlan.releaseOrder(order);
        return gpu.wrap(out, [plan.functionCount, dim]);
      },
      grid: (control, points, origin, spacing, counts) => {
        const dim = control.shape[1];
        const gpuPlan = gpu.plan(plan);
        const out = this.borrow([control], ([c]) => {
          const local = gpuPlan.localControl(c, dim);
          const result = gpuPlan.gridForward(local, dim, [...origin], [...spacing], [...counts]);
          pool.release(local);
          return result;
        });
        return gpu.wrap(out, [points.shape[0], dim]);
      },
    };
  }

  private sample(
    image: ScalarImage,
    coords: Tensor,
    kind: Interpolation,
  ): { values: Tensor; gradient: Tensor } {
    const count = coords.shape[0];
    const d = image.size.length;
    const out = this.gpu.output(count * (1 + d));
    this.borrow([coords], ([c]) =>
      this.gpu.imageKernels.encodeSample(image.size, this.gpu.imageBuffer(image), c, out, count, kind),
    );
    const terms = this.gpu.wrap(out, [count, 1 + d]);
    return { values: reshape(slice(terms, 1, 0, 1), [count]), gradient: slice(terms, 1, 1, 1 + d) };
  }

  private histogram(moving: Tensor, fixed: Tensor, spec: HistogramSpec): Tensor {
    const { bins, movingRange, fixedRange } = spec;
    const h = this.borrow([moving, fixed], ([m, f]) =>
      this.gpu.imageKernels.encodeHistogram(m, 1, f, moving.size, bins, movingRange, fixedRange),
    );
    return this.gpu.wrap(h, [bins, bins]);
  }

  private histogramVjp(moving: Tensor, fixed: Tensor, g: Tensor, spec: HistogramSpec): Tensor {
    const { bins, movingRange, fixedRange } = spec;
    const out = this.borrow([moving, fixed, g], ([m, f, c]) =>
      this.gpu.imageKernels.encodeHistogramVjp(m, f, c, moving.size, bins, movingRange, fixedRange),
    );
    return this.gpu.wrap(out, moving.shape);
  }
}
