/**
 * Primitive array ops with their forward implementations (CPU) and VJP rules, each in one table typed by
 * the primitive's name so that a missing rule is a compile error. VJP rules are written with the same ops,
 * so backward passes are themselves differentiable (Hessian-vector products by reverse over reverse).
 */
import {
  allocate,
  allocateForOverwrite,
  type DeviceStorage,
  type DType,
  type Node,
  sizeOf,
  Tensor,
  tensor,
  type Values,
} from "./tensor.js";

/** Parameters of each primitive. */
export interface PrimParams {
  add: Record<string, never>;
  sub: Record<string, never>;
  mul: Record<string, never>;
  div: Record<string, never>;
  maximum: Record<string, never>;
  minimum: Record<string, never>;
  neg: Record<string, never>;
  square: Record<string, never>;
  sqrt: Record<string, never>;
  exp: Record<string, never>;
  log: Record<string, never>;
  abs: Record<string, never>;
  sign: Record<string, never>;
  step: Record<string, never>;
  pow: { exponent: number };
  where: { condition: Uint8Array };
  clamp: { lo: number; hi: number };
  sum: { axis: number | undefined };
  broadcastTo: { shape: readonly number[] };
  sumTo: { shape: readonly number[] };
  matmul: Record<string, never>;
  transpose: Record<string, never>;
  reshape: { shape: readonly number[] };
  slice: { axis: number; start: number; end: number };
  embed: { shape: readonly number[]; axis: number; start: number };
  concat: { axis: number };
  gather: { indices: Int32Array };
  scatterAdd: { indices: Int32Array; rows: number };
}

/** Names of the primitives. */
export type Prim = keyof PrimParams;

type ForwardResult = { values: Values; shape: readonly number[] };
type Forward<P extends Prim> = (params: PrimParams[P], inputs: readonly Tensor[]) => ForwardResult;
/** A forward that ignores its parameters, usable for any primitive. */
type PlainForward = (params: unknown, inputs: readonly Tensor[]) => ForwardResult;
type Rule<P extends Prim> = (
  params: PrimParams[P],
  inputs: readonly Tensor[],
  out: Tensor,
  g: Tensor,
) => (Tensor | undefined)[];

const resultType = (inputs: readonly Tensor[]): DType =>
  inputs.some((t) => t.dtype === "f64") ? "f64" : "f32";

/**
 * Runs primitives whose inputs live on a device (webgpuBackend() registers one, from primitives/). Host inputs
 * mixed in are uploaded; outputs stay on the device.
 */
export interface DeviceExecutor {
  forward<P extends Prim>(
    prim: P,
    params: PrimParams[P],
    inputs: readonly Tensor[],
  ): { values: DeviceStorage; shape: readonly number[] };
}

let deviceExecutor: DeviceExecutor | undefined;

/** Registers the executor for device tensors (one device per process). */
export function setDeviceExecutor(executor: DeviceExecutor | undefined): void {
  deviceExecutor = executor;
}

/** Applies a primitive, recording it when any input is traced. */
export function apply<P extends Prim>(prim: P, params: PrimParams[P], inputs: readonly Tensor[]): Tensor {
  let result: { values: Values | DeviceStorage; shape: readonly number[] };
  if (inputs.some((t) => t.onDevice)) {
    if (!deviceExecutor) throw new RangeError(`${prim}: a GPU tensor was given but no device is registered`);
    result = deviceExecutor.forward(prim, params, inputs);
  } else result = (forwards[prim] as Forward<P>)(params, inputs);
  const { values, shape } = result;
  const traced = inputs.some((t) => t.traced);
  let node: Node | undefined;
  if (traced) {
    node = {
      op: prim,
      inputs,
      vjp: (g) => (rules[prim] as Rule<P>)(params, inputs, out, g),
    };
  }
  const out: Tensor = new Tensor(values, shape, node);
  return out;
}

// ---- broadcasting -----------------------------------------------------------------------------------

