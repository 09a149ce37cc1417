/**
 * registerImages' loss-side options end to end: random pixel subsets repeat bit for bit for a seed (and
 * differ for another), the fixed mask keeps corrupted pixels out of the result, and the det J penalty
 * raises the smallest Jacobian of a registration pushed towards folding.
 */
import { describe, expect, it } from "vitest";
import { DisplacementTransform } from "../../fields/displacementTransform.js";
import { createImage } from "../../fields/image.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { blobs, imageOf, randomField } from "./helpers.js";

/** A 64² pair: the fixed blobs and the same blobs seen through a known smooth warp. */
function pair(amplitude = 3, seed = 21) {
  const size: [number, number] = [64, 64];
  const fixed = imageOf(size, blobs);
  const truth = new DisplacementTransform(fixed, randomField([63, 63], amplitude, seed, 3));
  const grid: number[] = [];
  for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) grid.push(i, j);
  const source = truth.inverseMapPoints(grid);
  const moving = createImage(
    Float64Array.from({ length: 64 * 64 }, (_, p) => blobs(source[2 * p], source[2 * p + 1])),
    size,
  );
  return { fixed, moving };
}

describe("registerImages options", () => {
  it("repeats bit for bit with random pixel subsets for one seed, and differs for another", async () => {
    const { fixed, moving } = pair();
    const options = { levels: 2, samples: 900, iterations: 15 };
    const a = await registerImages(fixed, moving, { ...options, seed: 5 });
    const b = await registerImages(fixed, moving, { ...options, seed: 5 });
    const c = await registerImages(fixed, moving, { ...options, seed: 6 });
    expect(Array.from(b.transform.field.control)).toEqual(Array.from(a.transform.field.control));
    expect(b.report.metricAfter).toBe(a.report.metricAfter);
    expect(Array.from(c.transform.field.control)).not.toEqual(Array.from(a.transform.field.control));
    expect(a.report.metricAfter).toBeLessThan(a.report.metricBefore / 20);
  });

  it("ignores fixed pixels outside the mask: a corrupted region changes nothing when masked out", async () => {
    const { fixed, moving } = pair();
    const mask = createImage(new Uint8Array(64 * 64).fill(1), [64, 64]);
    const corrupted = Float64Array.from(fixed.data);
    // a bright square in the fixed image the moving one does not have, masked out
    for (let j = 40; j < 56; j++)
      for (let i = 8; i < 24; i++) {
        corrupted[i + 64 * j] = 255;
        (mask.data as Uint8Array)[i + 64 * j] = 0;
      }
    const bad = { ...fixed, data: corrupted };
    // one level: pyramid smoothing would blur the square into the masked-in pixels nearby
    const options = { levels: 1, iterations: 25 };
    const clean = await registerImages(fixed, moving, { ...options, fixedMask: mask });
    const masked = await registerImages(bad, moving, { ...options, fixedMask: mask });
    const unmasked = await registerImages(bad, moving, options);
    expect(Array.from(masked.transform.field.control)).toEqual(Array.from(clean.transform.field.control));
    expect(masked.report.options.fixedMask).toBe(true);
    // without the mask the square pulls the transform away
    let change = 0;
    const x = unmasked.transform.field.control;
    const y = clean.transform.field.control;
    for (let i = 0; i < x.length; i++) change = Math.max(change, Math.abs(x[i] - y[i]));
    expect(change).toBeGreaterThan(0.1);
    await expect(
      registerImages(fixed, moving, { fixedMask: createImage(new Uint8Array(32 * 32).fill(1), [32, 32]) }),
    ).rejects.toThrow(/fixedMask is 32×32 pixels, expected the fixed image's 64×64/);
    await expect(
      registerImages(fixed, moving, { fixedMask: createImage(new Uint8Array(64 * 64), [64, 64]) }),
    ).rejects.toThrow(/fixedMask has no pixel inside/);
  });

  it("the det J penalty raises the smallest Jacobian determinant of a strongly compressing registration", async () => {
    const { fixed, moving } = pair(6, 4);
    const options = { levels: 2, iterations: 30, gridSpacing: 8 };
    const plain = await registerImages(fixed, moving, options);
    const penalised = await registerImages(fixed, moving, {
      ...options,
      jacobianPenalty: 1e4,
      jacobianThreshold: 0.8,
    });
    expect(plain.report.minJacobian).toBeLessThan(0.8);
    expect(penalised.report.minJacobian).toBeGreaterThan(plain.report.minJacobian);
  });
});
