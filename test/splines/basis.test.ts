import { describe, expect, it } from "vitest";
import {
  basisFunctionDerivatives,
  basisFunctions,
  createBasisWorkspace,
  findSpan,
  grevilleAbscissae,
} from "../../splines/index.js";
import { randomOpenKnots, seededRandom } from "../helpers/random.js";

const work = createBasisWorkspace(6);

/** Binomial coefficient C(n, k). */
function binomial(n: number, k: number): number {
  let r = 1;
  for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
  return r;
}

/** k-th derivative of the Bernstein polynomial B_{i,p}(u) = C(p,i) u^i (1-u)^{p-i}, in closed form. */
function bernsteinDerivative(i: number, p: number, k: number, u: number): number {
  // d^k/du^k of u^i (1-u)^{p-i} by Leibniz: Σ_r C(k,r) (u^i)^{(r)} ((1-u)^{p-i})^{(k-r)}
  let sum = 0;
  for (let r = 0; r <= k; r++) {
    if (r > i || k - r > p - i) continue;
    const a = falling(i, r) * u ** (i - r);
    const b = falling(p - i, k - r) * (-1) ** (k - r) * (1 - u) ** (p - i - (k - r));
    sum += binomial(k, r) * a * b;
  }
  return binomial(p, i) * sum;
}

function falling(n: number, r: number): number {
  let f = 1;
  for (let j = 0; j < r; j++) f *= n - j;
  return f;
}

describe("basis functions (A2.2, A2.3)", () => {
  it("form a partition of unity, are non-negative and have local support on random knot vectors", () => {
    const rand = seededRandom(1);
    for (let trial = 0; trial < 60; trial++) {
      const p = trial % 6;
      const U = randomOpenKnots(rand, p, 1 + Math.floor(rand() * 8));
      const N = new Float64Array(p + 1);
      for (let t = 0; t < 50; t++) {
        const u = rand();
        const s = findSpan(U, p, u);
        basisFunctions(U, p, s, u, N, 0, work);
        let sum = 0;
        for (let j = 0; j <= p; j++) {
          expect(N[j]).toBeGreaterThanOrEqual(-1e-15);
          sum += N[j];
          // local support: N_{s-p+j} vanishes outside [U[s-p+j], U[s+j+1])
          const i = s - p + j;
          expect(U[i] <= u && u <= U[i + p + 1]).toBe(true);
        }
        expect(Math.abs(sum - 1)).toBeLessThan(1e-14);
      }
    }
  });

  it("equal the closed-form Bernstein polynomials and their derivatives on a single span", () => {
    for (let p = 0; p <= 5; p++) {
      const U = [...new Array(p + 1).fill(0), ...new Array(p + 1).fill(1)];
      const order = 3;
      const D = new Float64Array((order + 1) * (p + 1));
      for (const u of [0, 0.13, 0.5, 0.77, 1]) {
        const s = findSpan(U, p, u);
        basisFunctionDerivatives(U, p, s, u, order, D, 0, work);
        for (let k = 0; k <= order; k++) {
          for (let i = 0; i <= p; i++) {
            const expected = k > p ? 0 : bernsteinDerivative(i, p, k, u);
            expect(Math.abs(D[k * (p + 1) + i] - expected)).toBeLessThan(1e-11 * (1 + Math.abs(expected)));
          }
        }
      }
    }
  });

  it("derivatives match central finite differences of lower orders on random knot vectors", () => {
    const rand = seededRandom(2);
    const h = 1e-6;
    for (let trial = 0; trial < 40; trial++) {
      const p = 1 + (trial % 5);
      const U = randomOpenKnots(rand, p, 2 + Math.floor(rand() * 6));
      const D = new Float64Array(3 * (p + 1));
      const Dp = new Float64Array(3 * (p + 1));
      const Dm = new Float64Array(3 * (p + 1));
      for (let t = 0; t < 20; t++) {
        const u = 0.05 + 0.9 * rand();
        const s = findSpan(U, p, u);
        // keep u ± h in the same span so the functions are smooth there
        if (u - h < U[s] || u + h >= U[s + 1]) continue;
        basisFunctionDerivatives(U, p, s, u, 2, D, 0, work);
        basisFunctionDerivatives(U, p, s, u + h, 2, Dp, 0, work);
        basisFunctionDerivatives(U, p, s, u - h, 2, Dm, 0, work);
        for (let k = 1; k <= 2; k++) {
          for (let j = 0; j <= p; j++) {
            const fd = (Dp[(k - 1) * (p + 1) + j] - Dm[(k - 1) * (p + 1) + j]) / (2 * h);
            const scale = 1 + Math.abs(D[k * (p + 1) + j]);
            expect(Math.abs(D[k * (p + 1) + j] - fd)).toBeLessThan(1e-5 * scale);
          }
        }
      }
    }
  });

  it("reproduce linear functions through the Greville abscissae (Σ g_i N_i(u) = u)", () => {
    const rand = seededRandom(3);
    for (let p = 1; p <= 5; p++) {
      const U = randomOpenKnots(rand, p, 6);
      const g = grevilleAbscissae(U, p);
      const N = new Float64Array(p + 1);
      for (let t = 0; t < 30; t++) {
        const u = rand();
        const s = findSpan(U, p, u);
        basisFunctions(U, p, s, u, N, 0, work);
        let x = 0;
        for (let j = 0; j <= p; j++) x += g[s - p + j] * N[j];
        expect(Math.abs(x - u)).toBeLessThan(1e-14);
      }
    }
  });

  it("A2.3's zeroth row equals A2.2", () => {
    const rand = seededRandom(4);
    const U = randomOpenKnots(rand, 4, 7);
    const N = new Float64Array(5);
    const D = new Float64Array(15);
    for (let t = 0; t < 50; t++) {
      const u = rand();
      const s = findSpan(U, 4, u);
      basisFunctions(U, 4, s, u, N, 0, work);
      basisFunctionDerivatives(U, 4, s, u, 2, D, 0, work);
      for (let j = 0; j < 5; j++) expect(Math.abs(D[j] - N[j])).toBeLessThan(1e-15);
    }
  });
});
