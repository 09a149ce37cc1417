/** The user-facing ops: thin, named wrappers over the primitives, accepting numbers as scalars. */
import { apply } from "./ops.js";
import { scalar, Tensor } from "./tensor.js";

/** A tensor or a plain number (broadcast as a scalar of the other operand's dtype). */
export type TensorLike = Tensor | number;

const none = {} as Record<string, never>;
const lift = (x: TensorLike, like: TensorLike): Tensor =>
  x instanceof Tensor ? x : scalar(x, like instanceof Tensor ? like.dtype : "f64");

/** Elementwise a + b with broadcasting. */
export const add = (a: TensorLike, b: TensorLike): Tensor => apply("add", none, [lift(a, b), lift(b, a)]);
/** Elementwise a − b with broadcasting. */
export const sub = (a: TensorLike, b: TensorLike): Tensor => apply("sub", none, [lift(a, b), lift(b, a)]);
/** Elementwise a · b with broadcasting. */
export const mul = (a: TensorLike, b: TensorLike): Tensor => apply("mul", none, [lift(a, b), lift(b, a)]);
/** Elementwise a / b with broadcasting. */
export const div = (a: TensorLike, b: TensorLike): Tensor => apply("div", none, [lift(a, b), lift(b, a)]);
/** Elementwise max(a, b); ties send the gradient to a. */
export const maximum = (a: TensorLike, b: TensorLike): Tensor =>
  apply("maximum", none, [lift(a, b), lift(b, a)]);
/** Elementwise min(a, b); ties send the gradient to a. */
export const minimum = (a: TensorLike, b: TensorLike): Tensor =>
  apply("minimum", none, [lift(a, b), lift(b, a)]);
/** −x. */
export const neg = (x: Tensor): Tensor => apply("neg", none, [x]);
/** x². */
export const square = (x: Tensor): Tensor => apply("square", none, [x]);
/** √x. */
export const sqrt = (x: Tensor): Tensor => apply("sqrt", none, [x]);
/** eˣ. */
export const exp = (x: Tensor): Tensor => apply("exp", none, [x]);
/** ln x. */
export const log = (x: Tensor): Tensor => apply("log", none, [x]);
/** |x| (gradient sign(x), 0 at 0). */
export const abs = (x: Tensor): Tensor => apply("abs", none, [x]);
/** x^p for a constant exponent p. */
export const pow = (x: Tensor, exponent: number): Tensor => apply("pow", { exponent }, [x]);
/** condition ? a : b elementwise; the condition is constant (flags, one per output element). */
export const where = (condition: ArrayLike<boolean | number>, a: TensorLike, b: TensorLike): Tensor =>
  apply("where", { condition: Uint8Array.from(condition as ArrayLike<number>, (c) => (c ? 1 : 0)) }, [
    lift(a, b),
    lift(b, a),
  ]);
/** min(max(x, lo), hi); gradient 1 inside [lo, hi], 0 outside. */
export const clamp = (x: Tensor, lo: number, hi: number): Tensor => apply("clamp", { lo, hi }, [x]);
/** Sum of all elements (axis omitted) or along one axis (removed). */
export const sum = (x: Tensor, axis?: number): Tensor => apply("sum", { axis }, [x]);
/** Mean of all elements or along one axis. */
export const mean = (x: Tensor, axis?: number): Tensor =>
  div(sum(x, axis), axis === undefined ? x.size : x.shape[axis]);
/** Inner product of two tensors of the same shape (a scalar). */
export const dot = (a: Tensor, b: Tensor): Tensor => sum(mul(a, b));
/** Dense matrix product [m, k] × [k, n]. */
export const matmul = (a: Tensor, b: Tensor): Tensor => apply("matmul", none, [a, b]);
/** Transpose of a matrix. */
export const transpose = (a: Tensor): Tensor => apply("transpose", none, [a]);
/** The same values in another shape. */
export const reshape = (x: Tensor, shape: readonly number[]): Tensor => apply("reshape", { shape }, [x]);
/** Entries start … end−1 along an axis. */
export const slice = (x: Tensor, axis: number, start: number, end: number): Tensor =>
  apply("slice", { axis, start, end }, [x]);
/** Tensors joined along an axis. */
export const concat = (xs: readonly Tensor[], axis = 0): Tensor => apply("concat", { axis }, xs);
/** Rows x[indices[r]] (first axis). */
export const gather = (x: Tensor, indices: ArrayLike<number>): Tensor =>
  apply("gather", { indices: Int32Array.from(indices) }, [x]);
/** A tensor of `rows` rows where row indices[r] accumulates x[r]. */
export const scatterAdd = (x: Tensor, indices: ArrayLike<number>, rows: number): Tensor =>
  apply("scatterAdd", { indices: Int32Array.from(indices), rows }, [x]);
/** x repeated to a broadcast-compatible shape. */
export const broadcastTo = (x: Tensor, shape: readonly number[]): Tensor =>
  apply("broadcastTo", { shape }, [x]);
