/**
 * Image sampling for the warp kernels (CPU f64): linear and cubic B-spline interpolation in 2D and 3D with the
 * gradient with respect to the coordinates, clamp to edge (as kernels/cpu/imageKernels.ts), written as one
 * tight pass per kind over coordinates in place: `du  #count by d` holds moving-image indices on the way in
 * and Lᵀ ∇M (L the linear part of the frame → moving-index map) on the way out, `values  #count`.
 * Each pass is a function of its own so V8 compiles it alone (see warpForward).
 */
import type { Interpolation } from "./imageKernels.js";

/** The frame → moving map and the moving image the warp samples. */
export interface WarpImage {
  /** Samples per axis of the moving image (2 or 3 entries). */
  readonly size: readonly number[];
  /** Pixel values (linear) or cubic B-spline coefficients (cubic), first axis fastest. */
  readonly values: Float64Array;
  readonly interpolation: Interpolation;
  /** `(d+1) by (d+1)` column-major affine map: frame point → moving continuous index. */
  readonly frameToMoving: Float64Array;
}

/** Per-pixel output of sample2D/sample3D: value, then the gradient along each moving axis. */
export const sampled = new Float64Array(4);

/**
 * The cell fractions (fx, fy) that sampleCubicInterior reads: V8 does not inline a function that large, and
 * doubles passed as arguments to a call that is not inlined are boxed, a heap number each — two per pixel
 * made a scavenge per evaluation of a 221×257 registration level.
 */
export const cellFraction = new Float64Array(2);
const cubicW = new Float64Array(12);
const cubicD = new Float64Array(12);

/** Cubic B-spline weights (and derivatives) of the 4 samples from floor(t) − 1, into w[o…o+3]. */
function cubicWeights(f: number, w: Float64Array, dw: Float64Array, o: number): void {
  const f2 = f * f;
  const f3 = f2 * f;
  w[o] = (1 - 3 * f + 3 * f2 - f3) / 6;
  w[o + 1] = (4 - 6 * f2 + 3 * f3) / 6;
  w[o + 2] = (1 + 3 * f + 3 * f2 - 3 * f3) / 6;
  w[o + 3] = f3 / 6;
  dw[o] = (-3 + 6 * f - 3 * f2) / 6;
  dw[o + 1] = (-12 * f + 9 * f2) / 6;
  dw[o + 2] = (3 + 6 * f - 9 * f2) / 6;
  dw[o + 3] = (3 * f2) / 6;
}

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** Samples a 2D image at (x, y) (clamp to edge, as sampleImageCpu) into `sampled`. */
export function sample2D(
  I: Float64Array,
  nx: number,
  ny: number,
  cubic: boolean,
  x: number,
  y: number,
): void {
  const bx = Math.floor(x);
  const by = Math.floor(y);
  const fx = x - bx;
  const fy = y - by;
  if (!cubic) {
    const x0 = clampIndex(bx, nx);
    const x1 = clampIndex(bx + 1, nx);
    const r0 = nx * clampIndex(by, ny);
    const r1 = nx * clampIndex(by + 1, ny);
    const v00 = I[r0 + x0];
    const v10 = I[r0 + x1];
    const v01 = I[r1 + x0];
    const v11 = I[r1 + x1];
    const a0 = (1 - fx) * v00 + fx * v10;
    const a1 = (1 - fx) * v01 + fx * v11;
    sampled[0] = (1 - fy) * a0 + fy * a1;
    sampled[1] = (1 - fy) * (v10 - v00) + fy * (v11 - v01);
    sampled[2] = a1 - a0;
    return;
  }
  cubicWeights(fx, cubicW, cubicD, 0);
  cubicWeights(fy, cubicW, cubicD, 4);
  const x0 = clampIndex(bx - 1, nx);
  const x1 = clampIndex(bx, nx);
  const x2 = clampIndex(bx + 1, nx);
  const x3 = clampIndex(bx + 2, nx);
  let value = 0;
  let gx = 0;
  let gy = 0;
  for (let b = 0; b < 4; b++) {
    const row = nx * clampIndex(by - 1 + b, ny);
    const v0 = I[row + x0];
    const v1 = I[row + x1];
    const v2 = I[row + x2];
    const v3 = I[row + x3];
    const along = cubicW[0] * v0 + cubicW[1] * v1 + cubicW[2] * v2 + cubicW[3] * v3;
    const slope = cubicD[0] * v0 + cubicD[1] * v1 + cubicD[2] * v2 + cubicD[3] * v3;
    value += cubicW[4 + b] * along;
    gx += cubicW[4 + b] * slope;
    gy += cubicD[4 + b] * along;
  }
  sampled[0] = value;
  sampled[1] = gx;
  sampled[2] = gy;
}

