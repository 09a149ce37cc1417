/**
 * The registration warp on a pixel grid, CPU f64, written by hand instead of through the tape: the forward
 * pass evaluates the displacement u at every pixel, warps the pixel into the moving image and samples it
 * (value m and gradient), the adjoint pass turns per-pixel cotangents ∂L/∂u back into per-element
 * coefficient gradients. Both walk the active elements and the block of pixels each covers (an element is a
 * box of the grid), so the tensor basis separates: per pixel row the second axis is contracted once
 * (Q[j0] = Σ_{j1} b_{j1}(x1) P_e[j0 j1]), leaving (p+1) multiply-adds per pixel and component in each
 * pass, and nothing is allocated per evaluation. The 3D grid passes (warpKernel3d.ts) contract the third
 * axis once per plane, then the second once per row.
 *
 * Shapes: `local  #elements by B by d` (local control, thbKernels' layout, j = j0 + q0 (j1 + q1 j2));
 * `values  #pixels`, `du  #pixels by d` with du = Lᵀ ∇M (the image gradient pulled back to u through the
 * linear part L of the frame → moving-index map); pixels first axis fastest (t = i0 + n0 (i1 + n1 i2)).
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import type { PixelBlocks } from "./pixelBlocks.js";
import { adjointPass3D, fieldPass3D, jacobianDeterminant3D } from "./warpKernel3d.js";
import {
  cellFraction,
  sample2D,
  sample3D,
  sample3DPass,
  sampleCubic2DPass,
  sampleCubic3DValues,
  sampleCubicInterior,
  sampled,
  sampleLinear2DPass,
  type WarpImage,
} from "./warpSampling.js";

export { type PixelBlocks, pixelBlocks, separablePixelBlocks } from "./pixelBlocks.js";
export type { WarpImage } from "./warpSampling.js";

/** Scratch of the element walks, grown on demand (never per evaluation once sized). */
let rowScratch = new Float64Array(0);
let pixelWeights = new Float64Array(0);

function scratch(size: number): Float64Array {
  if (rowScratch.length < size) rowScratch = new Float64Array(size);
  return rowScratch;
}

/**
 * Forward pass over `pixels` (ids, ascending) or over every pixel when absent: u at each pixel from
 * `local`, the warped point A (x + u), the moving image's value into `values[s]` and Lᵀ ∇M into
 * `du[s·d …]` (s the pixel's position in the list, or its id).
 */
export function warpForward(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  image: WarpImage,
  values: Float64Array,
  du: Float64Array,
  pixels?: Int32Array,
): void {
  // loop-free dispatch: a hot loop in a function that calls on after it would be compiled on-stack before
  // that call ever ran, and its optimised code would then bail out there on every later call
  if (pixels) warpPixels(plan, blocks, local, image, values, du, pixels);
  else if (
    blocks.dimension === 2 &&
    image.interpolation === "cubic" &&
    plan.degrees[0] === 3 &&
    plan.degrees[1] === 3
  )
    fieldCubic2DPass(plan, blocks, local, image, values, du, 0, plan.elementCount);
  else {
    if (blocks.dimension === 3) fieldPass3D(plan, blocks, local, image.frameToMoving, du);
    else fieldPass(plan, blocks, local, image.frameToMoving, du);
    const count = blocks.counts[0] * blocks.counts[1] * blocks.counts[2];
    if (blocks.dimension === 3) sample3DPass(image, du, values, count);
    else if (image.interpolation === "linear") sampleLinear2DPass(image, du, values, count);
    else sampleCubic2DPass(image, du, values, count);
  }
}

/** The parts of a plan the element-range passes read (a helper thread gets only these). */
export type WarpPlan = Pick<EvaluationPlan, "degrees" | "localSize" | "elementCount" | "elementLevel">;

/** The parts of the pixel blocks the element-range passes read (no slopes, no per-pixel element). */
export type WarpBlocks = Pick<PixelBlocks, "dimension" | "counts" | "coordinates" | "weights" | "boxes">;

/**
 * Whether warpForwardElements / warpAdjointElements serve this warp: a 2D bicubic field over every pixel of
 * the grid, sampling a cubic image (the registration's 2D default; other cases run whole on one thread).
 */
export function splitsIntoElementRanges(plan: WarpPlan, blocks: WarpBlocks, image: WarpImage): boolean {
  return (
    blocks.dimension === 2 &&
    image.interpolation === "cubic" &&
    plan.degrees[0] === 3 &&
    plan.degrees[1] === 3
  );
}

