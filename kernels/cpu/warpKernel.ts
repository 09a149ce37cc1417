/**
 * The registration warp on a pixel grid, CPU f64, written by hand instead of through the tape: the forward
 * pass evaluates the displacement u at every pixel, warps the pixel into the moving image and samples it
 * (value m and gradient), the adjoint pass turns per-pixel cotangents ∂L/∂u back into per-element
 * coefficient gradients. Both walk the active elements and the block of pixels each covers (an element is a
 * box of the grid), so the tensor basis separates: per pixel row the higher axes are contracted once
 * (Q[j0] = Σ_{j1 j2} b_{j1}(x1) b_{j2}(x2) P_e[j0 j1 j2]), leaving (p+1) multiply-adds per pixel and
 * component in each pass, and nothing is allocated per evaluation.
 *
 * Shapes: `local  #elements by B by d` (local control, thbKernels' layout, j = j0 + q0 (j1 + q1 j2));
 * `values  #pixels`, `du  #pixels by d` with du = Lᵀ ∇M (the image gradient pulled back to u through the
 * linear part L of the frame → moving-index map); pixels first axis fastest (t = i0 + n0 (i1 + n1 i2)).
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";
import { basisFunctionDerivatives, createBasisWorkspace } from "../../splines/basis.js";
import type { Interpolation } from "./imageKernels.js";
import { locatePoint } from "./planEvaluate.js";

/** The pixel grid of one pyramid level tabulated against one plan. */
export interface PixelBlocks {
  readonly dimension: 2 | 3;
  /** Pixels per axis (3 entries; the third is 1 in 2D). */
  readonly counts: readonly number[];
  /** Frame coordinate of each index per axis: `coordinates[k]  #counts[k]`. */
  readonly coordinates: readonly Float64Array[];
  /** Per axis: `#levels by counts[k] by (p_k+1)` B-spline values (zero rows for unused level/index pairs). */
  readonly weights: readonly Float64Array[];
  /** Per axis: their first derivatives, the same layout. */
  readonly slopes: readonly Float64Array[];
  /** `#elements by 6`: lo0 hi0 lo1 hi1 lo2 hi2 pixel index ranges (hi exclusive; empty when lo = hi). */
  readonly boxes: Int32Array;
  /** `#pixels`: the element of each pixel. */
  readonly element: Int32Array;
}

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

/**
 * Tabulates the grid origin + spacing · i (i < counts, clamped onto the domain as thbGrid does) against
 * `plan`: the element of every pixel (located once), each element's pixel box, per-axis basis values.
 */
export function pixelBlocks(
  plan: EvaluationPlan,
  origin: readonly number[],
  spacing: readonly number[],
  counts: readonly number[],
): PixelBlocks {
  const d = plan.dimension as 2 | 3;
  const n = [counts[0], counts[1], d === 3 ? counts[2] : 1];
  const coordinates: Float64Array[] = [];
  for (let k = 0; k < d; k++) {
    const lo = plan.rootBreaks[plan.rootBreakStart[k]];
    const hi = plan.rootBreaks[plan.rootBreakStart[k + 1] - 1];
    coordinates.push(
      Float64Array.from({ length: n[k] }, (_, i) => {
        const x = origin[k] + spacing[k] * i;
        if (x < lo - 1e-9 * (hi - lo) || x > hi + 1e-9 * (hi - lo))
          throw new RangeError(`grid index ${i} lies outside the domain along direction ${k}`);
        return Math.min(Math.max(x, lo), hi);
      }),
    );
  }
  if (d === 2) coordinates.push(Float64Array.of(0));
  return separablePixelBlocks(plan, coordinates, n) ?? locatedBlocks(plan, coordinates, n);
}

/**
 * The level-l cell of every grid coordinate along each axis, by the walk locatePoint makes (the root cell by
 * binary search, then the side of each midpoint 0.5 (lo + hi)), which treats the axes independently: each
 * element's pixels are then the product of one index range per axis, found without locating any pixel.
 * Undefined when the boxes do not tile the grid exactly (never expected; the per-pixel walk takes over).
 */
