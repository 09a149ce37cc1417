/**
 * The image kernels as autodiff primitives, each written once over the kernels of the backend where the
 * inputs live (cpu f64, webgpu f32; primitives/tensorKernels.ts): sampling an image at warped coordinates (VJP: the image gradient times the
 * cotangent) and the joint histogram of moving against fixed values (VJP to the moving values through the
 * Parzen weights). Registration metrics compose from them with ordinary ops — SSD, NCC, mutual information —
 * so their gradients come from reverse mode on either backend.
 */
import { add, div, log, mul, reshape, sqrt, sub, sum } from "../autodiff/api.js";
import { defineOp } from "../autodiff/customOp.js";
import type { Tensor } from "../autodiff/tensor.js";
import type { Interpolation, ScalarImage } from "../kernels/cpu/imageKernels.js";
import { type HistogramSpec, kernelsOf, onEveryBackend } from "./tensorKernels.js";

export type { HistogramSpec } from "./tensorKernels.js";

/**
 * Samples `image` at `coords  #points by d` (voxel units, clamp to edge): `#points`. Differentiable with
 * respect to the coordinates.
 */
export function imageSampler(image: ScalarImage, kind: Interpolation): (coords: Tensor) => Tensor {
  const d = image.size.length;
  const check = (coords: Tensor) => {
    if (coords.rank !== 2 || coords.shape[1] !== d)
      throw new RangeError(`coords must have shape [#points, ${d}], got [${coords.shape}]`);
    return coords.shape[0];
  };
  // both VJPs are g ⊙ ∇I with ops, so they run wherever g lives and can be differentiated again in g
  const vjp = (gradient: Tensor, [g]: readonly (Tensor | undefined)[]) => [
    g ? mul(reshape(g, [g.size, 1]), gradient) : undefined,
  ];
  const sample = defineOp<Tensor>({
    name: "imageSample",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [coords] = inputs;
        check(coords);
        const { values, gradient } = kernelsOf(inputs).images.sample(image, coords, kind);
        return { outputs: [values], residuals: gradient };
      },
      vjp,
    }),
  });
  return (coords) => sample([coords])[0];
}

function checkSpec({ bins, movingRange, fixedRange }: HistogramSpec): void {
  if (!Number.isInteger(bins) || bins < 2 || bins > 64)
    throw new RangeError(`bins must be an integer from 2 to 64, got ${bins}`);
  for (const [name, [lo, hi]] of [
    ["movingRange", movingRange],
    ["fixedRange", fixedRange],
  ] as const) {
    if (!(hi > lo)) throw new RangeError(`${name} must be [lo, hi] with hi > lo, got [${lo}, ${hi}]`);
  }
}

const histogramOp = (spec: HistogramSpec) =>
  defineOp<undefined>({
    name: "jointHistogram",
    implementations: onEveryBackend({
      forward: (inputs) => {
        const [moving, fixed] = inputs;
        return { outputs: [kernelsOf(inputs).images.histogram(moving, fixed, spec)], residuals: undefined };
      },
      vjp: (_, [g], inputs) => {
        const [moving, fixed] = inputs;
        if (!g) return [undefined, undefined];
        return [kernelsOf(inputs).images.histogramVjp(moving, fixed, g, spec), undefined];
      },
    }),
  });

/**
 * The joint histogram (linear Parzen windows) of `moving` against `fixed` values (`#points` each):
 * `bins by bins`, row = fixed bin, column = moving bin. Differentiable with respect to the moving values.
 */
export function jointHistogram(moving: Tensor, fixed: Tensor, spec: HistogramSpec): Tensor {
  checkSpec(spec);
  if (moving.rank !== 1 || fixed.rank !== 1 || moving.size !== fixed.size)
    throw new RangeError(
      `moving and fixed must be vectors of equal length, got [${moving.shape}] and [${fixed.shape}]`,
    );
  return histogramOp(spec)([moving, fixed])[0];
}

/**
 * Mutual information Σ p log(p / (p_moving p_fixed)) of the Parzen joint histogram (nats; ε = 1e-10 keeps
 * empty bins finite). Maximise it, or minimise its negative, to register images of different modalities.
 */
export function mutualInformation(moving: Tensor, fixed: Tensor, spec: HistogramSpec): Tensor {
  const h = jointHistogram(moving, fixed, spec);
  const p = div(h, moving.size);
  const pMoving = reshape(sum(p, 0), [1, spec.bins]);
  const pFixed = reshape(sum(p, 1), [spec.bins, 1]);
  const eps = 1e-10;
  const terms = mul(p, sub(sub(log(add(p, eps)), log(add(pFixed, eps))), log(add(pMoving, eps))));
  return sum(terms);
}

/**
 * Normalised cross-correlation of two vectors (1 for an affine match):
 * Σ (m − m̄)(f − f̄) / sqrt(Σ (m − m̄)² Σ (f − f̄)²).
 */
export function normalizedCrossCorrelation(moving: Tensor, fixed: Tensor): Tensor {
  const n = moving.size;
  const dm = sub(moving, div(sum(moving), n));
  const df = sub(fixed, div(sum(fixed), n));
  const covariance = sum(mul(dm, df));
  return div(covariance, sqrt(mul(sum(mul(dm, dm)), sum(mul(df, df)))));
}
