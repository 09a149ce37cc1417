/**
 * The 3D passes of the registration warp (see warpKernel.ts for the shared conventions): the same sums as the
 * dimension-generic loops, ordered so the tensor basis costs least. Per plane of an element's block (fixed
 * i2) the third axis is contracted once (Q2[j0 j1, c] = Σ_{j2} b_{j2}(x2) P_e[j0 j1 j2, c], (p+1)³ d
 * multiply-adds), per row the second (Q[j0, c] = Σ_{j1} b_{j1}(x1) Q2[j0 j1, c], (p+1)² d), per voxel the
 * first ((p+1) d). The generic loops contract both higher axes per row, (p+1)³ d per row: for cubic fields
 * with rows of a few voxels that was most of the work. The adjoint runs the same steps backwards.
 *
 * Shapes: `local  #elements by B by d` (j = j0 + q0 (j1 + q1 j2)); `coords, g  #voxels by 3`; voxels first
 * axis fastest.
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import type { PixelBlocks } from "./pixelBlocks.js";

/** Plane, row and slope scratch of the 3D passes, grown on demand (never per evaluation once sized). */
let planeScratch = new Float64Array(0);
let rowScratch3 = new Float64Array(0);

function plane(size: number): Float64Array {
  if (planeScratch.length < size) planeScratch = new Float64Array(size);
  return planeScratch;
}

function row(size: number): Float64Array {
  if (rowScratch3.length < size) rowScratch3 = new Float64Array(size);
  return rowScratch3;
}

/** Writes the moving-image index A (x + u(x)) of every voxel into `coords  #voxels by 3`. */
export function fieldPass3D(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  A: Float64Array,
  coords: Float64Array,
): void {
  const [n0, n1, n2] = blocks.counts;
  const [X0, X1, X2] = blocks.coordinates;
  const [W0, W1, W2] = blocks.weights;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = plan.degrees[2] + 1;
  const B = plan.localSize;
  const rowWidth = 3 * q0;
  const planeWidth = rowWidth * q1;
  const Q2 = plane(planeWidth);
  const Q = row(rowWidth);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 3;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      Q2.fill(0, 0, planeWidth);
      for (let j2 = 0; j2 < q2; j2++) {
        const w = W2[o2 + j2];
        const from = P + j2 * planeWidth;
        for (let j = 0; j < planeWidth; j++) Q2[j] += w * local[from + j];
      }
      const x2 = X2[i2];
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        Q.fill(0, 0, rowWidth);
        for (let j1 = 0; j1 < q1; j1++) {
          const w = W1[o1 + j1];
          const from = j1 * rowWidth;
          for (let j = 0; j < rowWidth; j++) Q[j] += w * Q2[from + j];
        }
        const x1 = X1[i1];
        const c0 = A[12] + A[4] * x1 + A[8] * x2;
        const c1 = A[13] + A[5] * x1 + A[9] * x2;
        const c2 = A[14] + A[6] * x1 + A[10] * x2;
        let t = lo0 + n0 * (i1 + n1 * i2);
        for (let i0 = lo0; i0 < hi0; i0++, t++) {
          const o0 = (l * n0 + i0) * q0;
          let u0 = 0;
          let u1 = 0;
          let u2 = 0;
          for (let j0 = 0; j0 < q0; j0++) {
            const w = W0[o0 + j0];
            u0 += w * Q[3 * j0];
            u1 += w * Q[3 * j0 + 1];
            u2 += w * Q[3 * j0 + 2];
          }
          const v0 = X0[i0] + u0;
          coords[3 * t] = c0 + A[0] * v0 + A[4] * u1 + A[8] * u2;
          coords[3 * t + 1] = c1 + A[1] * v0 + A[5] * u1 + A[9] * u2;
          coords[3 * t + 2] = c2 + A[2] * v0 + A[6] * u1 + A[10] * u2;
        }
      }
    }
  }
}

/**
 * Adjoint of fieldPass3D's u: element gradients G_e[j, c] = Σ_{voxels of e} b_j(x) g[t, c] for the
 * per-voxel cotangents `g  #voxels by 3`, accumulated into `out  #elements by B by 3` (zeroed by the caller).
 */