export function separablePixelBlocks(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
): PixelBlocks | undefined {
  const d = plan.dimension as 2 | 3;
  const L = plan.levelCount;
  // ranges[k][l]: per level-l cell along axis k, the first and one-past-last grid index inside it
  const ranges: Int32Array[][] = [];
  for (let k = 0; k < d; k++) {
    const start = plan.rootBreakStart[k];
    const cells = plan.rootCells[k];
    const perLevel: Int32Array[] = [];
    for (let l = 0; l < L; l++) {
      const r = new Int32Array(2 * cells * 2 ** l);
      for (let c = 0; c < r.length; c += 2) r[c] = n[k];
      perLevel.push(r);
    }
    for (let i = 0; i < n[k]; i++) {
      const x = coordinates[k][i];
      let a = 0;
      let b = cells;
      while (b - a > 1) {
        const mid = (a + b) >> 1;
        if (x < plan.rootBreaks[start + mid]) b = mid;
        else a = mid;
      }
      let lo = plan.rootBreaks[start + a];
      let hi = plan.rootBreaks[start + a + 1];
      let cell = a;
      for (let l = 0; l < L; l++) {
        if (l > 0) {
          const mid = 0.5 * (lo + hi);
          if (x >= mid) {
            cell = 2 * cell + 1;
            lo = mid;
          } else {
            cell = 2 * cell;
            hi = mid;
          }
        }
        const r = perLevel[l];
        if (i < r[2 * cell]) r[2 * cell] = i;
        if (i + 1 > r[2 * cell + 1]) r[2 * cell + 1] = i + 1;
      }
    }
    ranges.push(perLevel);
  }
  const E = plan.elementCount;
  const boxes = new Int32Array(E * 6);
  let covered = 0;
  for (let e = 0; e < E; e++) {
    const l = plan.elementLevel[e];
    let volume = 1;
    for (let k = 0; k < 3; k++) {
      let lo = 0;
      let hi = 1;
      if (k < d) {
        const c = plan.elementCell[e * d + k];
        lo = ranges[k][l][2 * c];
        hi = ranges[k][l][2 * c + 1];
        if (hi <= lo) {
          lo = 0;
          hi = 0;
        }
      }
      boxes[e * 6 + 2 * k] = lo;
      boxes[e * 6 + 2 * k + 1] = hi;
      volume *= hi - lo;
    }
    if (volume === 0) for (let k = 0; k < 6; k++) boxes[e * 6 + k] = 0;
    covered += volume;
  }
  const total = n[0] * n[1] * n[2];
  if (covered !== total) return undefined;
  const element = new Int32Array(total).fill(-1);
  for (let e = 0; e < E; e++) {
    const b = e * 6;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++)
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const row = n[0] * (i1 + n[1] * i2);
        for (let i0 = boxes[b]; i0 < boxes[b + 1]; i0++) {
          if (element[row + i0] !== -1) return undefined;
          element[row + i0] = e;
        }
      }
  }
  const { weights, slopes } = axisTables(plan, coordinates, n, boxes);
  return { dimension: d, counts: n, coordinates, weights, slopes, boxes, element };
}

/** Per-axis basis values and slopes of every (level, index) row some element's box uses. */
function axisTables(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
  boxes: Int32Array,
): { weights: Float64Array[]; slopes: Float64Array[] } {
  const d = plan.dimension;
  const L = plan.levelCount;
  const weights: Float64Array[] = [];
  const slopes: Float64Array[] = [];
  const work = createBasisWorkspace(Math.max(...plan.degrees));
  const ders = new Float64Array(2 * (Math.max(...plan.degrees) + 1));
  for (let k = 0; k < d; k++) {
    const q = plan.degrees[k] + 1;
    const W = new Float64Array(L * n[k] * q);
    const S = new Float64Array(L * n[k] * q);
    const done = new Uint8Array(L * n[k]);
    for (let e = 0; e < plan.elementCount; e++) {
      const l = plan.elementLevel[e];
      const span = plan.knotStart[l * d + k] + plan.elementSpan[e * d + k];
      for (let i = boxes[e * 6 + 2 * k]; i < boxes[e * 6 + 2 * k + 1]; i++) {
        const row = l * n[k] + i;
        if (done[row]) continue;
        done[row] = 1;
        basisFunctionDerivatives(plan.knots, q - 1, span, coordinates[k][i], 1, ders, 0, work);
        for (let j = 0; j < q; j++) {
          W[row * q + j] = ders[j];
          S[row * q + j] = ders[q + j];
        }
      }
    }
    weights.push(W);
    slopes.push(S);
  }
  return { weights, slopes };
}

