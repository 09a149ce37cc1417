/**
 * Optimisers behind one interface: SGD with momentum, Adam, and L-BFGS with a strong-Wolfe line search
 * (Nocedal & Wright, Algorithms 7.4, 3.5 and 3.6). The objective maps a flat f64 parameter tensor to a
 * scalar tensor; gradients come from reverse mode. Each algorithm is written once, as a generator that
 * yields the points it needs evaluated: `minimize` drives it synchronously (host tensors), and
 * `minimizeAsync` awaits each evaluation (objectives whose tensors live on the GPU).
 */
import { valueAndGrad } from "./grad.js";
import { dispose, scope, Tensor } from "./tensor.js";

/** Stopped because the loss or the gradient became NaN or infinite. */
export class OptimizationError extends Error {
  override name = "OptimizationError";
}

/** Options of minimize. */
export interface MinimizeOptions {
  method?: "lbfgs" | "adam" | "sgd";
  maxIterations?: number;
  /** Stop when ‖∇f‖∞ ≤ tolerance (default 1e-10). */
  tolerance?: number;
  /** Step size for adam and sgd (default 1e-2). */
  learningRate?: number;
  /** SGD momentum (default 0.9). */
  momentum?: number;
  /** L-BFGS memory (default 10). */
  memory?: number;
  onIteration?: (entry: IterationEntry) => void;
  signal?: AbortSignal;
}

/** One row of the history. */
export interface IterationEntry {
  iteration: number;
  value: number;
  gradientNorm: number;
}

/** What minimize returns. */
export interface MinimizeResult {
  x: Float64Array;
  value: number;
  iterations: number;
  converged: boolean;
  reason: "tolerance" | "maxIterations" | "aborted" | "noProgress";
  history: IterationEntry[];
}

/** The loss and its gradient at a point. */
interface Evaluation {
  value: number;
  gradient: Float64Array;
}

/** An optimiser: yields points to evaluate, receives their evaluations, returns its result. */
type Search<T> = Generator<Float64Array, T, Evaluation>;

function search(x0: ArrayLike<number>, options: MinimizeOptions): Search<MinimizeResult> {
  const method = options.method ?? "lbfgs";
  if (method === "lbfgs") return lbfgs(Float64Array.from(x0), options);
  return firstOrder(Float64Array.from(x0), options, method);
}

/**
 * Minimises f starting at x0 (f's tensors on the host). Each evaluation runs in a scope: host arrays the
 * ops allocate are reused by the next evaluation, so f must not keep its tensors' values between calls.
 */
export function minimize(
  f: (x: Tensor) => Tensor,
  x0: ArrayLike<number>,
  options: MinimizeOptions = {},
): MinimizeResult {
  const shape = [x0.length];
  const steps = search(x0, options);
  let next = steps.next();
  while (!next.done) {
    const x = next.value;
    // in a scope: the step's host arrays go back to the pool for the next step's ops
    const evaluation = scope(() => {
      const { value, grad } = valueAndGrad(f, new Tensor(x, shape));
      return { value: value.item(), gradient: Float64Array.from(grad.values) };
    });
    next = steps.next(evaluation);
  }
  return next.value;
}

/**
 * Minimises a hand-written objective that returns f(x) and writes ∇f(x) into `gradient` (no tape): for
 * losses fused into one kernel. The same algorithms and results as minimize on the same function.
 */
export function minimizeFunction(
  f: (x: Float64Array, gradient: Float64Array) => number,
  x0: ArrayLike<number>,
  options: MinimizeOptions = {},
): MinimizeResult {
  const steps = search(x0, options);
  let next = steps.next();
  while (!next.done) {
    const gradient = new Float64Array(x0.length);
    const value = f(next.value, gradient);
    next = steps.next({ value, gradient });
  }
  return next.value;
}

/**
 * minimizeFunction for a hand-written objective that awaits its evaluation (a loss whose kernels run on the
 * GPU and read back f and ∇f): the same algorithms and iterates as minimizeFunction on the same values.
 */
export async function minimizeFunctionAsync(
  f: (x: Float64Array, gradient: Float64Array) => Promise<number>,
  x0: ArrayLike<number>,
  options: MinimizeOptions = {},
): Promise<MinimizeResult> {
  const steps = search(x0, options);
  let next = steps.next();
  while (!next.done) {
    const gradient = new Float64Array(x0.length);
    const value = await f(next.value, gradient);
    next = steps.next({ value, gradient });
  }
  return next.value;
}

/**
 * Minimises f starting at x0, awaiting each evaluation: for objectives whose tensors live on the GPU.
 * Every evaluation runs in a scope, so its device buffers go back to the pool; the optimiser's own state
 * (a few vectors of x's size) stays on the host in f64.
 */
