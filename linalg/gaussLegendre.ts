/** Gauss–Legendre quadrature on [a, b], nodes by Newton's iteration on the Legendre polynomial. */

/** Legendre P_n(x) and P_{n−1}(x) by the three-term recurrence. */
function legendre(n: number, x: number): [number, number] {
  let p0 = 1;
  let p1 = x;
  for (let k = 2; k <= n; k++) {
    const p2 = ((2 * k - 1) * x * p1 - (k - 1) * p0) / k;
    p0 = p1;
    p1 = p2;
  }
  return [p1, p0];
}

/** n nodes and weights on [a, b], exact for polynomials of degree ≤ 2n − 1. */
export function gaussLegendre(n: number, a = -1, b = 1): { nodes: Float64Array; weights: Float64Array } {
  const nodes = new Float64Array(n);
  const weights = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let x = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    for (let iter = 0; iter < 100; iter++) {
      const [pn, pm] = legendre(n, x);
      const dx = pn / ((n * (x * pn - pm)) / (x * x - 1));
      x -= dx;
      if (Math.abs(dx) < 1e-16) break;
    }
    const [pn, pm] = legendre(n, x);
    const dp = (n * (x * pn - pm)) / (x * x - 1);
    const w = 2 / ((1 - x * x) * dp * dp);
    nodes[n - 1 - i] = 0.5 * (a + b) + 0.5 * (b - a) * x;
    weights[n - 1 - i] = 0.5 * (b - a) * w;
  }
  return { nodes, weights };
}
