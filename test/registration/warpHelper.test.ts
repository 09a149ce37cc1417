/**
 * The 2D warp passes shared with a helper thread (warpHelper.ts, a real Node worker from startWarpThread):
 * elements own disjoint pixels and gradient rows, so the loss, its gradient, the curvature and a whole
 * registration must equal the one-thread run bit for bit, level after level on the same thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameToMovingIndex } from "../../fields/displacementTransform.js";
import { createImage } from "../../fields/image.js";
import { fusedLevelLoss } from "../../fitting/registration/fusedLevelLoss.js";
import type { LevelData, Metric } from "../../fitting/registration/levelLoss.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import type { WarpHelper } from "../../fitting/registration/warpHelper.js";
import { startWarpThread } from "../../io/node/warpThread.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import { blobs, imageOf, randomField } from "./helpers.js";

/** The first index where two arrays differ bitwise, or undefined when they are the same. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return undefined;
}

function level(seed: number): {
  data: LevelData;
  control: Float64Array;
  plan: ReturnType<typeof randomField>["plan"];
} {
  const fixed = imageOf([57, 49], blobs);
  const moving = createImage(imageOf([60, 60], (x, y) => blobs(x + 1.5, y - 1)).data, [60, 60], {
    spacing: [0.9, 1.1],
    origin: [-2, 1],
    direction: [Math.cos(0.1), Math.sin(0.1), -Math.sin(0.1), Math.cos(0.1)],
  });
  const field = randomField([56, 48], 1.5, seed, 5);
  return {
    plan: field.plan,
    control: Float64Array.from(field.control),
    data: {
      gridOrigin: [0, 0],
      gridSpacing: [1, 1],
      gridCounts: [57, 49],
      fixedValues: Float64Array.from(fixed.data),
      moving: { size: moving.size, values: cubicBSplineCoefficients(moving.data, moving.size) },
      frameToMoving: frameToMovingIndex(fixed, moving),
    },
  };
}

describe("the warp passes on two threads", () => {
  let helper: WarpHelper;
  beforeAll(async () => {
    helper = await startWarpThread();
  });
  afterAll(async () => {
    await helper?.dispose();
  });

  it("give the one-thread loss, gradient and curvature bit for bit, level after level (ssd, ncc, mi)", () => {
    const metrics: Metric[] = ["ssd", "ncc", "mi"];
    for (const [k, metric] of metrics.entries()) {
      const { data, control, plan } = level(11 + k);
      const options = {
        metric,
        interpolation: "cubic" as const,
        bending: 0.01,
        jacobianWeight: 0,
        jacobianThreshold: 0.1,
      };
      const one = fusedLevelLoss(plan, data, options);
      const two = fusedLevelLoss(plan, data, options, helper);
      expect(one.threads).toBe(1);
      expect(two.threads, "the level is shared").toBe(2);
      for (let step = 0; step < 3; step++) {
        const at = Float64Array.from(control, (c, i) => c * (1 - 0.3 * step) + 0.05 * step * Math.sin(i));
        const g1 = new Float64Array(at.length);
        const g2 = new Float64Array(at.length);
        const v1 = one.evaluate(at, g1);
        const v2 = two.evaluate(at, g2);
        expect(Object.is(v1, v2), `${metric} value, step ${step}`).toBe(true);
        expect(firstDifference(g1, g2), `${metric} gradient, step ${step}`).toBe(undefined);
      }
      expect(firstDifference(one.curvature(control), two.curvature(control)), `${metric} curvature`).toBe(
        undefined,
      );
      two.endLevel();
      two.endLevel(); // idempotent
    }
  });

  it("give the one-thread registration bit for bit (2D, adaptive, 3 levels), every level shared", async () => {
    const fixed = imageOf([96, 88], (x, y) => blobs(x * 0.7, y * 0.7));
    const moving = imageOf([96, 88], (x, y) => blobs(x * 0.7 + 1.2 * Math.sin(y / 15), y * 0.7 - 0.8));
    const options = { initial: "none" as const, gridSpacing: 12, iterations: 8 };
    const one = await registerImages(fixed, moving, options);
    const two = await registerImages(fixed, moving, { ...options, helperThread: helper });
    expect(one.report.threads).toBe(1);
    expect(two.report.threads).toBe(2);
    expect(two.report.levels.length).toBe(3);
    expect(two.report.metricAfter).toBeLessThan(0.5 * two.report.metricBefore);
    expect(firstDifference(one.transform.field.control, two.transform.field.control)).toBe(undefined);
    expect(firstDifference(one.warped.data, two.warped.data)).toBe(undefined);
    expect(two.report.iterations.map((r) => r.metric)).toEqual(one.report.iterations.map((r) => r.metric));
  });
});