export async function minimizeAsync(
  f: (x: Tensor) => Tensor,
  x0: ArrayLike<number>,
  options: MinimizeOptions = {},
): Promise<MinimizeResult> {
  const shape = [x0.length];
  const steps = search(x0, options);
  let next = steps.next();
  while (!next.done) {
    const x = next.value;
    const { value, grad } = scope(() => valueAndGrad(f, new Tensor(x, shape)));
    const [loss, gradient] = [await value.read(), await grad.read()];
    dispose(value, grad);
    next = steps.next({ value: loss[0], gradient: Float64Array.from(gradient) });
  }
  return next.value;
}

function normInf(g: Float64Array): number {
  let m = 0;
  for (let i = 0; i < g.length; i++) m = Math.max(m, Math.abs(g[i]));
  return m;
}

function dotArrays(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function checkFinite(value: number, gradient: Float64Array, iteration: number): void {
  if (!Number.isFinite(value)) throw new OptimizationError(`loss became ${value} at iteration ${iteration}`);
  for (let i = 0; i < gradient.length; i++) {
    if (!Number.isFinite(gradient[i])) {
      throw new OptimizationError(`gradient component ${i} became ${gradient[i]} at iteration ${iteration}`);
    }
  }
}

function* firstOrder(x: Float64Array, options: MinimizeOptions, method: string): Search<MinimizeResult> {
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.tolerance ?? 1e-10;
  const lr = options.learningRate ?? 1e-2;
  const beta1 = method === "adam" ? 0.9 : (options.momentum ?? 0.9);
  const beta2 = 0.999;
  const m = new Float64Array(x.length);
  const v = new Float64Array(x.length);
  const history: IterationEntry[] = [];
  let value = Number.NaN;
  for (let it = 0; it < maxIterations; it++) {
    if (options.signal?.aborted)
      return { x, value, iterations: it, converged: false, reason: "aborted", history };
    const r = yield x;
    value = r.value;
    checkFinite(value, r.gradient, it);
    const entry = { iteration: it, value, gradientNorm: normInf(r.gradient) };
    history.push(entry);
    options.onIteration?.(entry);
    if (entry.gradientNorm <= tolerance)
      return { x, value, iterations: it, converged: true, reason: "tolerance", history };
    const g = r.gradient;
    if (method === "adam") {
      const c1 = 1 - beta1 ** (it + 1);
      const c2 = 1 - beta2 ** (it + 1);
      for (let i = 0; i < x.length; i++) {
        m[i] = beta1 * m[i] + (1 - beta1) * g[i];
        v[i] = beta2 * v[i] + (1 - beta2) * g[i] * g[i];
        x[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
      }
    } else {
      for (let i = 0; i < x.length; i++) {
        m[i] = beta1 * m[i] + g[i];
        x[i] -= lr * m[i];
      }
    }
  }
  return {
    x,
    value: (yield x).value,
    iterations: maxIterations,
    converged: false,
    reason: "maxIterations",
    history,
  };
}

function* lbfgs(x: Float64Array, options: MinimizeOptions): Search<MinimizeResult> {
  const maxIterations = options.maxIterations ?? 1000;
  const tolerance = options.tolerance ?? 1e-10;
  const memory = options.memory ?? 10;
  const n = x.length;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let { value, gradient } = yield x;
  checkFinite(value, gradient, 0);
  const history: IterationEntry[] = [];
  const direction = new Float64Array(n);
  const alpha = new Float64Array(memory);
  for (let it = 0; ; it++) {
    const entry = { iteration: it, value, gradientNorm: normInf(gradient) };
    history.push(entry);
    options.onIteration?.(entry);
    if (entry.gradientNorm <= tolerance)
      return { x, value, iterations: it, converged: true, reason: "tolerance", history };
    if (it >= maxIterations)
      return { x, value, iterations: it, converged: false, reason: "maxIterations", history };
    if (options.signal?.aborted)
      return { x, value, iterations: it, converged: false, reason: "aborted", history };
    twoLoop(gradient, S, Y, rho, alpha, direction);
    let slope = dotArrays(gradient, direction);
    if (!(slope < 0)) {
      // not a descent direction (curvature information went stale): restart along −∇f
      S.length = 0;
      Y.length = 0;
      rho.length = 0;
      for (let i = 0; i < n; i++) direction[i] = -gradient[i];
      slope = dotArrays(gradient, direction);
    }
    const initial = S.length === 0 ? Math.min(1, 1 / Math.max(normInf(gradient), 1e-300)) : 1;
    const step = yield* strongWolfe(x, value, gradient, direction, slope, initial, it);
    if (!step) return { x, value, iterations: it, converged: false, reason: "noProgress", history };
    const s = difference(step.x, x);
    const y = difference(step.gradient, gradient);
    const sy = dotArrays(s, y);
    if (sy > 1e-12 * Math.sqrt(dotArrays(s, s) * dotArrays(y, y))) {
      if (S.length === memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    x = step.x;
    value = step.value;
    gradient = step.gradient;
  }
}

/**
 * L-BFGS two-loop recursion (Nocedal & Wright Alg. 7.4): direction = −H ∇f from the stored pairs. A plain
 * function, not inlined in the generator, so V8 optimises its loops (in the generator they ran slowly: a
 * quarter of a second over a 3D registration's 30 iterations of 3,810 unknowns).
 */
function twoLoop(
  gradient: Float64Array,
  S: Float64Array[],
  Y: Float64Array[],
  rho: number[],
  alpha: Float64Array,
  direction: Float64Array,
): void {
  const n = direction.length;
  for (let i = 0; i < n; i++) direction[i] = -gradient[i];
  for (let k = S.length - 1; k >= 0; k--) {
    const a = rho[k] * dotArrays(S[k], direction);
    alpha[k] = a;
    const y = Y[k];
    for (let i = 0; i < n; i++) direction[i] -= a * y[i];
  }
  if (S.length > 0) {
    const last = S.length - 1;
    const gamma = dotArrays(S[last], Y[last]) / dotArrays(Y[last], Y[last]);
    for (let i = 0; i < n; i++) direction[i] *= gamma;
  }
  for (let k = 0; k < S.length; k++) {
    const beta = rho[k] * dotArrays(Y[k], direction);
    const c = alpha[k] - beta;
    const sk = S[k];
    for (let i = 0; i < n; i++) direction[i] += sk[i] * c;
  }
}

/** a − b, elementwise, in a new array. */
function difference(a: Float64Array, b: Float64Array): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i] - b[i];
  return out;
}

interface LinePoint {
  t: number;
  value: number;
  slope: number;
  x: Float64Array;
  gradient: Float64Array;
}

/** Strong-Wolfe line search (Nocedal & Wright Alg. 3.5 with zoom, Alg. 3.6, cubic interpolation). */
function* strongWolfe(
  x: Float64Array,
  value0: number,
  gradient0: Float64Array,
  direction: Float64Array,
  slope0: number,
  initial: number,
  iteration: number,
): Search<LinePoint | undefined> {
  const c1 = 1e-4;
  const c2 = 0.9;
  function* at(t: number): Search<LinePoint> {
    const xt = new Float64Array(x.length);
    for (let i = 0; i < x.length; i++) xt[i] = x[i] + t * direction[i];
    const r = yield xt;
    if (!Number.isFinite(r.value))
      return { t, value: Number.POSITIVE_INFINITY, slope: Number.NaN, x: xt, gradient: r.gradient };
    checkFinite(r.value, r.gradient, iteration);
    return { t, value: r.value, slope: dotArrays(r.gradient, direction), x: xt, gradient: r.gradient };
  }
  const start: LinePoint = { t: 0, value: value0, slope: slope0, x, gradient: gradient0 };
  let previous = start;
  let t = initial;
  for (let i = 0; i < 25; i++) {
    const current = yield* at(t);
    if (current.value > value0 + c1 * t * slope0 || (i > 0 && current.value >= previous.value)) {
      return yield* zoom(previous, current);
    }
    if (Math.abs(current.slope) <= -c2 * slope0) return current;
    if (current.slope >= 0) return yield* zoom(current, previous);
    previous = current;
    t *= 2;
  }
  return undefined;

  function* zoom(lo: LinePoint, hi: LinePoint): Search<LinePoint | undefined> {
    for (let i = 0; i < 30; i++) {
      const t = interpolate(lo, hi);
      const current = yield* at(t);
      if (current.value > value0 + c1 * t * slope0 || current.value >= lo.value) hi = current;
      else {
        if (Math.abs(current.slope) <= -c2 * slope0) return current;
        if (current.slope * (hi.t - lo.t) >= 0) hi = lo;
        lo = current;
      }
      if (Math.abs(hi.t - lo.t) < 1e-16 * Math.max(1, Math.abs(lo.t))) break;
    }
    return lo.t > 0 && lo.value < value0 ? lo : undefined;
  }
}

/** Minimiser of the cubic through two line points, kept inside the bracket away from its ends. */
function interpolate(a: LinePoint, b: LinePoint): number {
  const lo = Math.min(a.t, b.t);
  const hi = Math.max(a.t, b.t);
  if (
    Number.isFinite(a.value) &&
    Number.isFinite(b.value) &&
    Number.isFinite(a.slope) &&
    Number.isFinite(b.slope)
  ) {
    const d1 = a.slope + b.slope - (3 * (a.value - b.value)) / (a.t - b.t);
    const square = d1 * d1 - a.slope * b.slope;
    if (square >= 0) {
      const d2 = Math.sign(b.t - a.t) * Math.sqrt(square);
      const t = b.t - ((b.t - a.t) * (b.slope + d2 - d1)) / (b.slope - a.slope + 2 * d2);
      const margin = 0.1 * (hi - lo);
      if (Number.isFinite(t) && t > lo + margin && t < hi - margin) return t;
    }
  }
  return 0.5 * (lo + hi);
}
