/**
 * The reference the autodiff path is measured against: mean ‖S(u,v;C) − p‖² over the entries and its
 * gradient for a uniform-knot tensor-product bicubic spline written by hand — plain typed arrays, each
 * point's first control index and its 16 basis products computed once, then one loop per evaluation that
 * forms the residual and scatters its adjoint straight into the coefficient gradient. Control layout as
 * ours: function i + n·j (u fastest), `control  n² by dim`.
 */
import { basisFunctions, createBasisWorkspace } from "../splines/basis.js";
import { findSpan } from "../splines/knotVector.js";

/** Precomputed bicubic basis at fixed points and the hand-written loss and adjoint over it. */
export class HandAdjoint {
  readonly count: number;
  readonly n: number;
  /** Per point: index of its first control point, (su − 3) + n (sv − 3). */
  readonly first: Int32Array;
  /** Per point: the 16 products N_a(u) N_b(v) at 4b + a. */
  readonly weights: Float64Array;

  /** `params  #points by 2` over the knot vector U (both directions) of a bicubic spline with n × n functions. */
  constructor(U: Float64Array, n: number, params: Float64Array) {
    const count = params.length / 2;
    this.count = count;
    this.n = n;
    this.first = new Int32Array(count);
    this.weights = new Float64Array(16 * count);
    const work = createBasisWorkspace(3);
    const Nu = new Float64Array(4);
    const Nv = new Float64Array(4);
    for (let k = 0; k < count; k++) {
      const su = findSpan(U, 3, params[2 * k]);
      const sv = findSpan(U, 3, params[2 * k + 1]);
      basisFunctions(U, 3, su, params[2 * k], Nu, 0, work);
      basisFunctions(U, 3, sv, params[2 * k + 1], Nv, 0, work);
      this.first[k] = su - 3 + n * (sv - 3);
      for (let b = 0; b < 4; b++)
        for (let a = 0; a < 4; a++) this.weights[16 * k + 4 * b + a] = Nu[a] * Nv[b];
    }
  }

  /**
   * mean over the #points × dim entries of (S − p)² (`targets  #points by dim`); with `gradient`
   * (`n² by dim`, overwritten) the same loop accumulates its gradient. Returns the loss.
   */
  loss(control: Float64Array, targets: Float64Array, dim: number, gradient?: Float64Array): number {
    const { count, n, first, weights: W } = this;
    const scale = 1 / (count * dim);
    gradient?.fill(0);
    let loss = 0;
    for (let k = 0; k < count; k++) {
      const w = 16 * k;
      const f = first[k];
      for (let c = 0; c < dim; c++) {
        let s = 0;
        for (let b = 0; b < 4; b++) {
          const row = (f + n * b) * dim + c;
          const v = w + 4 * b;
          s +=
            W[v] * control[row] +
            W[v + 1] * control[row + dim] +
            W[v + 2] * control[row + 2 * dim] +
            W[v + 3] * control[row + 3 * dim];
        }
        const r = s - targets[k * dim + c];
        loss += r * r;
        if (!gradient) continue;
        const adjoint = 2 * r * scale;
        for (let b = 0; b < 4; b++) {
          const row = (f + n * b) * dim + c;
          const v = w + 4 * b;
          gradient[row] += W[v] * adjoint;
          gradient[row + dim] += W[v + 1] * adjoint;
          gradient[row + 2 * dim] += W[v + 2] * adjoint;
          gradient[row + 3 * dim] += W[v + 3] * adjoint;
        }
      }
    }
    return loss * scale;
  }
}

/**
 * Adam written by hand around the hand-written adjoint, from zero coefficients: the update of
 * autodiff/optimize.ts (β1 0.9, β2 0.999, ε 1e-8, bias-corrected), `iterations` gradient steps and a final
 * loss evaluation as `minimize` does. Returns the coefficients (`n² by dim`).
 */
export function adamByHand(
  hand: HandAdjoint,
  targets: Float64Array,
  dim: number,
  iterations: number,
  learningRate: number,
): Float64Array {
  const size = hand.n * hand.n * dim;
  const x = new Float64Array(size);
  const g = new Float64Array(size);
  const m = new Float64Array(size);
  const v = new Float64Array(size);
  for (let it = 0; it < iterations; it++) {
    hand.loss(x, targets, dim, g);
    const c1 = 1 - 0.9 ** (it + 1);
    const c2 = 1 - 0.999 ** (it + 1);
    for (let i = 0; i < size; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
      x[i] -= (learningRate * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
    }
  }
  hand.loss(x, targets, dim);
  return x;
}
