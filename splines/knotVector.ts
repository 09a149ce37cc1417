/**
 * Knot vectors: validation, breakpoints, span search, dyadic refinement and Greville abscissae.
 *
 * A knot vector U of degree p with n basis functions has n + p + 1 non-decreasing knots; the parametric
 * domain is [U[p], U[n]]. "Open" (clamped) means the first and last knots repeat p + 1 times.
 */
import { DegreeError, describeList, KnotVectorError } from "./errors.js";

/** Highest degree the library accepts; higher degrees are numerically unwise and untested. */
export const MAX_DEGREE = 10;

/** Throws DegreeError unless `degree` is an integer in [0, MAX_DEGREE]. */
export function validateDegree(degree: number, name = "degree"): void {
  if (!Number.isInteger(degree) || degree < 0 || degree > MAX_DEGREE) {
    throw new DegreeError(`${name} must be an integer in [0, ${MAX_DEGREE}], got ${degree}`);
  }
}

/** Options for knot vector validation. */
export interface KnotValidationOptions {
  /** Require p + 1 equal knots at both ends (default false). */
  open?: boolean;
  /** Name of the argument, used in error messages. */
  name?: string;
}

/**
 * Checks a knot vector for degree p and returns it as a Float64Array (a copy).
 * Throws KnotVectorError saying what is wrong: non-finite, decreasing, too short, multiplicity > p + 1,
 * a length U[last] − U[0] that overflows, an empty domain, or (with `open`) unclamped ends.
 */
export function validateKnotVector(
  knots: ArrayLike<number>,
  degree: number,
  options: KnotValidationOptions = {},
): Float64Array {
  const name = options.name ?? "knots";
  validateDegree(degree);
  if (knots == null || typeof knots.length !== "number") {
    throw new KnotVectorError(`${name} must be an array of numbers`);
  }
  const m = knots.length;
  if (m < 2 * (degree + 1)) {
    throw new KnotVectorError(
      `${name} needs at least ${2 * (degree + 1)} knots for degree ${degree}, got ${m}: ${describeList(knots)}`,
    );
  }
  const U = Float64Array.from(knots);
  let run = 1;
  for (let i = 0; i < m; i++) {
    if (!Number.isFinite(U[i])) throw new KnotVectorError(`${name}[${i}] must be finite, got ${U[i]}`);
    if (i === 0) continue;
    if (U[i] < U[i - 1]) {
      throw new KnotVectorError(
        `${name} must be non-decreasing, but ${name}[${i}] = ${U[i]} < ${name}[${i - 1}] = ${U[i - 1]}`,
      );
    }
    run = U[i] === U[i - 1] ? run + 1 : 1;
    if (run > degree + 1) {
      throw new KnotVectorError(
        `${name}: knot ${U[i]} repeats more than degree + 1 = ${degree + 1} times: ${describeList(knots)}`,
      );
    }
  }
  const n = m - degree - 1;
  // the basis divides knot differences: an extent that overflows (e.g. [-1e308, 1e308]) makes every value 0
  if (!Number.isFinite(U[m - 1] - U[0])) {
    throw new KnotVectorError(
      `${name} spans [${U[0]}, ${U[m - 1]}], whose length ${U[m - 1] - U[0]} overflows a double; rescale the knots`,
    );
  }
  if (!(U[degree] < U[n])) {
    throw new KnotVectorError(`${name} has an empty domain [${U[degree]}, ${U[n]}] for degree ${degree}`);
  }
  if (options.open && !isOpenKnotVector(U, degree)) {
    throw new KnotVectorError(
      `${name} must be open (first and last knots repeated ${degree + 1} times): ${describeList(knots)}`,
    );
  }
  return U;
}

/** True when the first and last p + 1 knots are equal (a clamped, open knot vector). */
export function isOpenKnotVector(knots: ArrayLike<number>, degree: number): boolean {
  const m = knots.length;
  for (let i = 1; i <= degree; i++) {
    if (knots[i] !== knots[0] || knots[m - 1 - i] !== knots[m - 1]) return false;
  }
  return true;
}