const tapIndex = new Int32Array(12);

/** Samples a 3D image at (x, y, z) (clamp to edge) into `sampled`. */
export function sample3D(
  I: Float64Array,
  nx: number,
  ny: number,
  nz: number,
  cubic: boolean,
  x: number,
  y: number,
  z: number,
): void {
  if (cubic) sample3DCubic(I, nx, ny, nz, x, y, z);
  else sample3DLinear(I, nx, ny, nz, x, y, z);
}

/** Trilinear sampling with its gradient into `sampled`. */
function sample3DLinear(
  I: Float64Array,
  nx: number,
  ny: number,
  nz: number,
  x: number,
  y: number,
  z: number,
): void {
  const bx = Math.floor(x);
  const by = Math.floor(y);
  const bz = Math.floor(z);
  const fx = x - bx;
  const fy = y - by;
  const fz = z - bz;
  {
    const x0 = clampIndex(bx, nx);
    const x1 = clampIndex(bx + 1, nx);
    const y0 = nx * clampIndex(by, ny);
    const y1 = nx * clampIndex(by + 1, ny);
    const z0 = nx * ny * clampIndex(bz, nz);
    const z1 = nx * ny * clampIndex(bz + 1, nz);
    const v000 = I[z0 + y0 + x0];
    const v100 = I[z0 + y0 + x1];
    const v010 = I[z0 + y1 + x0];
    const v110 = I[z0 + y1 + x1];
    const v001 = I[z1 + y0 + x0];
    const v101 = I[z1 + y0 + x1];
    const v011 = I[z1 + y1 + x0];
    const v111 = I[z1 + y1 + x1];
    const gx = 1 - fx;
    const a00 = gx * v000 + fx * v100;
    const a10 = gx * v010 + fx * v110;
    const a01 = gx * v001 + fx * v101;
    const a11 = gx * v011 + fx * v111;
    const d00 = v100 - v000;
    const d10 = v110 - v010;
    const d01 = v101 - v001;
    const d11 = v111 - v011;
    const gy = 1 - fy;
    const b0 = gy * a00 + fy * a10;
    const b1 = gy * a01 + fy * a11;
    const gz = 1 - fz;
    sampled[0] = gz * b0 + fz * b1;
    sampled[1] = gz * (gy * d00 + fy * d10) + fz * (gy * d01 + fy * d11);
    sampled[2] = gz * (a10 - a00) + fz * (a11 - a01);
    sampled[3] = b1 - b0;
  }
}

