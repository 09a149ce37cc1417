/**
 * Registration acceptance at CI size (issue 14), on generated pairs with a known displacement
 * (test/helpers/registrationPairs.ts; `npm run bench:register` runs the full-size ones against elastix):
 * a 3D anisotropic volume recovered to under half a voxel without folding; adaptive refinement reaching the
 * uniform schedule's MSE with at most half its DOFs on a locally deformed pair; and one `thb register` run
 * on a 3D .nii.gz pair whose written files agree with its summary. (mi against ssd on a non-monotone
 * intensity map is in registerImages.test.ts.)
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { encodeImageFile, readImageFile } from "../../io/node/imageFile.js";
import { transformFromJson } from "../../io/transformJson.js";
import { endpointError, localPair, volumePair } from "../helpers/registrationPairs.js";

const min = (values: ArrayLike<number>) => {
  let m = Number.POSITIVE_INFINITY;
  for (let i = 0; i < values.length; i++) m = Math.min(m, values[i]);
  return m;
};

describe("registration acceptance (CI size)", () => {
  it("3D, 48×48×24 voxels of 1×1×2.5 mm: endpoint error inside the object ≤ 0.5 voxel, no folding", async () => {
    const pair = volumePair(1, [48, 48, 24], [1, 1, 2.5]);
    const before = endpointError(pair, (p) => p);
    expect(before.mm).toBeGreaterThan(1.5); // a displacement of a few voxels to recover
    const { transform, report } = await registerImages(pair.fixed, pair.moving, {
      levels: 2,
      samples: 4096,
      iterations: 40,
    });
    const after = endpointError(pair, (p) => transform.mapPoints(p));
    // in mm, i.e. in units of the smallest voxel side (1 mm): at most half of every voxel's extent
    expect(after.mm).toBeLessThanOrEqual(0.5);
    expect(after.voxels).toBeLessThanOrEqual(0.5);
    expect(min(transform.jacobianDeterminant())).toBeGreaterThan(0);
    expect(report.metricAfter).toBeLessThan(report.metricBefore / 20);
  });

  it("adaptive refinement reaches the uniform schedule's final MSE with at most half its DOFs (256², one deformed disc)", async () => {
    const pair = localPair(3, [256, 256], 16);
    const common = { samples: 8192 };
    const uniform = await registerImages(pair.fixed, pair.moving, {
      ...common,
      refine: "uniform",
      levels: 4,
      gridSpacing: 8,
    });
    // adaptive may refine one level deeper (4 mm), but only where the residual asks for it
    const adaptive = await registerImages(pair.fixed, pair.moving, {
      ...common,
      refine: "adaptive",
      levels: 5,
      gridSpacing: 4,
    });
    const uniformDofs = uniform.report.dofsPerLevel.at(-1) as number;
    const adaptiveDofs = adaptive.report.dofsPerLevel.at(-1) as number;
    expect(uniform.report.metricAfter).toBeLessThan(uniform.report.metricBefore / 20); // uniform did its job
    expect(adaptive.report.metricAfter).toBeLessThanOrEqual(uniform.report.metricAfter);
    expect(adaptiveDofs).toBeLessThanOrEqual(uniformDofs / 2);
    expect(adaptive.transform.field.control.length).toBe(adaptiveDofs);
    // both recover the displacement; the adaptive one not worse than 1.5× the uniform one's endpoint error
    const eu = endpointError(pair, (p) => uniform.transform.mapPoints(p)).mm;
    const ea = endpointError(pair, (p) => adaptive.transform.mapPoints(p)).mm;
    expect(ea).toBeLessThan(Math.max(1.5 * eu, 0.05));
  });

  it("thb register on a 3D .nii.gz pair: finite outputs, summary consistent with the written files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "thb-register-3d-"));
    const pair = volumePair(2, [24, 24, 12], [1, 1, 2.5]);
    const fixedPath = join(dir, "fixed.nii.gz");
    const movingPath = join(dir, "moving.nii.gz");
    writeFileSync(fixedPath, await encodeImageFile(fixedPath, pair.fixed));
    writeFileSync(movingPath, await encodeImageFile(movingPath, pair.moving));
    const out = join(dir, "result");
    const run = spawnSync(
      "npx",
      [
        "tsx",
        "cli/thb.ts",
        "register",
        fixedPath,
        movingPath,
        "--out",
        out,
        "--levels",
        "1",
        "--grid",
        "12",
        "--iterations",
        "15",
        "--quiet",
      ],
      { encoding: "utf8" },
    );
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, "summary.json"), "utf8"));
    // 3D defaults: no variable scaling (the 2D default is 0.3)
    expect(summary.options.precondition).toBe(0);
    const fixed = (await readImageFile(fixedPath)).image;
    const warped = (await readImageFile(join(out, "warped.nii.gz"))).image;
    // the written geometry is the fixed image's, the values finite
    expect(warped.size).toEqual(fixed.size);
    for (let k = 0; k < 3; k++) {
      expect(warped.spacing[k]).toBeCloseTo(fixed.spacing[k], 5);
      expect(warped.origin[k]).toBeCloseTo(fixed.origin[k], 4);
    }
    let mse = 0;
    for (let i = 0; i < fixed.data.length; i++) {
      expect(Number.isFinite(warped.data[i])).toBe(true);
      mse += (warped.data[i] - fixed.data[i]) ** 2 / fixed.data.length;
    }
    // metricAfter is the MSE of the warped image as written (float32: agreement to 1e-4 relative)
    expect(summary.metricAfter).toBeLessThan(summary.metricBefore);
    expect(Math.abs(mse - summary.metricAfter)).toBeLessThan(1e-4 * summary.metricAfter + 1e-6);
    // folding and the Jacobian's range as the written transform gives them
    const transform = transformFromJson(readFileSync(join(out, "transform.json"), "utf8"));
    const det = transform.jacobianDeterminant();
    let folded = 0;
    for (const v of det) folded += v <= 0 ? 1 : 0;
    expect(summary.foldingFraction).toBe(folded / det.length);
    expect(summary.minJacobian).toBeCloseTo(min(det), 12);
    expect(summary.dofsPerLevel.at(-1)).toBe(transform.field.control.length);
    for (const key of ["startup", "io", "optimisation", "total"])
      expect(Number.isFinite(summary.seconds[key])).toBe(true);
    const rows = readFileSync(join(out, "iterations.tsv"), "utf8").trim().split("\n");
    expect(rows.length - 1).toBe(summary.levels[0].iterations + 1); // iteration 0 and every step
  });
});
