/**
 * Constant-time knot span lookup for batches: a bucket table over the domain gives a starting span,
 * then a short scan finds U[s] <= u < U[s+1]. Same answers as findSpan, end conventions included.
 */
import { findSpan } from "./knotVector.js";

/** A precomputed span lookup for one knot vector and degree. */
export class SpanLocator {
  readonly knots: Float64Array;
  readonly degree: number;
  readonly lower: number;
  readonly upper: number;
  /** Last non-empty span: the one the right end of the domain belongs to. */
  readonly lastSpan: number;
  readonly firstSpan: number;
  /** Buckets per unit parameter. */
  readonly bucketScale: number;
  /** bucketStart[b]: the span containing the left edge of bucket b. */
  readonly bucketStart: Int32Array;
  /**
   * Reciprocal knot differences of A2.2 per span, so batch evaluation never divides:
   * `inverseDifferences[s * p(p+1)/2 + j(j-1)/2 + r] = 1 / (U[s+r+1] − U[s+1−j+r])` for 1 ≤ j ≤ p, 0 ≤ r < j.
   */
  readonly inverseDifferences: Float64Array;
  /**
   * Per span: 1/h when the 2p knots around it are equally spaced by h (the basis there is the translated
   * uniform B-spline, with closed-form polynomials), else 0.
   */
  readonly uniformInverseWidth: Float64Array;

  constructor(knots: Float64Array, degree: number) {
    this.knots = knots;
    this.degree = degree;
    const n = knots.length - degree - 1;
    this.lower = knots[degree];
    this.upper = knots[n];
    this.lastSpan = findSpan(knots, degree, this.upper);
    this.firstSpan = findSpan(knots, degree, this.lower);
    // About four buckets per span keeps the scan to one or two steps for graded knots.
    const buckets = Math.max(1, 4 * (n - degree));
    this.bucketScale = buckets / (this.upper - this.lower);
    this.bucketStart = new Int32Array(buckets + 1);
    for (let b = 0; b <= buckets; b++) {
      this.bucketStart[b] = findSpan(knots, degree, this.lower + b / this.bucketScale);
    }
    this.uniformInverseWidth = new Float64Array(knots.length);
    for (let s = degree; s < n; s++) {
      if (s - degree + 1 < 0 || s + degree >= knots.length) continue;
      const h = knots[s + 1] - knots[s];
      let uniform = h > 0;
      for (let i = s - degree + 1; uniform && i < s + degree; i++) {
        uniform = Math.abs(knots[i + 1] - knots[i] - h) <= 1e-12 * h;
      }
      if (uniform) this.uniformInverseWidth[s] = 1 / h;
    }
    const tri = (degree * (degree + 1)) / 2;
    this.inverseDifferences = new Float64Array(Math.max(1, n * tri));
    for (let s = degree; s < n; s++) {
      if (!(knots[s] < knots[s + 1])) continue;
      for (let j = 1; j <= degree; j++) {
        for (let r = 0; r < j; r++) {
          this.inverseDifferences[s * tri + (j * (j - 1)) / 2 + r] =
            1 / (knots[s + r + 1] - knots[s + 1 - j + r]);
        }
      }
    }
  }

  /** Span of u, with u clamped to the domain. */
  find(u: number): number {
    if (u >= this.upper) return this.lastSpan;
    if (u <= this.lower) return this.firstSpan;
    const U = this.knots;
    let s = this.bucketStart[((u - this.lower) * this.bucketScale) | 0];
    while (u >= U[s + 1]) s++;
    // Rounding in the bucket index can start one span late when u sits just below a knot.
    while (u < U[s]) s--;
    return s;
  }
}