/**
 * warpForward over every pixel of elements [first, end) only (see splitsIntoElementRanges): the pixels of
 * different elements are disjoint, so two threads on two ranges write what one pass over all writes, bit for bit.
 */
export function warpForwardElements(
  plan: WarpPlan,
  blocks: WarpBlocks,
  local: Float64Array,
  image: WarpImage,
  values: Float64Array,
  du: Float64Array,
  first: number,
  end: number,
): void {
  fieldCubic2DPass(plan, blocks, local, image, values, du, first, end);
}

/** warpAdjoint for elements [first, end) only: their rows of `out` are overwritten, the others untouched. */
export function warpAdjointElements(
  plan: WarpPlan,
  blocks: WarpBlocks,
  g: Float64Array,
  out: Float64Array,
  first: number,
  end: number,
): void {
  const block = plan.localSize * 2;
  out.fill(0, first * block, end * block);
  adjointCubic2D(plan, blocks, g, out, first, end);
}

/**
 * The warped image alone at every pixel (the final resampling): warpForward's values, bit for bit, with the
 * gradient skipped where that pays (3D cubic); `coords  #pixels by d` is scratch.
 */
export function warpValues(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  image: WarpImage,
  values: Float64Array,
  coords: Float64Array,
): void {
  if (blocks.dimension === 3 && image.interpolation === "cubic") {
    fieldPass3D(plan, blocks, local, image.frameToMoving, coords);
    sampleCubic3DValues(image, coords, values, blocks.counts[0] * blocks.counts[1] * blocks.counts[2]);
  } else warpForward(plan, blocks, local, image, values, coords);
}

/** Writes the moving-image index A (x + u(x)) of every pixel of a 2D grid into `coords  #pixels by 2`. */
function fieldPass(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  A: Float64Array,
  du: Float64Array,
): void {
  const [n0, n1] = blocks.counts;
  const [X0, X1] = blocks.coordinates;
  const [W0, W1] = blocks.weights;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const B = plan.localSize;
  const Q = scratch(q0 * 2);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * q1;
      // contract axis 1: Q[j0 d + c] = Σ b_{j1}(x1) P[j0 j1, c]
      Q.fill(0, 0, q0 * 2);
      for (let j1 = 0; j1 < q1; j1++) {
        const w = W1[o1 + j1];
        const row = P + q0 * j1 * 2;
        for (let j = 0; j < q0 * 2; j++) Q[j] += w * local[row + j];
      }
      const x1 = X1[i1];
      let t = lo0 + n0 * i1;
      const c0 = A[6] + A[3] * x1;
      const c1 = A[7] + A[4] * x1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const o0 = (l * n0 + i0) * q0;
        let u0 = 0;
        let u1 = 0;
        for (let j0 = 0; j0 < q0; j0++) {
          const w = W0[o0 + j0];
          u0 += w * Q[2 * j0];
          u1 += w * Q[2 * j0 + 1];
        }
        const v0 = X0[i0] + u0;
        du[2 * t] = c0 + A[0] * v0 + A[3] * u1;
        du[2 * t + 1] = c1 + A[1] * v0 + A[4] * u1;
      }
    }
  }
}

/**
 * fieldPass and sampleCubic2DPass in one walk for the common 2D case (a bicubic field, a cubic moving image):
 * per pixel row the contracted rows Q stay in registers and the warped point goes straight to the sampler,
 * never through `du` — the same operations in the same order, so the results are bit-identical to the two
 * passes, about a third faster.
 */
