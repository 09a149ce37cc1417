/**
 * B-spline basis functions and their derivatives at one parameter, into caller-owned buffers.
 * The p + 1 non-zero functions on span s are N_{s-p..s, p}; out[j] holds N_{s-p+j, p}(u).
 */

/** Scratch space for basis evaluation up to a given degree; reuse it across calls to avoid allocation. */
export interface BasisWorkspace {
  readonly maxDegree: number;
  readonly left: Float64Array;
  readonly right: Float64Array;
  /** (p+1) × (p+1) table of A2.3: functions below the diagonal, knot differences above. */
  readonly ndu: Float64Array;
  /** 2 × (p+1) rows of derivative coefficients (A2.3). */
  readonly a: Float64Array;
}

/** Allocates a workspace for degrees up to `maxDegree`. */
export function createBasisWorkspace(maxDegree: number): BasisWorkspace {
  const q = maxDegree + 1;
  return {
    maxDegree,
    left: new Float64Array(q),
    right: new Float64Array(q),
    ndu: new Float64Array(q * q),
    a: new Float64Array(2 * q),
  };
}

/**
 * The p + 1 non-zero basis functions at u on span s (The NURBS Book, A2.2), written to out[offset…].
 * Precondition: U[s] <= u <= U[s+1] and U[s] < U[s+1] (see findSpan).
 */
export function basisFunctions(
  knots: ArrayLike<number>,
  degree: number,
  span: number,
  u: number,
  out: Float64Array,
  offset: number,
  work: BasisWorkspace,
): void {
  const left = work.left;
  const right = work.right;
  out[offset] = 1;
  for (let j = 1; j <= degree; j++) {
    left[j] = u - knots[span + 1 - j];
    right[j] = knots[span + j] - u;
    let saved = 0;
    for (let r = 0; r < j; r++) {
      const temp = out[offset + r] / (right[r + 1] + left[j - r]);
      out[offset + r] = saved + right[r + 1] * temp;
      saved = left[j - r] * temp;
    }
    out[offset + j] = saved;
  }
}

/**
 * Non-zero basis functions and their derivatives up to `order` at u on span s (The NURBS Book, A2.3).
 * out is (order + 1) × (p + 1), row k holding the k-th derivatives: out[offset + k*(p+1) + j].
 * Derivatives above the degree are zero.
 */
export function basisFunctionDerivatives(
  knots: ArrayLike<number>,
  degree: number,
  span: number,
  u: number,
  order: number,
  out: Float64Array,
  offset: number,
  work: BasisWorkspace,
): void {
  const p = degree;
  const q = p + 1;
  const { left, right, ndu, a } = work;
  ndu[0] = 1;
  for (let j = 1; j <= p; j++) {
    left[j] = u - knots[span + 1 - j];
    right[j] = knots[span + j] - u;
    let saved = 0;
    for (let r = 0; r < j; r++) {
      // lower triangle: knot differences ndu[j][r]; upper: functions ndu[r][j]
      ndu[j * q + r] = right[r + 1] + left[j - r];
      const temp = ndu[r * q + j - 1] / ndu[j * q + r];
      ndu[r * q + j] = saved + right[r + 1] * temp;
      saved = left[j - r] * temp;
    }
    ndu[j * q + j] = saved;
  }
  for (let j = 0; j <= p; j++) out[offset + j] = ndu[j * q + p];
  const top = Math.min(order, p);
  for (let k = top + 1; k <= order; k++) {
    for (let j = 0; j <= p; j++) out[offset + k * q + j] = 0;
  }
  for (let r = 0; r <= p; r++) {
    let s1 = 0;
    let s2 = q;
    a[0] = 1;
    for (let k = 1; k <= top; k++) {
      let d = 0;
      const rk = r - k;
      const pk = p - k;
      if (r >= k) {
        a[s2] = a[s1] / ndu[(pk + 1) * q + rk];
        d = a[s2] * ndu[rk * q + pk];
      }
      const j1 = rk >= -1 ? 1 : -rk;
      const j2 = r - 1 <= pk ? k - 1 : p - r;
      for (let j = j1; j <= j2; j++) {
        a[s2 + j] = (a[s1 + j] - a[s1 + j - 1]) / ndu[(pk + 1) * q + rk + j];
        d += a[s2 + j] * ndu[(rk + j) * q + pk];
      }
      if (r <= pk) {
        a[s2 + k] = -a[s1 + k - 1] / ndu[(pk + 1) * q + r];
        d += a[s2 + k] * ndu[r * q + pk];
      }
      out[offset + k * q + r] = d;
      const t = s1;
      s1 = s2;
      s2 = t;
    }
  }
  let factor = p;
  for (let k = 1; k <= top; k++) {
    for (let j = 0; j <= p; j++) out[offset + k * q + j] *= factor;
    factor *= p - k;
  }
}

/**
 * A2.2 with the span's reciprocal knot differences precomputed (SpanLocator.inverseDifferences):
 * the same values as basisFunctions without a division, for batch evaluation.
 */
export function basisFunctionsPrecomputed(
  knots: ArrayLike<number>,
  degree: number,
  span: number,
  u: number,
  inverseDifferences: Float64Array,
  out: Float64Array,
  left: Float64Array,
  right: Float64Array,
): void {
  const base = (span * degree * (degree + 1)) >> 1;
  out[0] = 1;
  for (let j = 1; j <= degree; j++) {
    left[j] = u - knots[span + 1 - j];
    right[j] = knots[span + j] - u;
    const row = base + ((j * (j - 1)) >> 1);
    let saved = 0;
    for (let r = 0; r < j; r++) {
      const temp = out[r] * inverseDifferences[row + r];
      out[r] = saved + right[r + 1] * temp;
      saved = left[j - r] * temp;
    }
    out[j] = saved;
  }
}
