/** Seeded random data for tests: reproducible knot vectors, control points and parameters. */

/** A small seeded PRNG (mulberry32) returning numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An open knot vector of degree p on [a, b] with `interior` random interior knots (some repeated). */
export function randomOpenKnots(rand: () => number, p: number, interior: number, a = 0, b = 1): Float64Array {
  const inner: number[] = [];
  while (inner.length < interior) {
    const x = a + (b - a) * (0.02 + 0.96 * rand());
    const repeat = rand() < 0.15 ? Math.min(p, 1 + Math.floor(rand() * p)) : 1;
    for (let r = 0; r < repeat && inner.length < interior; r++) inner.push(x);
  }
  inner.sort((x, y) => x - y);
  // cap multiplicity at p so the spline stays continuous where tests differentiate
  const capped: number[] = [];
  for (const x of inner) {
    let run = 0;
    for (let i = capped.length - 1; i >= 0 && capped[i] === x; i--) run++;
    if (run < Math.max(p, 1)) capped.push(x);
  }
  return Float64Array.from([...new Array(p + 1).fill(a), ...capped, ...new Array(p + 1).fill(b)]);
}

/** `count` random numbers in [-scale, scale]. */
export function randomArray(rand: () => number, count: number, scale = 1): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = scale * (2 * rand() - 1);
  return out;
}

/** `count` random parameter tuples inside the box [lower, upper]. */
export function randomParams(
  rand: () => number,
  count: number,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
): Float64Array {
  const d = lower.length;
  const out = new Float64Array(count * d);
  for (let i = 0; i < count; i++) {
    for (let k = 0; k < d; k++) out[i * d + k] = lower[k] + (upper[k] - lower[k]) * rand();
  }
  return out;
}

/** Largest absolute difference between two arrays of equal length. */
export function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