function fieldCubic2DPass(
  plan: WarpPlan,
  blocks: WarpBlocks,
  local: Float64Array,
  image: WarpImage,
  values: Float64Array,
  du: Float64Array,
  first: number,
  end: number,
): void {
  const [n0, n1] = blocks.counts;
  const [X0, X1] = blocks.coordinates;
  const [W0, W1] = blocks.weights;
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my] = image.size;
  const a0 = A[0];
  const a1 = A[1];
  const a3 = A[3];
  const a4 = A[4];
  const B = plan.localSize;
  const boxes = blocks.boxes;
  for (let e = first; e < end; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * 4;
      // Q[j0, c] = Σ_j1 b_j1(x1) P[j0 j1, c], in the order fieldPass sums them
      let q00 = 0;
      let q01 = 0;
      let q10 = 0;
      let q11 = 0;
      let q20 = 0;
      let q21 = 0;
      let q30 = 0;
      let q31 = 0;
      for (let j1 = 0; j1 < 4; j1++) {
        const w = W1[o1 + j1];
        const r = P + 8 * j1;
        q00 += w * local[r];
        q01 += w * local[r + 1];
        q10 += w * local[r + 2];
        q11 += w * local[r + 3];
        q20 += w * local[r + 4];
        q21 += w * local[r + 5];
        q30 += w * local[r + 6];
        q31 += w * local[r + 7];
      }
      const x1 = X1[i1];
      const c0 = A[6] + a3 * x1;
      const c1 = A[7] + a4 * x1;
      let t = lo0 + n0 * i1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const o0 = (l * n0 + i0) * 4;
        const w0 = W0[o0];
        const w1 = W0[o0 + 1];
        const w2 = W0[o0 + 2];
        const w3 = W0[o0 + 3];
        const v = X0[i0] + (w0 * q00 + w1 * q10 + w2 * q20 + w3 * q30);
        const u1 = w0 * q01 + w1 * q11 + w2 * q21 + w3 * q31;
        const x = c0 + a0 * v + a3 * u1;
        const y = c1 + a1 * v + a4 * u1;
        const bx = Math.floor(x);
        const by = Math.floor(y);
        if (bx >= 1 && by >= 1 && bx + 2 < mx && by + 2 < my) {
          cellFraction[0] = x - bx;
          cellFraction[1] = y - by;
          sampleCubicInterior(I, mx, bx - 1 + mx * (by - 1));
        } else sample2D(I, mx, my, true, x, y);
        values[t] = sampled[0];
        du[2 * t] = a0 * sampled[1] + a1 * sampled[2];
        du[2 * t + 1] = a3 * sampled[1] + a4 * sampled[2];
      }
    }
  }
}

/**
 * Adjoint pass: element gradients G_e[j, c] = Σ_{pixels of e} b_j(x) g[t, c] for the per-pixel cotangents
 * `g  #pixels by d` (or per listed pixel); `out  #elements by B by d`, overwritten.
 */
export function warpAdjoint(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  g: Float64Array,
  out: Float64Array,
  pixels?: Int32Array,
): void {
  const d = blocks.dimension;
  const B = plan.localSize;
  out.fill(0, 0, plan.elementCount * B * d);
  if (pixels) {
    adjointPixels(plan, blocks, g, out, pixels);
    return;
  }
  if (d === 3) adjointPass3D(plan, blocks, g, out);
  else if (plan.degrees[0] === 3 && plan.degrees[1] === 3)
    adjointCubic2D(plan, blocks, g, out, 0, plan.elementCount);
  else adjoint2D(plan, blocks, g, out);
}

/** warpAdjoint on a 2D grid. */
function adjoint2D(plan: EvaluationPlan, blocks: PixelBlocks, g: Float64Array, out: Float64Array): void {
  const [n0, n1] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const B = plan.localSize;
  const R = scratch(q0 * 2);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * q1;
      R.fill(0, 0, q0 * 2);
      let t = lo0 + n0 * i1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const g0 = g[2 * t];
        const g1 = g[2 * t + 1];
        const o0 = (l * n0 + i0) * q0;
        for (let j0 = 0; j0 < q0; j0++) {
          const w = W0[o0 + j0];
          R[2 * j0] += w * g0;
          R[2 * j0 + 1] += w * g1;
        }
      }
      for (let j1 = 0; j1 < q1; j1++) {
        const w = W1[o1 + j1];
        const row = P + q0 * j1 * 2;
        for (let j = 0; j < q0 * 2; j++) out[row + j] += w * R[j];
      }
    }
  }
}

/**
 * adjoint2D for a bicubic field, the row sums R in registers instead of a scratch array: the same operations in
 * the same order, so bit-identical (the registration's 2D default; about a third of its adjoint time).
 */
function adjointCubic2D(
  plan: WarpPlan,
  blocks: WarpBlocks,
  g: Float64Array,
  out: Float64Array,
  first: number,
  end: number,
): void {
  const [n0, n1] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const B = plan.localSize;
  const boxes = blocks.boxes;
  for (let e = first; e < end; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * 4;
      let r00 = 0;
      let r01 = 0;
      let r10 = 0;
      let r11 = 0;
      let r20 = 0;
      let r21 = 0;
      let r30 = 0;
      let r31 = 0;
      let t = lo0 + n0 * i1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const g0 = g[2 * t];
        const g1 = g[2 * t + 1];
        const o0 = (l * n0 + i0) * 4;
        const w0 = W0[o0];
        const w1 = W0[o0 + 1];
        const w2 = W0[o0 + 2];
        const w3 = W0[o0 + 3];
        r00 += w0 * g0;
        r01 += w0 * g1;
        r10 += w1 * g0;
        r11 += w1 * g1;
        r20 += w2 * g0;
        r21 += w2 * g1;
        r30 += w3 * g0;
        r31 += w3 * g1;
      }
      for (let j1 = 0; j1 < 4; j1++) {
        const w = W1[o1 + j1];
        const row = P + 8 * j1;
        out[row] += w * r00;
        out[row + 1] += w * r01;
        out[row + 2] += w * r10;
        out[row + 3] += w * r11;
        out[row + 4] += w * r20;
        out[row + 5] += w * r21;
        out[row + 6] += w * r30;
        out[row + 7] += w * r31;
      }
    }
  }
}