/** The broadcast shape of two shapes (NumPy rules, right-aligned). */
export function broadcastShapes(a: readonly number[], b: readonly number[]): number[] {
  const n = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) throw new RangeError(`shapes [${a}] and [${b}] do not broadcast`);
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** For each output element, the flat index of the input element it reads under broadcasting. */
function broadcastIndex(from: readonly number[], to: readonly number[]): Int32Array {
  const n = sizeOf(to);
  const index = new Int32Array(n);
  const rank = to.length;
  const strides = new Array(rank).fill(0);
  let stride = 1;
  for (let k = from.length - 1; k >= 0; k--) {
    const axis = rank - from.length + k;
    strides[axis] = from[k] === 1 ? 0 : stride;
    stride *= from[k];
  }
  const counter = new Array(rank).fill(0);
  let flat = 0;
  for (let i = 0; i < n; i++) {
    index[i] = flat;
    for (let k = rank - 1; k >= 0; k--) {
      counter[k]++;
      flat += strides[k];
      if (counter[k] < to[k]) break;
      flat -= strides[k] * counter[k];
      counter[k] = 0;
    }
  }
  return index;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * Loops of the arithmetic ops written out one by one: a shared loop calling `f` per element turns that call
 * megamorphic and costs ~25 ns per element. Modes: both same shape, or one side a scalar. Returns false for
 * other broadcasts (the generic path).
 */
function arithmeticLoop(op: string, x: Values, y: Values, out: Values, mode: "same" | "scalarB" | "scalarA") {
  const n = out.length;
  if (mode === "same") {
    if (op === "add") for (let i = 0; i < n; i++) out[i] = x[i] + y[i];
    else if (op === "sub") for (let i = 0; i < n; i++) out[i] = x[i] - y[i];
    else if (op === "mul") for (let i = 0; i < n; i++) out[i] = x[i] * y[i];
    else for (let i = 0; i < n; i++) out[i] = x[i] / y[i];
  } else if (mode === "scalarB") {
    const b = y[0];
    if (op === "add") for (let i = 0; i < n; i++) out[i] = x[i] + b;
    else if (op === "sub") for (let i = 0; i < n; i++) out[i] = x[i] - b;
    else if (op === "mul") for (let i = 0; i < n; i++) out[i] = x[i] * b;
    else for (let i = 0; i < n; i++) out[i] = x[i] / b;
  } else {
    const a = x[0];
    if (op === "add") for (let i = 0; i < n; i++) out[i] = a + y[i];
    else if (op === "sub") for (let i = 0; i < n; i++) out[i] = a - y[i];
    else if (op === "mul") for (let i = 0; i < n; i++) out[i] = a * y[i];
    else for (let i = 0; i < n; i++) out[i] = a / y[i];
  }
}

function binary(
  f: (x: number, y: number) => number,
  arithmetic?: "add" | "sub" | "mul" | "div",
): PlainForward {
  return (_, [a, b]) => {
    const shape = broadcastShapes(a.shape, b.shape);
    const out = allocateForOverwrite(resultType([a, b]), sizeOf(shape));
    const x = a.values;
    const y = b.values;
    const same = sameShape(a.shape, b.shape);
    if (arithmetic && (same || b.size === 1 || a.size === 1)) {
      arithmeticLoop(arithmetic, x, y, out, same ? "same" : b.size === 1 ? "scalarB" : "scalarA");
    } else if (same) for (let i = 0; i < out.length; i++) out[i] = f(x[i], y[i]);
    else if (b.size === 1) for (let i = 0; i < out.length; i++) out[i] = f(x[i], y[0]);
    else if (a.size === 1) for (let i = 0; i < out.length; i++) out[i] = f(x[0], y[i]);
    else {
      const ia = broadcastIndex(a.shape, shape);
      const ib = broadcastIndex(b.shape, shape);
      for (let i = 0; i < out.length; i++) out[i] = f(x[ia[i]], y[ib[i]]);
    }
    return { values: out, shape };
  };
}

function unary(f: (x: number) => number, written?: "neg" | "square"): PlainForward {
  return (_, [a]) => {
    const out = allocateForOverwrite(a.dtype, a.size);
    const x = a.values;
    // the two unary ops of every loss, written out (see arithmeticLoop)
    if (written === "neg") for (let i = 0; i < out.length; i++) out[i] = -x[i];
    else if (written === "square") for (let i = 0; i < out.length; i++) out[i] = x[i] * x[i];
    else for (let i = 0; i < out.length; i++) out[i] = f(x[i]);
    return { values: out, shape: a.shape };
  };
}

// ---- forward implementations ------------------------------------------------------------------------

const forwards: { [P in Prim]: Forward<P> } = {
  add: binary((x, y) => x + y, "add"),
  sub: binary((x, y) => x - y, "sub"),
  mul: binary((x, y) => x * y, "mul"),
  div: binary((x, y) => x / y, "div"),
  maximum: binary(Math.max),
  minimum: binary(Math.min),
  neg: unary((x) => -x, "neg"),
  square: unary((x) => x * x, "square"),
  sqrt: unary(Math.sqrt),
  exp: unary(Math.exp),
  log: unary(Math.log),
  abs: unary(Math.abs),
  sign: unary(Math.sign),
  step: unary((x) => (x >= 0 ? 1 : 0)),
  pow: (p, [a]) => unary((x) => x ** p.exponent)({}, [a]),
  where: (p, [a, b]) => {
    const shape = broadcastShapes(a.shape, b.shape);
    if (p.condition.length !== sizeOf(shape))
      throw new RangeError(`where: condition holds ${p.condition.length} flags, expected ${sizeOf(shape)}`);
    const x = forwards.broadcastTo({ shape }, [a]).values;
    const y = forwards.broadcastTo({ shape }, [b]).values;
    const out = allocateForOverwrite(resultType([a, b]), x.length);
    for (let i = 0; i < out.length; i++) out[i] = p.condition[i] ? x[i] : y[i];
    return { values: out, shape };
  },
  clamp: (p, [a]) => unary((x) => Math.min(Math.max(x, p.lo), p.hi))({}, [a]),
  sum: (p, [a]) => {
    if (p.axis === undefined) {
      let s = 0;
      const x = a.values;
      for (let i = 0; i < x.length; i++) s += x[i];
      const out = allocate(a.dtype, 1);
      out[0] = s;
      return { values: out, shape: [] };
    }
    const axis = p.axis;
    const outer = sizeOf(a.shape.slice(0, axis));
    const n = a.shape[axis];
    const inner = sizeOf(a.shape.slice(axis + 1));
    const out = allocate(a.dtype, outer * inner);
    const x = a.values;
    for (let o = 0; o < outer; o++) {
      for (let k = 0; k < n; k++) {
        const src = (o * n + k) * inner;
        for (let i = 0; i < inner; i++) out[o * inner + i] += x[src + i];
      }
    }
    return { values: out, shape: [...a.shape.slice(0, axis), ...a.shape.slice(axis + 1)] };
  },
  broadcastTo: (p, [a]) => {
    const shape = broadcastShapes(a.shape, p.shape);
    if (!sameShape(shape, p.shape)) throw new RangeError(`cannot broadcast [${a.shape}] to [${p.shape}]`);
    const out = allocateForOverwrite(a.dtype, sizeOf(shape));
    if (a.size === 1) out.fill(a.values[0]);
    else {
      const index = broadcastIndex(a.shape, shape);
      const x = a.values;
      for (let i = 0; i < out.length; i++) out[i] = x[index[i]];
    }
    return { values: out, shape };
  },
  sumTo: (p, [a]) => {
    const out = allocate(a.dtype, sizeOf(p.shape));
    const index = broadcastIndex(p.shape, a.shape);
    const x = a.values;
    for (let i = 0; i < x.length; i++) out[index[i]] += x[i];
    return { values: out, shape: p.shape };
  },
  matmul: (_, [a, b]) => {
    if (a.rank !== 2 || b.rank !== 2 || a.shape[1] !== b.shape[0]) {
      throw new RangeError(`matmul needs [m, k] × [k, n], got [${a.shape}] × [${b.shape}]`);
    }
    const [m, k] = a.shape;
    const n = b.shape[1];
    const out = allocate(resultType([a, b]), m * n);
    const A = a.values;
    const B = b.values;
    for (let i = 0; i < m; i++) {
      for (let t = 0; t < k; t++) {
        const x = A[i * k + t];
        if (x === 0) continue;
        for (let j = 0; j < n; j++) out[i * n + j] += x * B[t * n + j];
      }
    }
    return { values: out, shape: [m, n] };
  },
  transpose: (_, [a]) => {
    if (a.rank !== 2) throw new RangeError(`transpose needs a 2-D tensor, got [${a.shape}]`);
    const [m, n] = a.shape;
    const out = allocateForOverwrite(a.dtype, m * n);
    const x = a.values;
    for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) out[j * m + i] = x[i * n + j];
    return { values: out, shape: [n, m] };
  },
  reshape: (p, [a]) => {
    if (sizeOf(p.shape) !== a.size) throw new RangeError(`cannot reshape [${a.shape}] to [${p.shape}]`);
    const out = allocateForOverwrite(a.dtype, a.size);
    out.set(a.values);
    return { values: out, shape: p.shape };
  },
  slice: (p, [a]) => {
    const { axis, start, end } = p;
    if (!(axis >= 0 && axis < a.rank && start >= 0 && start <= end && end <= a.shape[axis])) {
      throw new RangeError(`slice [${start}, ${end}) of axis ${axis} is outside shape [${a.shape}]`);
    }
    const outer = sizeOf(a.shape.slice(0, axis));
    const n = a.shape[axis];
    const inner = sizeOf(a.shape.slice(axis + 1));
    const out = allocateForOverwrite(a.dtype, outer * (end - start) * inner);
    for (let o = 0; o < outer; o++) {
      out.set(a.values.subarray((o * n + start) * inner, (o * n + end) * inner), o * (end - start) * inner);
    }
    const shape = a.shape.slice();
    shape[axis] = end - start;
    return { values: out, shape };
  },
  embed: (p, [a]) => {
    const out = allocate(a.dtype, sizeOf(p.shape));
    const outer = sizeOf(p.shape.slice(0, p.axis));
    const n = p.shape[p.axis];
    const m = a.shape[p.axis];
    const inner = sizeOf(p.shape.slice(p.axis + 1));
    for (let o = 0; o < outer; o++) {
      out.set(a.values.subarray(o * m * inner, (o + 1) * m * inner), (o * n + p.start) * inner);
    }
    return { values: out, shape: p.shape };
  },
  concat: (p, inputs) => {
    const axis = p.axis;
    const first = inputs[0].shape;
    const shape = first.slice();
    shape[axis] = inputs.reduce((s, t) => s + t.shape[axis], 0);
    const outer = sizeOf(first.slice(0, axis));
    const inner = sizeOf(first.slice(axis + 1));
    const out = allocateForOverwrite(resultType(inputs), sizeOf(shape));
    let offset = 0;
    for (const t of inputs) {
      const m = t.shape[axis];
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < m * inner; i++)
          out[(o * shape[axis] + offset) * inner + i] = t.values[o * m * inner + i];
      }
      offset += m;
    }
    return { values: out, shape };
  },
  gather: (p, [a]) => {
    const rows = a.shape[0];
    const inner = sizeOf(a.shape.slice(1));
    const out = allocateForOverwrite(a.dtype, p.indices.length * inner);
    for (let r = 0; r < p.indices.length; r++) {
      const i = p.indices[r];
      if (!(i >= 0 && i < rows))
        throw new RangeError(`gather: index ${i} at ${r} is outside 0 … ${rows - 1}`);
      out.set(a.values.subarray(i * inner, (i + 1) * inner), r * inner);
    }
    return { values: out, shape: [p.indices.length, ...a.shape.slice(1)] };
  },
  scatterAdd: (p, [a]) => {
    const inner = sizeOf(a.shape.slice(1));
    const out = allocate(a.dtype, p.rows * inner);
    for (let r = 0; r < p.indices.length; r++) {
      const i = p.indices[r];
      if (!(i >= 0 && i < p.rows))
        throw new RangeError(`scatterAdd: index ${i} at ${r} is outside 0 … ${p.rows - 1}`);
      for (let k = 0; k < inner; k++) out[i * inner + k] += a.values[r * inner + k];
    }
    return { values: out, shape: [p.rows, ...a.shape.slice(1)] };
  },
};

