/**
 * The device executor's rule table: how each autodiff primitive runs when its inputs live on the GPU, typed
 * `{ [P in Prim]: … }` like the CPU table of autodiff/ops.ts, so a primitive without a GPU rule is a compile
 * error. Each rule checks its arguments as the CPU forward does, runs the WGSL kernels of
 * kernels/webgpu/tensorKernels.ts, and returns device storage; host tensors mixed in are uploaded for the
 * call and released after it.
 */
import { broadcastShapes, type Prim, type PrimParams } from "../autodiff/ops.js";
import { type DeviceStorage, sizeOf, type Tensor } from "../autodiff/tensor.js";
import type { ElementwiseOp } from "../kernels/webgpu/tensorKernels.js";
import { GpuStorage, type WebGpuTensors } from "./webgpuTensors.js";

type Result = { values: DeviceStorage; shape: readonly number[] };
/** The GPU forward of one primitive. */
export type GpuForward<P extends Prim> = (
  gpu: WebGpuTensors,
  params: PrimParams[P],
  inputs: readonly Tensor[],
) => Result;

const sameShape = (a: readonly number[], b: readonly number[]) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Runs `encode` on the inputs' buffers, releases the uploads it made, and wraps the buffer it returns. */
function run(gpu: WebGpuTensors, inputs: readonly Tensor[], encode: (buffers: GPUBuffer[]) => GPUBuffer) {
  const borrowed = inputs.map((t) => gpu.input(t));
  try {
    return new GpuStorage(gpu, encode(borrowed.map((b) => b.buffer)));
  } finally {
    for (const b of borrowed) if (b.temporary) gpu.context.pool.release(b.buffer);
  }
}

/** An elementwise rule over inputs broadcast to one shape; `constants` from the op's parameters. */
function elementwise<P extends Prim>(
  op: ElementwiseOp,
  arity: 1 | 2,
  constants: (params: PrimParams[P]) => number[] = () => [0, 0],
): GpuForward<P> {
  return (gpu, params, inputs) => {
    const used = inputs.slice(0, arity);
    const shape = arity === 2 ? broadcastShapes(used[0].shape, used[1].shape) : used[0].shape;
    const values = run(gpu, used, (buffers) =>
      gpu.arrays.elementwise(
        op,
        buffers.map((buffer, j) => ({ buffer, shape: used[j].shape })),
        shape,
        constants(params),
      ),
    );
    return { values, shape };
  };
}