/** The tensor weights of pixel t (element e) into pixelWeights[0 … B−1], j = j0 + q0 (j1 + q1 j2). */
function tensorWeightsAt(plan: EvaluationPlan, blocks: PixelBlocks, t: number, e: number): Float64Array {
  const d = blocks.dimension;
  const [n0, n1, n2] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = d === 3 ? plan.degrees[2] + 1 : 1;
  if (pixelWeights.length < plan.localSize) pixelWeights = new Float64Array(plan.localSize);
  const w = pixelWeights;
  const l = plan.elementLevel[e];
  const i0 = t % n0;
  const rest = (t - i0) / n0;
  const i1 = rest % n1;
  const i2 = (rest - i1) / n1;
  const o0 = (l * n0 + i0) * q0;
  const o1 = (l * n1 + i1) * q1;
  const o2 = (l * n2 + i2) * q2;
  let j = 0;
  for (let j2 = 0; j2 < q2; j2++) {
    const a2 = d === 3 ? blocks.weights[2][o2 + j2] : 1;
    for (let j1 = 0; j1 < q1; j1++) {
      const a12 = a2 * W1[o1 + j1];
      for (let j0 = 0; j0 < q0; j0++) w[j++] = a12 * W0[o0 + j0];
    }
  }
  return w;
}

function warpPixels(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  image: WarpImage,
  values: Float64Array,
  du: Float64Array,
  pixels: Int32Array,
): void {
  const d = blocks.dimension;
  const [n0, n1] = blocks.counts;
  const [X0, X1, X2] = blocks.coordinates;
  const B = plan.localSize;
  const A = image.frameToMoving;
  const m = d + 1;
  const cubic = image.interpolation === "cubic";
  const [mx, my] = image.size;
  const mz = d === 3 ? image.size[2] : 1;
  const x = [0, 0, 0];
  const y = [0, 0, 0];
  for (let s = 0; s < pixels.length; s++) {
    const t = pixels[s];
    const e = blocks.element[t];
    const w = tensorWeightsAt(plan, blocks, t, e);
    const i0 = t % n0;
    const rest = (t - i0) / n0;
    const i1 = rest % n1;
    x[0] = X0[i0];
    x[1] = X1[i1];
    x[2] = d === 3 ? X2[(rest - i1) / n1] : 0;
    const P = e * B * d;
    for (let c = 0; c < d; c++) {
      let u = 0;
      for (let j = 0; j < B; j++) u += w[j] * local[P + j * d + c];
      x[c] += u;
    }
    for (let r = 0; r < d; r++) {
      let v = A[d * m + r];
      for (let k = 0; k < d; k++) v += A[k * m + r] * x[k];
      y[r] = v;
    }
    if (d === 2) sample2D(image.values, mx, my, cubic, y[0], y[1]);
    else sample3D(image.values, mx, my, mz, cubic, y[0], y[1], y[2]);
    values[s] = sampled[0];
    for (let c = 0; c < d; c++) {
      let v = 0;
      for (let r = 0; r < d; r++) v += A[c * m + r] * sampled[1 + r];
      du[s * d + c] = v;
    }
  }
}

function adjointPixels(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  g: Float64Array,
  out: Float64Array,
  pixels: Int32Array,
): void {
  const d = blocks.dimension;
  const B = plan.localSize;
  for (let s = 0; s < pixels.length; s++) {
    const t = pixels[s];
    const e = blocks.element[t];
    const w = tensorWeightsAt(plan, blocks, t, e);
    const P = e * B * d;
    for (let c = 0; c < d; c++) {
      const gc = g[s * d + c];
      if (gc === 0) continue;
      for (let j = 0; j < B; j++) out[P + j * d + c] += w[j] * gc;
    }
  }
}

/**
 * det(I + ∂u/∂ξ) at every pixel (`out  #pixels`), u from `local`: the exact first derivatives from the
 * tabulated basis slopes (per row, the higher axes contracted once for the value and each slope).
 */