/** Tricubic B-spline sampling with its gradient into `sampled`. */
function sample3DCubic(
  I: Float64Array,
  nx: number,
  ny: number,
  nz: number,
  x: number,
  y: number,
  z: number,
): void {
  const bx = Math.floor(x);
  const by = Math.floor(y);
  const bz = Math.floor(z);
  const fx = x - bx;
  const fy = y - by;
  const fz = z - bz;
  cubicWeights(fx, cubicW, cubicD, 0);
  cubicWeights(fy, cubicW, cubicD, 4);
  cubicWeights(fz, cubicW, cubicD, 8);
  for (let a = 0; a < 4; a++) {
    tapIndex[a] = clampIndex(bx - 1 + a, nx);
    tapIndex[4 + a] = nx * clampIndex(by - 1 + a, ny);
    tapIndex[8 + a] = nx * ny * clampIndex(bz - 1 + a, nz);
  }
  let value = 0;
  let gx = 0;
  let gy = 0;
  let gz = 0;
  for (let c = 0; c < 4; c++) {
    const plane = tapIndex[8 + c];
    let pv = 0;
    let px = 0;
    let py = 0;
    for (let b = 0; b < 4; b++) {
      const row = plane + tapIndex[4 + b];
      const v0 = I[row + tapIndex[0]];
      const v1 = I[row + tapIndex[1]];
      const v2 = I[row + tapIndex[2]];
      const v3 = I[row + tapIndex[3]];
      const along = cubicW[0] * v0 + cubicW[1] * v1 + cubicW[2] * v2 + cubicW[3] * v3;
      const slope = cubicD[0] * v0 + cubicD[1] * v1 + cubicD[2] * v2 + cubicD[3] * v3;
      pv += cubicW[4 + b] * along;
      px += cubicW[4 + b] * slope;
      py += cubicD[4 + b] * along;
    }
    value += cubicW[8 + c] * pv;
    gx += cubicW[8 + c] * px;
    gy += cubicW[8 + c] * py;
    gz += cubicD[8 + c] * pv;
  }
  sampled[0] = value;
  sampled[1] = gx;
  sampled[2] = gy;
  sampled[3] = gz;
}

/**
 * The sampling passes: the image at the moving-index coordinates held in `du  #count by d` (overwritten
 * with Lᵀ ∇M) into `values`, one tight loop per kind, the clamps skipped where every tap lies inside.
 */
export function sampleLinear2DPass(
  image: WarpImage,
  du: Float64Array,
  values: Float64Array,
  count: number,
): void {
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my] = image.size;
  const a0 = A[0];
  const a1 = A[1];
  const a3 = A[3];
  const a4 = A[4];
  for (let t = 0; t < count; t++) {
    const x = du[2 * t];
    const y = du[2 * t + 1];
    const bx = Math.floor(x);
    const by = Math.floor(y);
    const fx = x - bx;
    const fy = y - by;
    let v00: number;
    let v10: number;
    let v01: number;
    let v11: number;
    if (bx >= 0 && by >= 0 && bx + 1 < mx && by + 1 < my) {
      const o = bx + mx * by;
      v00 = I[o];
      v10 = I[o + 1];
      v01 = I[o + mx];
      v11 = I[o + mx + 1];
    } else {
      const x0 = clampIndex(bx, mx);
      const x1 = clampIndex(bx + 1, mx);
      const r0 = mx * clampIndex(by, my);
      const r1 = mx * clampIndex(by + 1, my);
      v00 = I[r0 + x0];
      v10 = I[r0 + x1];
      v01 = I[r1 + x0];
      v11 = I[r1 + x1];
    }
    const lo = v00 + fx * (v10 - v00);
    const hi = v01 + fx * (v11 - v01);
    values[t] = lo + fy * (hi - lo);
    const gx = v10 - v00 + fy * (v11 - v01 - (v10 - v00));
    const gy = hi - lo;
    du[2 * t] = a0 * gx + a1 * gy;
    du[2 * t + 1] = a3 * gx + a4 * gy;
  }
}