/** The rules, one per primitive. */
export const gpuForwards: { [P in Prim]: GpuForward<P> } = {
  add: elementwise("add", 2),
  sub: elementwise("sub", 2),
  mul: elementwise("mul", 2),
  div: elementwise("div", 2),
  maximum: elementwise("maximum", 2),
  minimum: elementwise("minimum", 2),
  neg: elementwise("neg", 1),
  square: elementwise("square", 1),
  sqrt: elementwise("sqrt", 1),
  exp: elementwise("exp", 1),
  log: elementwise("log", 1),
  abs: elementwise("abs", 1),
  sign: elementwise("sign", 1),
  step: elementwise("step", 1),
  pow: elementwise<"pow">("pow", 1, (p) => [p.exponent, 0]),
  clamp: elementwise<"clamp">("clamp", 1, (p) => [p.lo, p.hi]),
  where: (gpu, p, [a, b]) => {
    const shape = broadcastShapes(a.shape, b.shape);
    if (p.condition.length !== sizeOf(shape))
      throw new RangeError(`where: condition holds ${p.condition.length} flags, expected ${sizeOf(shape)}`);
    const values = run(gpu, [a, b], ([x, y]) => {
      const { arrays, context } = gpu;
      // both sides at the output's shape first (a copy only where one broadcasts)
      const full = [x, y].map((buffer, j) => {
        const from = [a, b][j].shape;
        return sameShape(from, shape) ? buffer : arrays.elementwise("copy", [{ buffer, shape: from }], shape);
      });
      const out = arrays.select(p.condition, full[0], full[1]);
      full.forEach((buffer, j) => {
        if (buffer !== [x, y][j]) context.pool.release(buffer);
      });
      return out;
    });
    return { values, shape };
  },
  sum: (gpu, p, [a]) => {
    const axis = p.axis;
    if (axis === undefined)
      return { values: run(gpu, [a], ([x]) => gpu.arrays.sumAll(x, a.size)), shape: [] };
    if (!(Number.isInteger(axis) && axis >= 0 && axis < a.rank))
      throw new RangeError(`sum: axis ${axis} is outside shape [${a.shape}]`);
    const shape = [...a.shape.slice(0, axis), ...a.shape.slice(axis + 1)];
    return { values: run(gpu, [a], ([x]) => gpu.arrays.sumAxis(x, a.shape, axis)), shape };
  },
  broadcastTo: (gpu, p, [a]) => {
    const shape = p.shape;
    if (!sameShape(broadcastShapes(a.shape, shape), shape))
      throw new RangeError(`cannot broadcast [${a.shape}] to [${shape}]`);
    const values = run(gpu, [a], ([x]) =>
      gpu.arrays.elementwise("copy", [{ buffer: x, shape: a.shape }], shape),
    );
    return { values, shape };
  },
  sumTo: (gpu, p, [a]) => {
    const target = p.shape;
    const padded = [...new Array(Math.max(0, a.rank - target.length)).fill(1), ...target];
    if (target.length > a.rank || !sameShape(broadcastShapes(padded, a.shape), a.shape))
      throw new RangeError(`sumTo: [${a.shape}] does not reduce to [${target}]`);
    return { values: run(gpu, [a], ([x]) => gpu.arrays.sumTo(x, a.shape, target)), shape: target };
  },
  matmul: (gpu, _, [a, b]) => {
    if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
      throw new RangeError(`matmul needs [m, k] × [k, n], got [${a.shape}] × [${b.shape}]`);
    }
    const [m, k] = a.shape;
    const n = b.shape[1];
    return { values: run(gpu, [a, b], ([x, y]) => gpu.arrays.matmul(x, y, m, k, n)), shape: [m, n] };
  },
  transpose: (gpu, _, [a]) => {
    if (a.rank !== 2) throw new RangeError(`transpose needs a 2-D tensor, got [${a.shape}]`);
    const [m, n] = a.shape;
    return { values: run(gpu, [a], ([x]) => gpu.arrays.transpose(x, m, n)), shape: [n, m] };
  },
  reshape: (gpu, p, [a]) => {
    const shape = p.shape;
    if (sizeOf(shape) !== a.size) throw new RangeError(`cannot reshape [${a.shape}] to [${shape}]`);
    if (a.storage) return { values: a.storage, shape }; // a view: same buffer
    return { values: run(gpu, [a], ([x]) => gpu.arrays.copy(x, a.size)), shape };
  },
  slice: (gpu, p, [a]) => {
    const { axis, start, end } = p;
    if (!(axis >= 0 && axis < a.rank && start >= 0 && start <= end && end <= a.shape[axis]))
      throw new RangeError(`slice [${start}, ${end}) of axis ${axis} is outside shape [${a.shape}]`);
    const shape = a.shape.slice();
    shape[axis] = end - start;
    const inner = sizeOf(a.shape.slice(axis + 1));
    const values = run(gpu, [a], ([x]) =>
      gpu.arrays.slice(x, sizeOf(shape), a.shape[axis], end - start, inner, start, 0),
    );
    return { values, shape };
  },
  embed: (gpu, p, [a]) => {
    const { shape, axis, start } = p;
    const inner = sizeOf(shape.slice(axis + 1));
    const values = run(gpu, [a], ([x]) =>
      gpu.arrays.slice(x, sizeOf(shape), shape[axis], a.shape[axis], inner, start, 1),
    );
    return { values, shape };
  },
  concat: (gpu, p, inputs) => {
    const axis = p.axis;
    const first = inputs[0].shape;
    const shape = first.slice();
    shape[axis] = inputs.reduce((s, t) => s + t.shape[axis], 0);
    const outer = sizeOf(first.slice(0, axis));
    const inner = sizeOf(first.slice(axis + 1));
    const values = run(gpu, inputs, (buffers) => {
      const out = gpu.arrays.output(sizeOf(shape));
      let offset = 0;
      buffers.forEach((buffer, j) => {
        const m = inputs[j].shape[axis];
        gpu.arrays.place(buffer, out, outer, shape[axis], m, inner, offset);
        offset += m;
      });
      return out;
    });
    return { values, shape };
  },
  gather: (gpu, p, [a]) => {
    const rows = a.shape[0];
    const inner = sizeOf(a.shape.slice(1));
    for (let r = 0; r < p.indices.length; r++) {
      const i = p.indices[r];
      if (!(i >= 0 && i < rows))
        throw new RangeError(`gather: index ${i} at ${r} is outside 0 … ${rows - 1}`);
    }
    const values = run(gpu, [a], ([x]) => gpu.arrays.gather(x, p.indices, inner));
    return { values, shape: [p.indices.length, ...a.shape.slice(1)] };
  },
  scatterAdd: (gpu, p, [a]) => {
    const inner = sizeOf(a.shape.slice(1));
    for (let r = 0; r < p.indices.length; r++) {
      const i = p.indices[r];
      if (!(i >= 0 && i < p.rows))
        throw new RangeError(`scatterAdd: index ${i} at ${r} is outside 0 … ${p.rows - 1}`);
    }
    const values = run(gpu, [a], ([x]) => gpu.arrays.scatterAdd(x, p.indices, p.rows, inner));
    return { values, shape: [p.rows, ...a.shape.slice(1)] };
  },
};
