/**
 * gradcheck: compares reverse-mode gradients with central finite differences in f64 along random
 * directions. For a non-scalar f the check projects the output on a random cotangent first.
 */
import { dot } from "./api.js";
import { valueAndGrad } from "./grad.js";
import { Tensor } from "./tensor.js";

/** Options of gradcheck. */
export interface GradcheckOptions {
  /** Finite-difference step relative to each input's largest magnitude (at least 1; default 1e-6). */
  eps?: number;
  /** Number of random directions (default 3). */
  directions?: number;
  /** Allowed relative error (default 1e-6). */
  tolerance?: number;
  /** Seed of the random directions. */
  seed?: number;
  /**
   * Smallest scale an error is measured against, as a fraction of the largest directional derivative seen
   * (default 1e-3): a direction where the derivative nearly vanishes is judged against that, not against
   * its own rounding noise.
   */
  floor?: number;
}

/**
 * Result: the worst relative error |fd − ad| / max(|fd|, |ad|, floor · max over that input's directions of
 * |fd|, |ad|) over inputs and directions (0 when every derivative is 0).
 */
export interface GradcheckResult {
  maxError: number;
  passed: boolean;
}

function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  };
}

/**
 * Checks the gradient of f at `inputs`: each input in turn is perturbed along random directions (the others
 * held), and judged against its own largest directional derivative.
 */
export function gradcheck(
  f: (inputs: Tensor[]) => Tensor,
  inputs: Tensor[],
  options: GradcheckOptions = {},
): GradcheckResult {
  const eps = options.eps ?? 1e-6;
  const tolerance = options.tolerance ?? 1e-6;
  const rand = random(options.seed ?? 12345);
  const x = inputs.map((t) => new Tensor(Float64Array.from(t.values), t.shape));
  const probe = f(x);
  const w = new Tensor(
    Float64Array.from({ length: probe.size }, () => rand()),
    probe.shape,
  );
  const scalarF = (xs: Tensor[]) => (probe.size === 1 ? f(xs) : dot(f(xs), w));
  const { grad } = valueAndGrad(scalarF, x);
  // each input on its own, with its own step and scale: a wrong small gradient next to a large one must not
  // hide in a direction that mixes them
  let maxError = 0;
  x.forEach((input, i) => {
    let size = 0;
    for (let k = 0; k < input.size; k++) size = Math.max(size, Math.abs(input.values[k]));
    const step = eps * Math.max(1, size);
    const pairs: [number, number][] = [];
    for (let d = 0; d < (options.directions ?? 3); d++) {
      const v = Float64Array.from({ length: input.size }, () => rand());
      let analytic = 0;
      for (let k = 0; k < input.size; k++) analytic += grad[i].values[k] * v[k];
      const shifted = (sign: number) =>
        scalarF(
          x.map((t, j) =>
            j === i
              ? new Tensor(
                  Float64Array.from(t.values, (val, k) => val + sign * step * v[k]),
                  t.shape,
                )
              : t,
          ),
        ).item();
      pairs.push([(shifted(1) - shifted(-1)) / (2 * step), analytic]);
    }
    // relative errors, not absolute ones: a scale floored at 1 would pass any error of a small derivative
    const largest = Math.max(0, ...pairs.map(([n, a]) => Math.max(Math.abs(n), Math.abs(a))));
    const floor = (options.floor ?? 1e-3) * largest;
    for (const [numeric, analytic] of pairs) {
      const scale = Math.max(Math.abs(numeric), Math.abs(analytic), floor);
      const error = numeric === analytic ? 0 : Math.abs(numeric - analytic) / scale;
      maxError = Math.max(maxError, Number.isNaN(error) ? Number.POSITIVE_INFINITY : error);
    }
  });
  return { maxError, passed: maxError <= tolerance };
}