/** The cubic 2D pass (see sampleLinear2DPass). */
export function sampleCubic2DPass(
  image: WarpImage,
  du: Float64Array,
  values: Float64Array,
  count: number,
): void {
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my] = image.size;
  const a0 = A[0];
  const a1 = A[1];
  const a3 = A[3];
  const a4 = A[4];
  for (let t = 0; t < count; t++) {
    const x = du[2 * t];
    const y = du[2 * t + 1];
    const bx = Math.floor(x);
    const by = Math.floor(y);
    // every tap inside: the unrolled interior; near the border the clamped general sampler
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

/**
 * The bicubic value and gradient (along the moving axes) into `sampled` at the fractions (fx, fy) in cellFraction of the cell whose
 * 4×4 taps start at `corner` (= bx − 1 + mx (by − 1)), every tap inside the image: the weights in registers,
 * the rows read straight. Shared by sampleCubic2DPass and the fused field pass of warpKernel.ts.
 */
export function sampleCubicInterior(I: Float64Array, mx: number, corner: number): void {
  const fx = cellFraction[0];
  const fy = cellFraction[1];
  const fx2 = fx * fx;
  const fx3 = fx2 * fx;
  const wx0 = (1 - 3 * fx + 3 * fx2 - fx3) / 6;
  const wx1 = (4 - 6 * fx2 + 3 * fx3) / 6;
  const wx2 = (1 + 3 * fx + 3 * fx2 - 3 * fx3) / 6;
  const wx3 = fx3 / 6;
  const dx0 = (-3 + 6 * fx - 3 * fx2) / 6;
  const dx1 = (-12 * fx + 9 * fx2) / 6;
  const dx2 = (3 + 6 * fx - 9 * fx2) / 6;
  const dx3 = (3 * fx2) / 6;
  const fy2 = fy * fy;
  const fy3 = fy2 * fy;
  let o = corner;
  let v0 = I[o];
  let v1 = I[o + 1];
  let v2 = I[o + 2];
  let v3 = I[o + 3];
  const along0 = wx0 * v0 + wx1 * v1 + wx2 * v2 + wx3 * v3;
  const slope0 = dx0 * v0 + dx1 * v1 + dx2 * v2 + dx3 * v3;
  o += mx;
  v0 = I[o];
  v1 = I[o + 1];
  v2 = I[o + 2];
  v3 = I[o + 3];
  const along1 = wx0 * v0 + wx1 * v1 + wx2 * v2 + wx3 * v3;
  const slope1 = dx0 * v0 + dx1 * v1 + dx2 * v2 + dx3 * v3;
  o += mx;
  v0 = I[o];
  v1 = I[o + 1];
  v2 = I[o + 2];
  v3 = I[o + 3];
  const along2 = wx0 * v0 + wx1 * v1 + wx2 * v2 + wx3 * v3;
  const slope2 = dx0 * v0 + dx1 * v1 + dx2 * v2 + dx3 * v3;
  o += mx;
  v0 = I[o];
  v1 = I[o + 1];
  v2 = I[o + 2];
  v3 = I[o + 3];
  const along3 = wx0 * v0 + wx1 * v1 + wx2 * v2 + wx3 * v3;
  const slope3 = dx0 * v0 + dx1 * v1 + dx2 * v2 + dx3 * v3;
  const wy0 = (1 - 3 * fy + 3 * fy2 - fy3) / 6;
  const wy1 = (4 - 6 * fy2 + 3 * fy3) / 6;
  const wy2 = (1 + 3 * fy + 3 * fy2 - 3 * fy3) / 6;
  const wy3 = fy3 / 6;
  const dy0 = (-3 + 6 * fy - 3 * fy2) / 6;
  const dy1 = (-12 * fy + 9 * fy2) / 6;
  const dy2 = (3 + 6 * fy - 9 * fy2) / 6;
  const dy3 = (3 * fy2) / 6;
  sampled[0] = wy0 * along0 + wy1 * along1 + wy2 * along2 + wy3 * along3;
  sampled[1] = wy0 * slope0 + wy1 * slope1 + wy2 * slope2 + wy3 * slope3;
  sampled[2] = dy0 * along0 + dy1 * along1 + dy2 * along2 + dy3 * along3;
}

/** The 3D pass, linear or cubic (see sampleLinear2DPass). */
export function sample3DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
  if (image.interpolation === "cubic") sampleCubic3DPass(image, du, values, count);
  else sampleLinear3DPass(image, du, values, count);
}