// ---- VJP rules (each returns one cotangent per input) -----------------------------------------------

/** Reduces a broadcast cotangent back to an input's shape. */
const unbroadcast = (g: Tensor, shape: readonly number[]) =>
  sameShape(g.shape, shape) ? g : apply("sumTo", { shape }, [g]);
const none = {} as Record<string, never>;
const mulT = (a: Tensor, b: Tensor) => apply("mul", none, [a, b]);

// cotangents only for traced inputs (backward drops the others): a loss's constant targets cost nothing
const rules: { [P in Prim]: Rule<P> } = {
  add: (_, [a, b], __, g) => [
    a.traced ? unbroadcast(g, a.shape) : undefined,
    b.traced ? unbroadcast(g, b.shape) : undefined,
  ],
  sub: (_, [a, b], __, g) => [
    a.traced ? unbroadcast(g, a.shape) : undefined,
    b.traced ? unbroadcast(apply("neg", none, [g]), b.shape) : undefined,
  ],
  mul: (_, [a, b], __, g) => [
    a.traced ? unbroadcast(mulT(g, b), a.shape) : undefined,
    b.traced ? unbroadcast(mulT(g, a), b.shape) : undefined,
  ],
  div: (_, [a, b], out, g) => [
    a.traced ? unbroadcast(apply("div", none, [g, b]), a.shape) : undefined,
    b.traced ? unbroadcast(apply("neg", none, [apply("div", none, [mulT(g, out), b])]), b.shape) : undefined,
  ],
  // masks come from primitives (not host loops) so the rules run on device tensors too
  maximum: (_, [a, b], __, g) => {
    const takeA = apply("step", none, [apply("sub", none, [a, b])]);
    const takeB = apply("sub", none, [tensor([1], [], takeA.dtype), takeA]);
    return [unbroadcast(mulT(g, takeA), a.shape), unbroadcast(mulT(g, takeB), b.shape)];
  },
  minimum: (_, [a, b], __, g) => {
    const takeA = apply("step", none, [apply("sub", none, [b, a])]);
    const takeB = apply("sub", none, [tensor([1], [], takeA.dtype), takeA]);
    return [unbroadcast(mulT(g, takeA), a.shape), unbroadcast(mulT(g, takeB), b.shape)];
  },
  neg: (_, __, ___, g) => [apply("neg", none, [g])],
  square: (_, [a], __, g) => [mulT(g, mulT(a, tensor([2], [], a.dtype)))],
  sqrt: (_, __, out, g) => [apply("div", none, [g, mulT(out, tensor([2], [], out.dtype))])],
  exp: (_, __, out, g) => [mulT(g, out)],
  log: (_, [a], __, g) => [apply("div", none, [g, a])],
  abs: (_, [a], __, g) => [mulT(g, apply("sign", none, [a]))],
  sign: () => [undefined],
  step: () => [undefined],
  pow: (p, [a], __, g) => [
    mulT(g, mulT(apply("pow", { exponent: p.exponent - 1 }, [a]), tensor([p.exponent], [], a.dtype))),
  ],
  where: (p, [a, b], _, g) => {
    const zero = apply("mul", none, [g, tensor([0], [], g.dtype)]);
    const inverse = Uint8Array.from(p.condition, (c) => (c ? 0 : 1));
    return [
      unbroadcast(apply("where", { condition: p.condition }, [g, zero]), a.shape),
      unbroadcast(apply("where", { condition: inverse }, [g, zero]), b.shape),
    ];
  },
  clamp: (p, [a], __, g) => {
    const aboveLo = apply("step", none, [apply("sub", none, [a, tensor([p.lo], [], a.dtype)])]);
    const belowHi = apply("step", none, [apply("sub", none, [tensor([p.hi], [], a.dtype), a])]);
    return [mulT(g, mulT(aboveLo, belowHi))];
  },
  sum: (p, [a], __, g) => {
    if (p.axis === undefined) return [apply("broadcastTo", { shape: a.shape }, [g])];
    const kept = a.shape.slice();
    kept[p.axis] = 1;
    return [apply("broadcastTo", { shape: a.shape }, [apply("reshape", { shape: kept }, [g])])];
  },
  broadcastTo: (_, [a], __, g) => [apply("sumTo", { shape: a.shape }, [g])],
  sumTo: (_, [a], __, g) => [apply("broadcastTo", { shape: a.shape }, [g])],
  matmul: (_, [a, b], __, g) => [
    apply("matmul", none, [g, apply("transpose", none, [b])]),
    apply("matmul", none, [apply("transpose", none, [a]), g]),
  ],
  transpose: (_, __, ___, g) => [apply("transpose", none, [g])],
  reshape: (_, [a], __, g) => [apply("reshape", { shape: a.shape }, [g])],
  slice: (p, [a], __, g) => [apply("embed", { shape: a.shape, axis: p.axis, start: p.start }, [g])],
  embed: (p, [a], __, g) => [
    apply("slice", { axis: p.axis, start: p.start, end: p.start + a.shape[p.axis] }, [g]),
  ],
  concat: (p, inputs, __, g) => {
    let offset = 0;
    return inputs.map((t) => {
      const m = t.shape[p.axis];
      const piece = apply("slice", { axis: p.axis, start: offset, end: offset + m }, [g]);
      offset += m;
      return piece;
    });
  },
  gather: (p, [a], __, g) => [apply("scatterAdd", { indices: p.indices, rows: a.shape[0] }, [g])],
  scatterAdd: (p, _, __, g) => [apply("gather", { indices: p.indices }, [g])],
};
