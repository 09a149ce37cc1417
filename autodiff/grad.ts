/**
 * Reverse mode: valueAndGrad, grad, stopGradient and Hessian-vector products. Inputs become traced leaves;
 * the graph the function builds is walked once in reverse topological order, each node's VJP giving one
 * cotangent per input, accumulated with `add`. Backward passes record themselves when their inputs are
 * traced by an outer derivative, which gives reverse-over-reverse for free.
 */
import { add, dot } from "./api.js";
import { Tensor } from "./tensor.js";

/** Nested inputs: a tensor, or arrays and objects of them. */
export type Tree = Tensor | readonly Tree[] | { readonly [key: string]: Tree };

function mapTree(t: Tree, f: (x: Tensor) => Tensor): Tree {
  if (t instanceof Tensor) return f(t);
  if (Array.isArray(t)) return t.map((x) => mapTree(x, f));
  const out: Record<string, Tree> = {};
  for (const [k, v] of Object.entries(t)) out[k] = mapTree(v as Tree, f);
  return out;
}

function leaves(t: Tree, out: Tensor[] = []): Tensor[] {
  if (t instanceof Tensor) out.push(t);
  else if (Array.isArray(t)) for (const x of t) leaves(x, out);
  else for (const v of Object.values(t)) leaves(v as Tree, out);
  return out;
}

/** A traced copy of a tensor: a leaf of the graph (its VJP has no inputs). */
function traceLeaf(x: Tensor): Tensor {
  return new Tensor(x.backing, x.shape, { op: "input", inputs: [], vjp: () => [] });
}

/** The same values, cut off from the graph: no gradient flows through. */
export function stopGradient(x: Tensor): Tensor {
  return new Tensor(x.backing, x.shape);
}

/** Cotangents of `output` (a scalar) with respect to each of `wrt`; zeros where it does not depend on one. */
export function backward(output: Tensor, wrt: readonly Tensor[]): Tensor[] {
  return backwardOver(output, wrt).cotangents;
}

/** backward, and the traced tensors the output depends on (reverse topological order last to first). */
function backwardOver(output: Tensor, wrt: readonly Tensor[]): { cotangents: Tensor[]; order: Tensor[] } {
  if (output.size !== 1) throw new RangeError(`backward needs a scalar output, got shape [${output.shape}]`);
  const order: Tensor[] = [];
  const seen = new Set<number>();
  // iterative DFS (post-order) so deep graphs (long optimisation tapes) do not overflow the stack
  const stack: [Tensor, number][] = [[output, 0]];
  while (stack.length > 0) {
    const top = stack[stack.length - 1];
    const [t, next] = top;
    if (next === 0) {
      if (seen.has(t.id)) {
        stack.pop();
        continue;
      }
      seen.add(t.id);
    }
    const inputs = t.node?.inputs ?? [];
    if (next < inputs.length) {
      top[1]++;
      const child = inputs[next];
      if (child.traced && !seen.has(child.id)) stack.push([child, 0]);
    } else {
      stack.pop();
      order.push(t);
    }
  }
  const cotangents = new Map<number, Tensor>();
  cotangents.set(
    output.id,
    new Tensor(output.dtype === "f32" ? Float32Array.of(1) : Float64Array.of(1), output.shape),
  );
  for (let i = order.length - 1; i >= 0; i--) {
    const t = order[i];
    const g = cotangents.get(t.id);
    if (!g || !t.node) continue;
    const inputCotangents = t.node.vjp(g);
    t.node.inputs.forEach((input, k) => {
      const c = inputCotangents[k];
      if (!c || !input.traced) return;
      const existing = cotangents.get(input.id);
      cotangents.set(input.id, existing ? add(existing, c) : c);
    });
  }
  return {
    cotangents: wrt.map((w) => cotangents.get(w.id) ?? new Tensor(new Float64Array(w.size), w.shape)),
    order,
  };
}

/** The value of f and its gradient with respect to every tensor in `inputs` (same nesting). */
export function valueAndGrad<T extends Tree>(
  f: (inputs: T) => Tensor,
  inputs: T,
): { value: Tensor; grad: T } {
  const traced = mapTree(inputs, traceLeaf) as T;
  const value = f(traced);
  if (!(value instanceof Tensor) || value.size !== 1) {
    throw new RangeError("valueAndGrad: f must return a scalar tensor");
  }
  const wrt = leaves(traced);
  const { cotangents: grads, order } = backwardOver(value, wrt);
  // when f reads no traced tensor from outside (one made before its leaves, by an outer derivative), the
  // gradients' graphs end at this call's own leaves: differentiating them again gives zero either way, and
  // cut off they hold no intermediate arrays (a scope can recycle them, autodiff/tensor.ts)
  let firstLeaf = Number.POSITIVE_INFINITY;
  for (const w of wrt) firstLeaf = Math.min(firstLeaf, w.id);
  const outer = order.some((t) => t.traced && t.id < firstLeaf);
  let k = 0;
  const grad = mapTree(traced, () => (outer ? grads[k++] : stopGradient(grads[k++]))) as T;
  return { value: stopGradient(value), grad };
}

/** The gradient of f with respect to `inputs`. */
export function grad<T extends Tree>(f: (inputs: T) => Tensor, inputs: T): T {
  return valueAndGrad(f, inputs).grad;
}

/** Hessian-vector product H v of a scalar function of one tensor, by reverse over reverse. */
export function hessianVectorProduct(f: (x: Tensor) => Tensor, x: Tensor, v: Tensor): Tensor {
  const inner = (y: Tensor) => dot(valueAndGradTraced(f, y), v);
  return grad(inner, x);
}

/** The gradient of f at y keeping the graph, so it can be differentiated again. */
function valueAndGradTraced(f: (x: Tensor) => Tensor, y: Tensor): Tensor {
  const leaf = y.traced ? y : traceLeaf(y);
  const value = f(leaf);
  return backward(value, [leaf])[0];
}
