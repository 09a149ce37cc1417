/**
 * registerImages' initial alignment and optimiser options: on a pair related by a known affine map plus a
 * small smooth warp, the default affine start recovers the affine and, with the deformable levels, the true
 * mapping (endpoint error < 0.5 px inside, no folding inside); Adam reduces the MSE of a warped pair by 50× or more without folding;
 * "none" keeps A = I; the 2D default scales the optimiser's variables (precondition 0.3), 0 turns it off; bad
 * values are named.
 */
import { describe, expect, it } from "vitest";
import { DisplacementTransform } from "../../fields/displacementTransform.js";
import { createImage } from "../../fields/image.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { blobs, imageOf, randomField } from "./helpers.js";

const size: [number, number] = [64, 64];
const fixed = imageOf(size, blobs);
const grid: number[] = [];
for (let j = 0; j < 64; j++) for (let i = 0; i < 64; i++) grid.push(i, j);

/** The moving image seen through T: moving(T(x)) = fixed(x), i.e. moving(y) = fixed(T⁻¹ y). */
function movingThrough(truth: DisplacementTransform) {
  const source = truth.inverseMapPoints(grid);
  return createImage(
    Float64Array.from({ length: 64 * 64 }, (_, p) => blobs(source[2 * p], source[2 * p + 1])),
    size,
  );
}

function endpointError(a: DisplacementTransform, b: DisplacementTransform): number {
  const inner: number[] = [];
  for (let j = 16; j < 48; j += 4) for (let i = 16; i < 48; i += 4) inner.push(i, j);
  const pa = a.mapPoints(inner);
  const pb = b.mapPoints(inner);
  let error = 0;
  for (let k = 0; k < inner.length; k += 2) error += Math.hypot(pa[k] - pb[k], pa[k + 1] - pb[k + 1]);
  return error / (inner.length / 2);
}

describe("registerImages options", () => {
  it("an affine start plus the deformable levels recover a rotated, scaled, shifted and warped pair", async () => {
    const angle = 0.2;
    const [c, s] = [1.08 * Math.cos(angle), 1.08 * Math.sin(angle)];
    const middle = 31.5;
    const affine = [
      c,
      s,
      0,
      -s,
      c,
      0,
      middle - c * middle + s * middle + 4,
      middle - s * middle - c * middle - 3,
      1,
    ];
    const truth = new DisplacementTransform(fixed, randomField([63, 63], 1, 5, 3), affine);
    const moving = movingThrough(truth);
    const { transform, report } = await registerImages(fixed, moving, {
      gridSpacing: 16,
      levels: 2,
      iterations: 60,
    });
    expect(report.initial.kind).toBe("affine");
    expect(report.initial.metricAffine).toBeLessThan(report.initial.metricIdentity / 3);
    expect(transform.hasAffine).toBe(true);
    expect(report.metricAfter).toBeLessThan(report.metricBefore / 100);
    expect(endpointError(transform, truth)).toBeLessThan(0.5);
    // no folding inside; the outermost pixels map outside the moving image under A (clamped samples carry
    // no information, so the SSD leaves the field free there — elastix drops such samples from its metric)
    const det = transform.jacobianDeterminant();
    let inside = Number.POSITIVE_INFINITY;
    for (let j = 4; j < 60; j++) for (let i = 4; i < 60; i++) inside = Math.min(inside, det[i + 64 * j]);
    expect(inside).toBeGreaterThan(0);
  });

  it("adam reduces the MSE of a warped pair by 50× or more without folding", async () => {
    const truth = new DisplacementTransform(fixed, randomField([63, 63], 3, 21, 3));
    const moving = movingThrough(truth);
    const { transform, report } = await registerImages(fixed, moving, {
      gridSpacing: 16,
      levels: 2,
      iterations: 60,
      optimizer: "adam",
      initial: "none",
    });
    expect(report.options.optimizer).toBe("adam");
    expect(Array.from(transform.affine)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect(report.metricAfter).toBeLessThan(report.metricBefore / 50);
    expect(Math.min(...transform.jacobianDeterminant())).toBeGreaterThan(0);
  });

  it("names a bad initial or optimizer value", async () => {
    await expect(registerImages(fixed, fixed, { initial: "similarity" as "none" })).rejects.toThrow(
      /options\.initial must be "none", "rigid" or "affine", got "similarity"/,
    );
    await expect(registerImages(fixed, fixed, { optimizer: "sgd" as "adam" })).rejects.toThrow(
      /options\.optimizer must be "lbfgs" or "adam", got "sgd"/,
    );
    await expect(registerImages(fixed, fixed, { precondition: 1.5 })).rejects.toThrow(
      /options\.precondition must be a number in \[0, 1\], got 1\.5/,
    );
  });

  it("scales the variables by default in 2D (precondition 0.3), and precondition 0 is the plain optimiser", async () => {
    const truth = new DisplacementTransform(fixed, randomField([63, 63], 3, 21, 3));
    const moving = movingThrough(truth);
    const common = { gridSpacing: 16, levels: 2, iterations: 15, initial: "none" as const };
    const scaled = await registerImages(fixed, moving, common);
    const plain = await registerImages(fixed, moving, { ...common, precondition: 0 });
    expect(scaled.report.options.precondition).toBe(0.3);
    expect(plain.report.options.precondition).toBe(0);
    // different paths, both far down from the start and without folding
    expect(scaled.report.metricAfter).not.toBe(plain.report.metricAfter);
    for (const { report } of [scaled, plain]) {
      expect(report.metricAfter).toBeLessThan(report.metricBefore / 50);
      expect(report.foldingFraction).toBe(0);
    }
  });
});