/** Number of basis functions of degree p on these knots: knots.length - p - 1. */
export function functionCount(knots: ArrayLike<number>, degree: number): number {
  return knots.length - degree - 1;
}

/** The parametric domain [U[p], U[n]] as a two-element tuple. */
export function knotDomain(knots: ArrayLike<number>, degree: number): [number, number] {
  return [knots[degree], knots[knots.length - degree - 1]];
}

/** Distinct knot values inside the domain with their multiplicities. */
export function breakpoints(
  knots: ArrayLike<number>,
  degree: number,
): { values: Float64Array; multiplicities: Int32Array } {
  const [a, b] = knotDomain(knots, degree);
  const values: number[] = [];
  const multiplicities: number[] = [];
  for (let i = 0; i < knots.length; i++) {
    const u = knots[i];
    if (u < a || u > b) continue;
    if (values.length > 0 && values[values.length - 1] === u) multiplicities[multiplicities.length - 1]++;
    else {
      values.push(u);
      multiplicities.push(1);
    }
  }
  return { values: Float64Array.from(values), multiplicities: Int32Array.from(multiplicities) };
}

/**
 * Knot span index s with U[s] <= u < U[s+1] and p <= s <= n-1 (The NURBS Book, A2.1), by binary search.
 * At the right end of the domain u = U[n] it returns the last non-empty span, so that end belongs to it.
 * Parameters outside the domain are clamped to it; validate at the boundary if that is an error.
 */
export function findSpan(knots: ArrayLike<number>, degree: number, u: number): number {
  const n = knots.length - degree - 1;
  if (u >= knots[n]) {
    let s = n - 1;
    while (s > degree && knots[s] === knots[s + 1]) s--;
    return s;
  }
  if (u <= knots[degree]) {
    let s = degree;
    while (s < n - 1 && knots[s] === knots[s + 1]) s++;
    return s;
  }
  let low = degree;
  let high = n;
  // invariant: U[low] <= u < U[high]
  while (high - low > 1) {
    const mid = (low + high) >>> 1;
    if (u < knots[mid]) high = mid;
    else low = mid;
  }
  return low;
}

/**
 * Dyadic refinement: a new knot vector with the midpoint of every non-empty span inserted once,
 * so every element is halved. Multiplicities of existing knots are kept.
 */
export function dyadicRefine(knots: ArrayLike<number>): Float64Array {
  const out: number[] = [];
  for (let i = 0; i < knots.length; i++) {
    if (i > 0 && knots[i] > knots[i - 1]) {
      const mid = 0.5 * (knots[i - 1] + knots[i]);
      // near ±1.8e308 the sum overflows though the span does not
      out.push(Number.isFinite(mid) ? mid : knots[i - 1] + 0.5 * (knots[i] - knots[i - 1]));
    }
    out.push(knots[i]);
  }
  return Float64Array.from(out);
}

/** Greville abscissae: g_i = (U[i+1] + … + U[i+p]) / p, one per basis function (the knot itself for p = 0). */
export function grevilleAbscissae(knots: ArrayLike<number>, degree: number): Float64Array {
  const n = knots.length - degree - 1;
  const g = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    if (degree === 0) {
      g[i] = 0.5 * (knots[i] + knots[i + 1]);
      continue;
    }
    let s = 0;
    for (let k = 1; k <= degree; k++) s += knots[i + k];
    g[i] = s / degree;
  }
  return g;
}

/** An open knot vector on [a, b] with `elements` equal spans for degree p. */
export function uniformKnotVector(degree: number, elements: number, a = 0, b = 1): Float64Array {
  validateDegree(degree);
  if (!Number.isInteger(elements) || elements < 1) {
    throw new KnotVectorError(`elements must be a positive integer, got ${elements}`);
  }
  if (!(Number.isFinite(a) && Number.isFinite(b) && a < b)) {
    throw new KnotVectorError(`domain must be finite with a < b, got [${a}, ${b}]`);
  }
  const U = new Float64Array(elements + 2 * degree + 1);
  for (let i = 0; i < U.length; i++) {
    const k = Math.min(Math.max(i - degree, 0), elements);
    U[i] = k === elements ? b : a + ((b - a) * k) / elements;
  }
  return U;
}
