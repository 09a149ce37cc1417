/** Shared pieces of the WebGPU tests: the adapter (loud skip, or a failure under CI=true) and error measures. */
import { noAdapterAdvice, requestWebGPU, type WebGPUContext } from "../../kernels/webgpu/device.js";

/**
 * A WebGPU device for a test file, or undefined after a loud notice when this machine has no adapter.
 * Under CI=true a missing adapter is an error: CI must run the real kernels.
 */
export async function webgpuForTests(what: string): Promise<WebGPUContext | undefined> {
  const webgpu = await requestWebGPU();
  if (!webgpu) {
    if (process.env.CI === "true") throw new Error(`CI=true but ${noAdapterAdvice()}`);
    console.warn(`\n!!! ${what} SKIPPED: ${noAdapterAdvice()}\n`);
  }
  return webgpu;
}

/**
 * max over i of |a_i − b_i| / max(|a_i|, |b_i|, floor · M_g), M_g the largest |a_j|, |b_j| of i's group: each
 * value relative to itself, down to a floor below which f32 rounding of cancelling sums is all there is to see
 * (0 when both are all zeros; NaN anywhere counts as infinitely wrong). No floor at 1, so small fields and
 * small gradients are judged relatively too. Arrays that interleave quantities of different scales (values,
 * first and second derivatives: `#points by blocks by dim`) pass `blocks` and `dim`, so that each derivative
 * block is floored against its own largest entry, not against the second derivatives'.
 */
export function relativeError(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  floor = RELATIVE_FLOOR,
  layout: { blocks: number; dim: number } = { blocks: 1, dim: 1 },
): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} and ${b.length}`);
  const stride = layout.blocks * layout.dim;
  const group = (i: number) => Math.floor((i % stride) / layout.dim);
  const largest = new Float64Array(layout.blocks);
  for (let i = 0; i < b.length; i++)
    largest[group(i)] = Math.max(largest[group(i)], Math.abs(a[i]), Math.abs(b[i]));
  let worst = 0;
  for (let i = 0; i < b.length; i++) {
    if (a[i] === b[i]) continue;
    const scale = Math.max(Math.abs(a[i]), Math.abs(b[i]), floor * largest[group(i)]);
    const error = Math.abs(a[i] - b[i]) / scale;
    worst = Math.max(worst, Number.isNaN(error) ? Number.POSITIVE_INFINITY : error);
  }
  return worst;
}

/**
 * Default floor of relativeError, as a fraction of the largest value compared. Values smaller than that are
 * dominated by f32 rounding of cancelling sums and of the f32 inputs themselves: with floors of 1e-3, 1e-2
 * and 0.1 the parity tests measured up to 3e-5 (elementwise sums and differences of rounded inputs, the
 * per-point parameter gradient of a loss over 4,000 points) against tolerances of 1e-6 … 1e-5.
 */
export const RELATIVE_FLOOR = 0.25;