/** Writes Lᵀ g (g the gradient along the moving axes, L = A's linear part) into du[3t …]. */
function pullBack3D(A: Float64Array, du: Float64Array, t: number, g0: number, g1: number, g2: number): void {
  du[3 * t] = A[0] * g0 + A[1] * g1 + A[2] * g2;
  du[3 * t + 1] = A[4] * g0 + A[5] * g1 + A[6] * g2;
  du[3 * t + 2] = A[8] * g0 + A[9] * g1 + A[10] * g2;
}

/** The trilinear 3D pass: the 8 taps read straight where all lie inside, clamped otherwise. */
function sampleLinear3DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my, mz] = image.size;
  const plane = mx * my;
  for (let t = 0; t < count; t++) {
    const x = du[3 * t];
    const y = du[3 * t + 1];
    const z = du[3 * t + 2];
    const bx = Math.floor(x);
    const by = Math.floor(y);
    const bz = Math.floor(z);
    if (!(bx >= 0 && by >= 0 && bz >= 0 && bx + 1 < mx && by + 1 < my && bz + 1 < mz)) {
      sample3DLinear(I, mx, my, mz, x, y, z);
      values[t] = sampled[0];
      pullBack3D(A, du, t, sampled[1], sampled[2], sampled[3]);
      continue;
    }
    const fx = x - bx;
    const fy = y - by;
    const fz = z - bz;
    const o = bx + mx * by + plane * bz;
    const v000 = I[o];
    const v100 = I[o + 1];
    const v010 = I[o + mx];
    const v110 = I[o + mx + 1];
    const v001 = I[o + plane];
    const v101 = I[o + plane + 1];
    const v011 = I[o + plane + mx];
    const v111 = I[o + plane + mx + 1];
    const a00 = v000 + fx * (v100 - v000);
    const a10 = v010 + fx * (v110 - v010);
    const a01 = v001 + fx * (v101 - v001);
    const a11 = v011 + fx * (v111 - v011);
    const b0 = a00 + fy * (a10 - a00);
    const b1 = a01 + fy * (a11 - a01);
    values[t] = b0 + fz * (b1 - b0);
    const gy = 1 - fy;
    const gz = 1 - fz;
    const g0 =
      gz * (gy * (v100 - v000) + fy * (v110 - v010)) + fz * (gy * (v101 - v001) + fy * (v111 - v011));
    const g1 = gz * (a10 - a00) + fz * (a11 - a01);
    pullBack3D(A, du, t, g0, g1, b1 - b0);
  }
}

/** y then z weights (yzW) and their derivatives (yzD) of the cubic fast path. */
const yzW = new Float64Array(8);
const yzD = new Float64Array(8);

/**
 * The tricubic 3D pass: where all 64 taps lie inside, the x weights stay in registers, the y and z weights
 * in one small table and the rows are read straight; clamped taps go through sample3DCubic.
 */