/** pixelBlocks by locating every pixel (the reference the separable path must agree with). */
function locatedBlocks(
  plan: EvaluationPlan,
  coordinates: readonly Float64Array[],
  n: readonly number[],
): PixelBlocks {
  const d = plan.dimension as 2 | 3;
  const total = n[0] * n[1] * n[2];
  const E = plan.elementCount;
  const boxes = new Int32Array(E * 6);
  for (let e = 0; e < E; e++) {
    for (let k = 0; k < 3; k++) {
      boxes[e * 6 + 2 * k] = n[k];
      boxes[e * 6 + 2 * k + 1] = 0;
    }
  }
  const population = new Float64Array(E);
  const element = new Int32Array(total);
  const point = new Float64Array(d);
  const L = plan.levelCount;
  const weights: Float64Array[] = [];
  const slopes: Float64Array[] = [];
  const cellOf: Int32Array[] = [];
  for (let k = 0; k < d; k++) {
    weights.push(new Float64Array(L * n[k] * (plan.degrees[k] + 1)));
    slopes.push(new Float64Array(L * n[k] * (plan.degrees[k] + 1)));
    cellOf.push(new Int32Array(L * n[k]).fill(-1));
  }
  const ders = new Float64Array(2 * (Math.max(...plan.degrees) + 1));
  const work = createBasisWorkspace(Math.max(...plan.degrees));
  let t = 0;
  const index = [0, 0, 0];
  for (let i2 = 0; i2 < n[2]; i2++) {
    index[2] = i2;
    if (d === 3) point[2] = coordinates[2][i2];
    for (let i1 = 0; i1 < n[1]; i1++) {
      index[1] = i1;
      point[1] = coordinates[1][i1];
      for (let i0 = 0; i0 < n[0]; i0++, t++) {
        index[0] = i0;
        point[0] = coordinates[0][i0];
        const e = locatePoint(plan, point, 0);
        element[t] = e;
        population[e]++;
        const l = plan.elementLevel[e];
        for (let k = 0; k < d; k++) {
          const i = index[k];
          const b = e * 6 + 2 * k;
          if (i < boxes[b]) boxes[b] = i;
          if (i + 1 > boxes[b + 1]) boxes[b + 1] = i + 1;
          const row = l * n[k] + i;
          const cell = plan.elementSpan[e * d + k];
          if (cellOf[k][row] === cell) continue;
          if (cellOf[k][row] !== -1)
            throw new Error(`grid point ${t} located inconsistently along axis ${k}`);
          cellOf[k][row] = cell;
          const q = plan.degrees[k] + 1;
          basisFunctionDerivatives(
            plan.knots,
            q - 1,
            plan.knotStart[l * d + k] + cell,
            point[k],
            1,
            ders,
            0,
            work,
          );
          for (let j = 0; j < q; j++) {
            weights[k][row * q + j] = ders[j];
            slopes[k][row * q + j] = ders[q + j];
          }
        }
      }
    }
  }
  for (let e = 0; e < E; e++) {
    if (d === 2) {
      boxes[e * 6 + 4] = 0;
      boxes[e * 6 + 5] = 1;
    }
    let volume = 1;
    for (let k = 0; k < 3; k++) volume *= Math.max(0, boxes[e * 6 + 2 * k + 1] - boxes[e * 6 + 2 * k]);
    if (population[e] === 0) {
      for (let k = 0; k < 6; k++) boxes[e * 6 + k] = 0;
    } else if (volume !== population[e]) {
      throw new Error(`element ${e} does not cover a box of the pixel grid`);
    }
  }
  return { dimension: d, counts: n, coordinates, weights, slopes, boxes, element };
}