export function adjointPass3D(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  g: Float64Array,
  out: Float64Array,
): void {
  const [n0, n1, n2] = blocks.counts;
  const [W0, W1, W2] = blocks.weights;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = plan.degrees[2] + 1;
  const B = plan.localSize;
  const rowWidth = 3 * q0;
  const planeWidth = rowWidth * q1;
  const R2 = plane(planeWidth);
  const R = row(rowWidth);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 3;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      R2.fill(0, 0, planeWidth);
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        R.fill(0, 0, rowWidth);
        let t = lo0 + n0 * (i1 + n1 * i2);
        for (let i0 = lo0; i0 < hi0; i0++, t++) {
          const g0 = g[3 * t];
          const g1 = g[3 * t + 1];
          const g2 = g[3 * t + 2];
          const o0 = (l * n0 + i0) * q0;
          for (let j0 = 0; j0 < q0; j0++) {
            const w = W0[o0 + j0];
            R[3 * j0] += w * g0;
            R[3 * j0 + 1] += w * g1;
            R[3 * j0 + 2] += w * g2;
          }
        }
        for (let j1 = 0; j1 < q1; j1++) {
          const w = W1[o1 + j1];
          const to = j1 * rowWidth;
          for (let j = 0; j < rowWidth; j++) R2[to + j] += w * R[j];
        }
      }
      for (let j2 = 0; j2 < q2; j2++) {
        const w = W2[o2 + j2];
        const to = P + j2 * planeWidth;
        for (let j = 0; j < planeWidth; j++) out[to + j] += w * R2[j];
      }
    }
  }
}

/** det(I + ∂u/∂ξ) at every voxel (`out  #voxels`) from the tabulated values and slopes, plane by plane. */
export function jacobianDeterminant3D(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  out: Float64Array,
): Float64Array {
  const [n0, n1, n2] = blocks.counts;
  const [W0, W1, W2] = blocks.weights;
  const [S0, S1, S2] = blocks.slopes;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = plan.degrees[2] + 1;
  const B = plan.localSize;
  const rowWidth = 3 * q0;
  const planeWidth = rowWidth * q1;
  // plane: values, then ∂/∂ξ2; row: values, ∂/∂ξ1, ∂/∂ξ2
  const Q2 = plane(2 * planeWidth);
  const Q = row(3 * rowWidth);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 3;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      Q2.fill(0, 0, 2 * planeWidth);
      for (let j2 = 0; j2 < q2; j2++) {
        const w = W2[o2 + j2];
        const s = S2[o2 + j2];
        const from = P + j2 * planeWidth;
        for (let j = 0; j < planeWidth; j++) {
          const c = local[from + j];
          Q2[j] += w * c;
          Q2[planeWidth + j] += s * c;
        }
      }
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        Q.fill(0, 0, 3 * rowWidth);
        for (let j1 = 0; j1 < q1; j1++) {
          const w = W1[o1 + j1];
          const s = S1[o1 + j1];
          const from = j1 * rowWidth;
          for (let j = 0; j < rowWidth; j++) {
            const v = Q2[from + j];
            Q[j] += w * v;
            Q[rowWidth + j] += s * v;
            Q[2 * rowWidth + j] += w * Q2[planeWidth + from + j];
          }
        }
        let t = lo0 + n0 * (i1 + n1 * i2);
        for (let i0 = lo0; i0 < hi0; i0++, t++) {
          const o0 = (l * n0 + i0) * q0;
          // J[k][j] = δ_kj + ∂u_k/∂ξ_j
          let a00 = 1;
          let a01 = 0;
          let a02 = 0;
          let a10 = 0;
          let a11 = 1;
          let a12 = 0;
          let a20 = 0;
          let a21 = 0;
          let a22 = 1;
          for (let j0 = 0; j0 < q0; j0++) {
            const w = W0[o0 + j0];
            const s = S0[o0 + j0];
            const v = 3 * j0;
            const d1 = rowWidth + v;
            const d2 = 2 * rowWidth + v;
            a00 += s * Q[v];
            a10 += s * Q[v + 1];
            a20 += s * Q[v + 2];
            a01 += w * Q[d1];
            a11 += w * Q[d1 + 1];
            a21 += w * Q[d1 + 2];
            a02 += w * Q[d2];
            a12 += w * Q[d2 + 1];
            a22 += w * Q[d2 + 2];
          }
          out[t] =
            a00 * (a11 * a22 - a12 * a21) - a01 * (a10 * a22 - a12 * a20) + a02 * (a10 * a21 - a11 * a20);
        }
      }
    }
  }
  return out;
}