function sampleCubic3DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my, mz] = image.size;
  const plane = mx * my;
  const W = yzW;
  const D = yzD;
  for (let t = 0; t < count; t++) {
    const x = du[3 * t];
    const y = du[3 * t + 1];
    const z = du[3 * t + 2];
    const bx = Math.floor(x);
    const by = Math.floor(y);
    const bz = Math.floor(z);
    if (!(bx >= 1 && by >= 1 && bz >= 1 && bx + 2 < mx && by + 2 < my && bz + 2 < mz)) {
      sample3DCubic(I, mx, my, mz, x, y, z);
      values[t] = sampled[0];
      pullBack3D(A, du, t, sampled[1], sampled[2], sampled[3]);
      continue;
    }
    const fx = x - bx;
    const fx2 = fx * fx;
    const fx3 = fx2 * fx;
    const wx0 = (1 - 3 * fx + 3 * fx2 - fx3) / 6;
    const wx1 = (4 - 6 * fx2 + 3 * fx3) / 6;
    const wx2 = (1 + 3 * fx + 3 * fx2 - 3 * fx3) / 6;
    const wx3 = fx3 / 6;
    const dx0 = (-3 + 6 * fx - 3 * fx2) / 6;
    const dx1 = (-12 * fx + 9 * fx2) / 6;
    const dx2 = (3 + 6 * fx - 9 * fx2) / 6;
    const dx3 = (3 * fx2) / 6;
    cubicWeights(y - by, W, D, 0);
    cubicWeights(z - bz, W, D, 4);
    let value = 0;
    let gx = 0;
    let gy = 0;
    let gz = 0;
    let row = bx - 1 + mx * (by - 1) + plane * (bz - 1);
    for (let c = 0; c < 4; c++, row += plane - 4 * mx) {
      let pv = 0;
      let px = 0;
      let py = 0;
      for (let b = 0; b < 4; b++, row += mx) {
        const v0 = I[row];
        const v1 = I[row + 1];
        const v2 = I[row + 2];
        const v3 = I[row + 3];
        const along = wx0 * v0 + wx1 * v1 + wx2 * v2 + wx3 * v3;
        pv += W[b] * along;
        px += W[b] * (dx0 * v0 + dx1 * v1 + dx2 * v2 + dx3 * v3);
        py += D[b] * along;
      }
      value += W[4 + c] * pv;
      gx += W[4 + c] * px;
      gy += W[4 + c] * py;
      gz += D[4 + c] * pv;
    }
    values[t] = value;
    pullBack3D(A, du, t, gx, gy, gz);
  }
}

/**
 * The tricubic values alone at the moving-index coordinates `coords  #count by 3` (the final resampling needs
 * no gradient): the same sums as sampleCubic3DPass's values, bit for bit, at about half the work.
 */
export function sampleCubic3DValues(
  image: WarpImage,
  coords: Float64Array,
  values: Float64Array,
  count: number,
): void {
  const I = image.values;
  const [mx, my, mz] = image.size;
  const plane = mx * my;
  const W = yzW;
  const D = yzD;
  for (let t = 0; t < count; t++) {
    const x = coords[3 * t];
    const y = coords[3 * t + 1];
    const z = coords[3 * t + 2];
    const bx = Math.floor(x);
    const by = Math.floor(y);
    const bz = Math.floor(z);
    if (!(bx >= 1 && by >= 1 && bz >= 1 && bx + 2 < mx && by + 2 < my && bz + 2 < mz)) {
      sample3DCubic(I, mx, my, mz, x, y, z);
      values[t] = sampled[0];
      continue;
    }
    const fx = x - bx;
    const fx2 = fx * fx;
    const fx3 = fx2 * fx;
    const wx0 = (1 - 3 * fx + 3 * fx2 - fx3) / 6;
    const wx1 = (4 - 6 * fx2 + 3 * fx3) / 6;
    const wx2 = (1 + 3 * fx + 3 * fx2 - 3 * fx3) / 6;
    const wx3 = fx3 / 6;
    cubicWeights(y - by, W, D, 0);
    cubicWeights(z - bz, W, D, 4);
    let value = 0;
    let row = bx - 1 + mx * (by - 1) + plane * (bz - 1);
    for (let c = 0; c < 4; c++, row += plane - 4 * mx) {
      let pv = 0;
      for (let b = 0; b < 4; b++, row += mx)
        pv += W[b] * (wx0 * I[row] + wx1 * I[row + 1] + wx2 * I[row + 2] + wx3 * I[row + 3]);
      value += W[4 + c] * pv;
    }
    values[t] = value;
  }
}