// per-pixel scratch of the sampler: value, then gradient along each moving axis
const sampled = new Float64Array(4);
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
function sample2D(I: Float64Array, nx: number, ny: number, cubic: boolean, x: number, y: number): void {
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
function sample3D(
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
  else {
    fieldPass(plan, blocks, local, image.frameToMoving, du);
    const count = blocks.counts[0] * blocks.counts[1] * blocks.counts[2];
    if (blocks.dimension === 3) sample3DPass(image, du, values, count);
    else if (image.interpolation === "linear") sampleLinear2DPass(image, du, values, count);
    else sampleCubic2DPass(image, du, values, count);
  }
}

/** Writes the moving-image index A (x + u(x)) of every pixel into `coords  #pixels by d`. */
function fieldPass(
  plan: EvaluationPlan,
  blocks: PixelBlocks,
  local: Float64Array,
  A: Float64Array,
  du: Float64Array,
): void {
  const d = blocks.dimension;
  const [n0, n1, n2] = blocks.counts;
  const [X0, X1, X2] = blocks.coordinates;
  const [W0, W1] = blocks.weights;
  const W2 = d === 3 ? blocks.weights[2] : W0;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = d === 3 ? plan.degrees[2] + 1 : 1;
  const B = plan.localSize;
  const Q = scratch(q0 * d);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * d;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        // contract axes 1 and 2: Q[j0 d + c] = Σ b_{j1}(x1) b_{j2}(x2) P[j0 j1 j2, c]
        Q.fill(0, 0, q0 * d);
        for (let j2 = 0; j2 < q2; j2++) {
          const w2 = d === 3 ? W2[o2 + j2] : 1;
          for (let j1 = 0; j1 < q1; j1++) {
            const w = w2 * W1[o1 + j1];
            const row = P + q0 * (j1 + q1 * j2) * d;
            for (let j = 0; j < q0 * d; j++) Q[j] += w * local[row + j];
          }
        }
        const x1 = X1[i1];
        const x2 = d === 3 ? X2[i2] : 0;
        let t = lo0 + n0 * (i1 + n1 * i2);
        if (d === 2) {
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
        } else {
          const c0 = A[12] + A[4] * x1 + A[8] * x2;
          const c1 = A[13] + A[5] * x1 + A[9] * x2;
          const c2 = A[14] + A[6] * x1 + A[10] * x2;
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
            du[3 * t] = c0 + A[0] * v0 + A[4] * u1 + A[8] * u2;
            du[3 * t + 1] = c1 + A[1] * v0 + A[5] * u1 + A[9] * u2;
            du[3 * t + 2] = c2 + A[2] * v0 + A[6] * u1 + A[10] * u2;
          }
        }
      }
    }
  }
}

/**
 * The sampling passes: the image at the moving-index coordinates held in `du  #count by d` (overwritten
 * with Lᵀ ∇M) into `values`, one tight loop per kind, the clamps skipped where every tap lies inside.
 */
function sampleLinear2DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
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
function sampleCubic2DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
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
    if (!(bx >= 1 && by >= 1 && bx + 2 < mx && by + 2 < my)) {
      sample2D(I, mx, my, true, x, y);
      values[t] = sampled[0];
      du[2 * t] = a0 * sampled[1] + a1 * sampled[2];
      du[2 * t + 1] = a3 * sampled[1] + a4 * sampled[2];
      continue;
    }
    // every tap inside: the 4×4 weights in registers, rows read straight
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
    const fy = y - by;
    const fy2 = fy * fy;
    const fy3 = fy2 * fy;
    let o = bx - 1 + mx * (by - 1);
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
    values[t] = wy0 * along0 + wy1 * along1 + wy2 * along2 + wy3 * along3;
    const gx = wy0 * slope0 + wy1 * slope1 + wy2 * slope2 + wy3 * slope3;
    const gy = dy0 * along0 + dy1 * along1 + dy2 * along2 + dy3 * along3;
    du[2 * t] = a0 * gx + a1 * gy;
    du[2 * t + 1] = a3 * gx + a4 * gy;
  }
}

