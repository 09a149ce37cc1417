/**
 * The 2D warp passes shared with a helper thread (kernels/cpu/warpThreads.ts, a real Node worker from startWarpThread):
 * elements own disjoint pixels and gradient rows, so the loss, its gradient, the curvature and a whole
 * registration must equal the one-thread run bit for bit, level after level on the same thread.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { frameToMovingIndex } from "../../fields/displacementTransform.js";
import { createImage } from "../../fields/image.js";
import { fusedLevelLoss } from "../../fitting/registration/fusedLevelLoss.js";
import type { LevelData, Metric } from "../../fitting/registration/levelLoss.js";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { startWarpThread } from "../../io/node/warpThread.js";
import { cubicBSplineCoefficients } from "../../kernels/cpu/bsplinePrefilter.js";
import type { WarpHelper } from "../../kernels/cpu/warpThreads.js";
import { blobs, imageOf, randomField } from "./helpers.js";

/** The first index where two arrays differ bitwise, or undefined when they are the same. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number | undefined {
  for (let i = 0; i < Math.max(a.length, b.length); i++) if (!Object.is(a[i], b[i])) return i;
  return undefined;
}

function level(
  seed: number,
  [n0, n1]: [number, number] = [337, 301],
): { data: LevelData; control: Float64Array; plan: ReturnType<typeof randomField>["plan"] } {
  // 337×301 is above SHARED_PASS_PIXELS (smaller levels stay on one thread); the blobs scaled to fill it
  const scale = n0 / 56;
  const fixed = imageOf([n0, n1], (x, y) => blobs(x / scale, y / scale));
  const m = Math.max(n0, n1) + 3;
  const moving = createImage(
    imageOf([m, m], (x, y) => blobs((x + 1.5) / scale, (y - 1) / scale)).data,
    [m, m],
    {
      spacing: [0.9, 1.1],
      origin: [-2, 1],
      direction: [Math.cos(0.1), Math.sin(0.1), -Math.sin(0.1), Math.cos(0.1)],
    },
  );
  const field = randomField([n0 - 1, n1 - 1], 1.5 * scale, seed, 5);
  return {
    plan: field.plan,
    control: Float64Array.from(field.control),
    data: {
      gridOrigin: [0, 0],
      gridSpacing: [1, 1],
      gridCounts: [n0, n1],
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
    const small = level(3, [57, 49]);
    const alone = fusedLevelLoss(
      small.plan,
      small.data,
      { metric: "ssd", interpolation: "cubic", bending: 0, jacobianWeight: 0, jacobianThreshold: 0.1 },
      helper,
    );
    expect(alone.threads, "a level below SHARED_PASS_PIXELS stays on one thread").toBe(1);
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

  it("give the one-thread registration bit for bit (2D, adaptive, 3 levels)", async () => {
    // 352×300 pixels: the full-resolution level is shared, the two coarser ones are not
    const fixed = imageOf([352, 300], (x, y) => blobs(x / 5.5, y / 5.5));
    const moving = imageOf([352, 300], (x, y) => blobs(x / 5.5 + 1.2 * Math.sin(y / 80), y / 5.5 - 0.8));
    const options = { initial: "none" as const, gridSpacing: 40, iterations: 6 };
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