export function gridJacobianDeterminant(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  out: Float64Array,
): Float64Array {
  const d = blocks.dimension;
  if (d === 3) return jacobianDeterminant3D(plan, blocks, local, out);
  if (plan.degrees[0] === 3 && plan.degrees[1] === 3)
    return jacobianDeterminantCubic2D(plan, blocks, local, out);
  const [n0, n1] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const [S0, S1] = blocks.slopes;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const B = plan.localSize;
  const width = q0 * 2;
  const Q = scratch(2 * width);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * q1;
      // Q: value rows; Q + width: ∂/∂ξ1 rows
      Q.fill(0, 0, 2 * width);
      for (let j1 = 0; j1 < q1; j1++) {
        const w = W1[o1 + j1];
        const s1 = S1[o1 + j1];
        const row = P + q0 * j1 * 2;
        for (let j = 0; j < width; j++) {
          const c = local[row + j];
          Q[j] += w * c;
          Q[width + j] += s1 * c;
        }
      }
      let t = lo0 + n0 * i1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const o0 = (l * n0 + i0) * q0;
        // J[k][j] = δ_kj + ∂u_k/∂ξ_j
        let a00 = 1;
        let a01 = 0;
        let a10 = 0;
        let a11 = 1;
        for (let j0 = 0; j0 < q0; j0++) {
          const w = W0[o0 + j0];
          const s = S0[o0 + j0];
          a00 += s * Q[2 * j0];
          a10 += s * Q[2 * j0 + 1];
          a01 += w * Q[width + 2 * j0];
          a11 += w * Q[width + 2 * j0 + 1];
        }
        out[t] = a00 * a11 - a01 * a10;
      }
    }
  }
  return out;
}

/**
 * gridJacobianDeterminant for a bicubic 2D field, unrolled: the same sums in the same order (bit-identical),
 * in registers. It runs once per registration, mostly before V8 has optimised it, where fewer operations
 * per pixel are what counts.
 */
function jacobianDeterminantCubic2D(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  out: Float64Array,
): Float64Array {
  const [n0, n1] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const [S0, S1] = blocks.slopes;
  const B = plan.localSize;
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * 2;
    for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
      const o1 = (l * n1 + i1) * 4;
      // per j0 and component: the value rows (v) and the ∂/∂ξ1 rows (s), contracted over j1
      let v00 = 0;
      let v01 = 0;
      let v10 = 0;
      let v11 = 0;
      let v20 = 0;
      let v21 = 0;
      let v30 = 0;
      let v31 = 0;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      let s20 = 0;
      let s21 = 0;
      let s30 = 0;
      let s31 = 0;
      for (let j1 = 0; j1 < 4; j1++) {
        const w = W1[o1 + j1];
        const ws = S1[o1 + j1];
        const r = P + 8 * j1;
        v00 += w * local[r];
        v01 += w * local[r + 1];
        v10 += w * local[r + 2];
        v11 += w * local[r + 3];
        v20 += w * local[r + 4];
        v21 += w * local[r + 5];
        v30 += w * local[r + 6];
        v31 += w * local[r + 7];
        s00 += ws * local[r];
        s01 += ws * local[r + 1];
        s10 += ws * local[r + 2];
        s11 += ws * local[r + 3];
        s20 += ws * local[r + 4];
        s21 += ws * local[r + 5];
        s30 += ws * local[r + 6];
        s31 += ws * local[r + 7];
      }
      let t = lo0 + n0 * i1;
      for (let i0 = lo0; i0 < hi0; i0++, t++) {
        const o0 = (l * n0 + i0) * 4;
        const w0 = W0[o0];
        const w1 = W0[o0 + 1];
        const w2 = W0[o0 + 2];
        const w3 = W0[o0 + 3];
        const d0 = S0[o0];
        const d1 = S0[o0 + 1];
        const d2 = S0[o0 + 2];
        const d3 = S0[o0 + 3];
        // J[c][k] = δ_ck + ∂u_c/∂ξ_k
        const j00 = 0 + d0 * v00 + d1 * v10 + d2 * v20 + d3 * v30 + 1;
        const j01 = 0 + w0 * s00 + w1 * s10 + w2 * s20 + w3 * s30;
        const j10 = 0 + d0 * v01 + d1 * v11 + d2 * v21 + d3 * v31;
        const j11 = 0 + w0 * s01 + w1 * s11 + w2 * s21 + w3 * s31 + 1;
        out[t] = j00 * j11 - j01 * j10;
      }
    }
  }
  return out;
}