/** The 3D pass, linear or cubic (see sampleLinear2DPass). */
function sample3DPass(image: WarpImage, du: Float64Array, values: Float64Array, count: number): void {
  const A = image.frameToMoving;
  const I = image.values;
  const [mx, my, mz] = image.size;
  const m = 4;
  const cubic = image.interpolation === "cubic";
  for (let t = 0; t < count; t++) {
    if (cubic) sample3DCubic(I, mx, my, mz, du[3 * t], du[3 * t + 1], du[3 * t + 2]);
    else sample3DLinear(I, mx, my, mz, du[3 * t], du[3 * t + 1], du[3 * t + 2]);
    values[t] = sampled[0];
    const g0 = sampled[1];
    const g1 = sampled[2];
    const g2 = sampled[3];
    du[3 * t] = A[0] * g0 + A[1] * g1 + A[2] * g2;
    du[3 * t + 1] = A[m] * g0 + A[m + 1] * g1 + A[m + 2] * g2;
    du[3 * t + 2] = A[2 * m] * g0 + A[2 * m + 1] * g1 + A[2 * m + 2] * g2;
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
  const [n0, n1, n2] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const W2 = d === 3 ? blocks.weights[2] : W0;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = d === 3 ? plan.degrees[2] + 1 : 1;
  const R = scratch(q0 * d);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * d;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        R.fill(0, 0, q0 * d);
        let t = lo0 + n0 * (i1 + n1 * i2);
        if (d === 2) {
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
        } else {
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
        }
        for (let j2 = 0; j2 < q2; j2++) {
          const w2 = d === 3 ? W2[o2 + j2] : 1;
          for (let j1 = 0; j1 < q1; j1++) {
            const w = w2 * W1[o1 + j1];
            const row = P + q0 * (j1 + q1 * j2) * d;
            for (let j = 0; j < q0 * d; j++) out[row + j] += w * R[j];
          }
        }
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
  const [n0, n1, n2] = blocks.counts;
  const [W0, W1] = blocks.weights;
  const [S0, S1] = blocks.slopes;
  const W2 = d === 3 ? blocks.weights[2] : W0;
  const S2 = d === 3 ? blocks.slopes[2] : S0;
  const q0 = plan.degrees[0] + 1;
  const q1 = plan.degrees[1] + 1;
  const q2 = d === 3 ? plan.degrees[2] + 1 : 1;
  const B = plan.localSize;
  const width = q0 * d;
  const Q = scratch(3 * width);
  const J = new Float64Array(9);
  const boxes = blocks.boxes;
  for (let e = 0; e < plan.elementCount; e++) {
    const b = e * 6;
    const lo0 = boxes[b];
    const hi0 = boxes[b + 1];
    if (hi0 <= lo0) continue;
    const l = plan.elementLevel[e];
    const P = e * B * d;
    for (let i2 = boxes[b + 4]; i2 < boxes[b + 5]; i2++) {
      const o2 = (l * n2 + i2) * q2;
      for (let i1 = boxes[b + 2]; i1 < boxes[b + 3]; i1++) {
        const o1 = (l * n1 + i1) * q1;
        // Q: value rows; Q + width: ∂/∂ξ1 rows; Q + 2 width: ∂/∂ξ2 rows
        Q.fill(0, 0, 3 * width);
        for (let j2 = 0; j2 < q2; j2++) {
          const w2 = d === 3 ? W2[o2 + j2] : 1;
          const s2 = d === 3 ? S2[o2 + j2] : 0;
          for (let j1 = 0; j1 < q1; j1++) {
            const w = w2 * W1[o1 + j1];
            const w1 = w2 * S1[o1 + j1];
            const w3 = s2 * W1[o1 + j1];
            const row = P + q0 * (j1 + q1 * j2) * d;
            for (let j = 0; j < width; j++) {
              const c = local[row + j];
              Q[j] += w * c;
              Q[width + j] += w1 * c;
              Q[2 * width + j] += w3 * c;
            }
          }
        }
        let t = lo0 + n0 * (i1 + n1 * i2);
        for (let i0 = lo0; i0 < hi0; i0++, t++) {
          const o0 = (l * n0 + i0) * q0;
          // J[k·3 + j] = δ_kj + ∂u_k/∂ξ_j
          J.fill(0);
          for (let j0 = 0; j0 < q0; j0++) {
            const w = W0[o0 + j0];
            const s = S0[o0 + j0];
            for (let c = 0; c < d; c++) {
              J[c * 3] += s * Q[j0 * d + c];
              J[c * 3 + 1] += w * Q[width + j0 * d + c];
              J[c * 3 + 2] += w * Q[2 * width + j0 * d + c];
            }
          }
          J[0] += 1;
          J[4] += 1;
          J[8] += 1;
          out[t] =
            d === 2
              ? J[0] * J[4] - J[1] * J[3]
              : J[0] * (J[4] * J[8] - J[5] * J[7]) -
                J[1] * (J[3] * J[8] - J[5] * J[6]) +
                J[2] * (J[3] * J[7] - J[4] * J[6]);
        }
      }
    }
  }
  return out;
}
