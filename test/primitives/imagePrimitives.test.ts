import { afterAll, describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import type { Tensor } from "../../autodiff/tensor.js";
import type { Interpolation } from "../../kernels/cpu/imageKernels.js";
import { webgpuBackend } from "../../primitives/backend.js";
import {
  type HistogramSpec,
  imageSampler,
  mutualInformation,
  normalizedCrossCorrelation,
} from "../../primitives/imagePrimitives.js";
import { webgpuForTests } from "../helpers/gpu.js";
import { syntheticImage } from "../helpers/images.js";
import { seededRandom } from "../helpers/random.js";

const webgpu = await webgpuForTests("WebGPU image-primitive tests");
const backend = webgpu ? webgpuBackend(webgpu) : undefined;
afterAll(() => backend?.dispose());

function coordsTensor(seed: number, count: number, size: number[]): Tensor {
  const rand = seededRandom(seed);
  const d = size.length;
  return ad.tensor(
    Float64Array.from({ length: count * d }, (_, i) => -1 + (size[i % d] + 1) * rand()),
    [count, d],
  );
}

const spec: HistogramSpec = { bins: 16, movingRange: [-140, 140], fixedRange: [-140, 140] };

/** The three metrics of a moving image sampled at coords against fixed values. */
function metrics(sample: (c: Tensor) => Tensor, fixed: Tensor) {
  return {
    ssd: (c: Tensor) => ad.mean(ad.square(ad.sub(sample(c), fixed))),
    ncc: (c: Tensor) => normalizedCrossCorrelation(sample(c), fixed),
    mi: (c: Tensor) => mutualInformation(sample(c), fixed, spec),
  };
}

describe("image primitives on the host", () => {
  for (const d of [2, 3])
    for (const kind of ["linear", "cubic"] as Interpolation[]) {
      it(`${d}D ${kind}: SSD, NCC and mutual information gradients match central differences`, () => {
        const size = d === 2 ? [24, 20] : [10, 9, 8];
        const moving = syntheticImage(size);
        const coords = coordsTensor(d * 10 + kind.length, 300, size);
        const fixed = imageSampler(syntheticImage(size, 0.3), "linear")(coordsTensor(5, 300, size));
        const m = metrics(imageSampler(moving, kind), fixed);
        // linear sampling and Parzen bins are piecewise: a small step keeps most points in their pieces
        const tolerance = kind === "linear" ? 1e-4 : 1e-5;
        for (const [name, f] of Object.entries(m)) {
          const { maxError } = ad.gradcheck(([c]) => f(c), [coords], { eps: 1e-7, tolerance });
          expect(maxError, name).toBeLessThan(tolerance);
        }
      });
    }

  it("closed forms: NCC of an affine copy is 1; MI of an image with itself beats MI with an unrelated one", () => {
    const values = ad.tensor(Float64Array.from({ length: 500 }, (_, i) => Math.sin(i * 0.37) * 100));
    const affine = ad.add(ad.mul(values, 2.5), 7);
    expect(normalizedCrossCorrelation(values, affine).item()).toBeCloseTo(1, 12);
    expect(normalizedCrossCorrelation(values, ad.neg(affine)).item()).toBeCloseTo(-1, 12);
    const rand = seededRandom(4);
    const noise = ad.tensor(Float64Array.from({ length: 500 }, () => 260 * rand() - 130));
    const self = mutualInformation(values, values, spec).item();
    const unrelated = mutualInformation(values, noise, spec).item();
    expect(self).toBeGreaterThan(1);
    expect(unrelated).toBeLessThan(0.5 * self);
  });
});

describe.skipIf(!backend)("image primitives on WebGPU vs the host", () => {
  for (const d of [2, 3])
    for (const kind of ["linear", "cubic"] as Interpolation[]) {
      it(`${d}D ${kind}: values and coordinate gradients of SSD, NCC and MI agree within 1e-4`, async () => {
        const size = d === 2 ? [64, 48] : [20, 18, 16];
        const moving = syntheticImage(size);
        const count = 5000;
        const coords = coordsTensor(d + kind.length, count, size);
        const fixedHost = imageSampler(syntheticImage(size, 0.3), "cubic")(coordsTensor(6, count, size));
        const gpu = backend!.tensors!;
        const onHost = metrics(imageSampler(moving, kind), fixedHost);
        const onDevice = metrics(imageSampler(moving, kind), gpu.toDevice(fixedHost.values, [count]));
        const deviceCoords = gpu.toDevice(coords.values, coords.shape);
        for (const name of ["ssd", "ncc", "mi"] as const) {
          const host = ad.valueAndGrad(onHost[name], coords);
          const dev = ad.valueAndGrad(onDevice[name], deviceCoords);
          const value = (await dev.value.read())[0];
          const grad = await dev.grad.read();
          const scale = Math.max(Math.abs(host.value.item()), 1e-3);
          expect(Math.abs(value - host.value.item()) / scale, `${name} value`).toBeLessThan(1e-4);
          let diff = 0;
          let largest = 0;
          for (let i = 0; i < grad.length; i++) {
            diff = Math.max(diff, Math.abs(grad[i] - host.grad.values[i]));
            largest = Math.max(largest, Math.abs(host.grad.values[i]));
          }
          // relative to the largest component; MI sums 5,000 Parzen terms in f32, hence its looser bound
          expect(diff / largest, `${name} gradient`).toBeLessThan(name === "mi" ? 1e-3 : 1e-5);
        }
      });
    }
});
