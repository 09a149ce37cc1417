/** Synthetic images for the image-kernel tests. */
import type { ScalarImage } from "../../kernels/cpu/imageKernels.js";

/** A smooth image (sums of sines, values roughly in [-130, 130]) of a given 2D or 3D size, x fastest. */
export function syntheticImage(size: number[], phase = 0): ScalarImage {
  const total = size.reduce((a, b) => a * b, 1);
  const values = new Float64Array(total);
  for (let t = 0; t < total; t++) {
    const x = t % size[0];
    const y = Math.floor(t / size[0]) % size[1];
    const z = Math.floor(t / (size[0] * size[1]));
    values[t] =
      100 * Math.sin(0.21 * x + phase) * Math.cos(0.17 * y) + 30 * Math.sin(0.11 * z + 0.005 * x * y);
  }
  return { size, values };
}
