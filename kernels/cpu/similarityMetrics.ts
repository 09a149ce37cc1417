/**
 * Image similarity metrics over sampled moving values m and fixed values f (CPU f64), each returning its value
 * and writing its cotangent ∂D/∂m_s — the same functions as the autodiff compositions in
 * primitives/imagePrimitives.ts (mean of squares, 1 − NCC, −MI of the linear-Parzen joint histogram), written
 * out so the registration loss needs no tape. `include` (0/1 per entry, optional) restricts every sum to the
 * included entries (a fixed-image mask); excluded entries get a zero cotangent.
 * Shapes: `m, f, include, cotangent  #entries`; histograms `bins by bins`, moving bin fastest.
 */

/** Number of included entries. */
function countOf(length: number, include: Uint8Array | undefined): number {
  if (!include) return length;
  let n = 0;
  for (let s = 0; s < length; s++) n += include[s];
  return n;
}

/** Mean of (m − f)² over the included entries; cotangent 2 (m − f) / n. */
export function ssdMetric(
  m: Float64Array,
  f: ArrayLike<number>,
  count: number,
  include: Uint8Array | undefined,
  cotangent: Float64Array,
): number {
  const n = countOf(count, include);
  if (n === 0) throw new RangeError("the metric has no pixels to compare (the mask excludes them all)");
  let sum = 0;
  for (let s = 0; s < count; s++) {
    if (include && include[s] === 0) {
      cotangent[s] = 0;
      continue;
    }
    const r = m[s] - f[s];
    sum += r * r;
    cotangent[s] = (2 * r) / n;
  }
  return sum / n;
}

/** 1 − NCC(m, f) over the included entries; cotangent −∂NCC/∂m. */
export function nccMetric(
  m: Float64Array,
  f: ArrayLike<number>,
  count: number,
  include: Uint8Array | undefined,
  cotangent: Float64Array,
): number {
  const n = countOf(count, include);
  if (n === 0) throw new RangeError("the metric has no pixels to compare (the mask excludes them all)");
  let sm = 0;
  let sf = 0;
  for (let s = 0; s < count; s++) {
    if (include && include[s] === 0) continue;
    sm += m[s];
    sf += f[s];
  }
  const mm = sm / n;
  const mf = sf / n;
  let cov = 0;
  let vm = 0;
  let vf = 0;
  for (let s = 0; s < count; s++) {
    if (include && include[s] === 0) continue;
    const a = m[s] - mm;
    const b = f[s] - mf;
    cov += a * b;
    vm += a * a;
    vf += b * b;
  }
  const root = Math.sqrt(vm * vf);
  const ncc = cov / root;
  // ∂NCC/∂m_s = (f_s − f̄) / √(vm vf) − NCC (m_s − m̄) / vm  (the mean's share cancels: Σ (f − f̄) = 0)
  for (let s = 0; s < count; s++) {
    if (include && include[s] === 0) {
      cotangent[s] = 0;
      continue;
    }
    cotangent[s] = -((f[s] - mf) / root - (ncc * (m[s] - mm)) / vm);
  }
  return 1 - ncc;
}

/** The histogram spec of mutual information: bins per axis and each image's intensity range. */
export interface HistogramRanges {
  bins: number;
  movingRange: readonly [number, number];
  fixedRange: readonly [number, number];
}

let histogramScratch = new Float64Array(0);

/**
 * −MI of the linear-Parzen joint histogram (each entry spreads one unit over 2 × 2 bins, positions clamped to
 * the ranges), p = h / n, MI = Σ p (log(p + ε) − log(p_f + ε) − log(p_m + ε)), ε = 1e-10; cotangent −∂MI/∂m
 * through the Parzen weights (zero where the moving position was clamped).
 */
export function miMetric(
  m: Float64Array,
  f: ArrayLike<number>,
  count: number,
  include: Uint8Array | undefined,
  spec: HistogramRanges,
  cotangent: Float64Array,
): number {
  const n = countOf(count, include);
  if (n === 0) throw new RangeError("the metric has no pixels to compare (the mask excludes them all)");
  const bins = spec.bins;
  const bb = bins * bins;
  if (histogramScratch.length < 4 * bb + 2 * bins) histogramScratch = new Float64Array(4 * bb + 2 * bins);
  const h = histogramScratch.subarray(0, bb);
  const dh = histogramScratch.subarray(bb, 2 * bb);
  const pm = histogramScratch.subarray(2 * bb, 2 * bb + bins);
  const pf = histogramScratch.subarray(2 * bb + bins, 2 * bb + 2 * bins);
  h.fill(0);
  pm.fill(0);
  pf.fill(0);
  const [mlo, mhi] = spec.movingRange;
  const [flo, fhi] = spec.fixedRange;
  const ms = (bins - 1) / (mhi - mlo);
  const fs = (bins - 1) / (fhi - flo);
  for (let s = 0; s < count; s++) {
    if (include && include[s] === 0) continue;
    const ta = Math.min(Math.max((m[s] - mlo) * ms, 0), bins - 1);
    const a = Math.min(Math.floor(ta), bins - 2);
    const wa = ta - a;
    const tb = Math.min(Math.max((f[s] - flo) * fs, 0), bins - 1);
    const b = Math.min(Math.floor(tb), bins - 2);
    const wb = tb - b;
    h[a + bins * b] += (1 - wa) * (1 - wb);
    h[a + 1 + bins * b] += wa * (1 - wb);
    h[a + bins * (b + 1)] += (1 - wa) * wb;
    h[a + 1 + bins * (b + 1)] += wa * wb;
  }
  const eps = 1e-10;
  for (let b = 0; b < bins; b++) {
    for (let a = 0; a < bins; a++) {
      const p = h[a + bins * b] / n;
      pm[a] += p;
      pf[b] += p;
    }
  }
  let mi = 0;
  for (let b = 0; b < bins; b++) {
    const lf = Math.log(pf[b] + eps);
    const rf = pf[b] / (pf[b] + eps);
    for (let a = 0; a < bins; a++) {
      const p = h[a + bins * b] / n;
      const lp = Math.log(p + eps);
      const lm = Math.log(pm[a] + eps);
      mi += p * (lp - lf - lm);
      // ∂MI/∂p_ab, then ∂p/∂h = 1/n; the loss is −MI
      dh[a + bins * b] = -(lp + p / (p + eps) - lf - rf - lm - pm[a] / (pm[a] + eps)) / n;
    }
  }
  for (let s = 0; s < count; s++) {
    cotangent[s] = 0;
    if (include && include[s] === 0) continue;
    const raw = (m[s] - mlo) * ms;
    if (!(raw >= 0 && raw <= bins - 1)) continue;
    const a = Math.min(Math.floor(raw), bins - 2);
    const tb = Math.min(Math.max((f[s] - flo) * fs, 0), bins - 1);
    const b = Math.min(Math.floor(tb), bins - 2);
    const wb = tb - b;
    const lower = dh[a + 1 + bins * b] - dh[a + bins * b];
    const upper = dh[a + 1 + bins * (b + 1)] - dh[a + bins * (b + 1)];
    cotangent[s] = ms * ((1 - wb) * lower + wb * upper);
  }
  return -mi;
}
