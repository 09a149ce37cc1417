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

/** max |a − b| / max(1, max |b|): relative to the field's scale (1 floors it for small fields). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`lengths differ: ${a.length} and ${b.length}`);
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return diff / scale;
}
