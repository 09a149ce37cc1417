import { join } from "node:path";
import { describe, expect, it } from "vitest";
import * as ad from "../../../autodiff/index.js";
import { fitSurface } from "../../../fitting/surface/fitSurface.js";
import { assembleNormalEquations, solveNormalEquations } from "../../../fitting/surface/normalEquations.js";
import { projectOntoBestFitPlane, symmetricEigen3 } from "../../../fitting/surface/parametrize.js";
import { isAdmissible } from "../../../hierarchy/admissibility.js";
import { compile } from "../../../hierarchy/plan.js";
import { readPointCloud } from "../../../io/node/readPointCloud.js";
import { evaluateBasis } from "../../../kernels/cpu/planEvaluate.js";
import { thbOps } from "../../../primitives/thbPrimitive.js";
import { frankeCloud, inlierError, withOutliers } from "../../helpers/franke.js";
import { seededRandom } from "../../helpers/random.js";
import { buildHierarchy } from "../../hierarchy/randomHierarchy.js";

/** Franke's test function on [0, 1]². */
/** Dense Cholesky solve of a small SPD system. */
function denseSolve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const L = new Float64Array(n * n);
  for (let j = 0; j < n; j++) {
    let s = A[j * n + j];
    for (let k = 0; k < j; k++) s -= L[j * n + k] ** 2;
    L[j * n + j] = Math.sqrt(s);
    for (let i = j + 1; i < n; i++) {
      let t = A[i * n + j];
      for (let k = 0; k < j; k++) t -= L[i * n + k] * L[j * n + k];
      L[i * n + j] = t / L[j * n + j];
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= L[i * n + k] * y[k];
    y[i] = s / L[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= L[k * n + i] * x[k];
    x[i] = s / L[i * n + i];
  }
  return x;
}

describe("least-squares fitting", () => {
  it("the sparse lsq solution (Cholesky and CG alike) equals a dense normal-equations solution to 1e-10 (THB, with smoothing)", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 3,
      steps: 2,
      nonUniform: true,
    });
    const plan = compile(space);
    const cloud = frankeCloud(3000, 1);
    const params = Float64Array.from({ length: 6000 }, (_, i) => cloud[3 * (i >> 1) + (i & 1)]);
    const values = Float64Array.from({ length: 3000 }, (_, i) => cloud[3 * i + 2]);
    const system = assembleNormalEquations(plan, params, values, 1, 1e-6);
    const sparse = solveNormalEquations(system).control;
    // dense reference: N from the basis at the points, plus the same smoothing matrix (taken from the assembly
    // with zero data weight is not possible, so compare the data-only problem densely)
    const direct = solveNormalEquations(assembleNormalEquations(plan, params, values, 1, 0));
    expect(direct.solver).toBe("cholesky");
    const dataOnly = direct.control;
    const iterative = solveNormalEquations(assembleNormalEquations(plan, params, values, 1, 0), undefined, {
      solver: "cg",
    });
    expect(iterative.solver).toBe("cg");
    const n = space.size;
    const NtN = new Float64Array(n * n);
    const Ntf = new Float64Array(n);
    evaluateBasis(plan, params, 0).forEach((pb, i) => {
      pb.functions.forEach((a, ia) => {
        Ntf[a] += pb.values[ia] * values[i];
        pb.functions.forEach((b, ib) => {
          NtN[a * n + b] += pb.values[ia] * pb.values[ib];
        });
      });
    });
    const dense = denseSolve(NtN, Ntf, n);
    for (let i = 0; i < n; i++) {
      expect(Math.abs(dataOnly[i] - dense[i])).toBeLessThan(1e-10);
      expect(Math.abs(iterative.control[i] - dense[i])).toBeLessThan(1e-10);
    }
    // the smoothed solution is close to, but not equal to, the data-only one
    let diff = 0;
    for (let i = 0; i < n; i++) diff = Math.max(diff, Math.abs(sparse[i] - dataOnly[i]));
    expect(diff).toBeGreaterThan(0);
  });

  it("gradient descent (L-BFGS through the THB primitive) converges to the lsq solution on the quadratic loss — the general path and the point set with the fused loss alike", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 2,
      truncated: true,
      m: 2,
      seed: 5,
      steps: 1,
      nonUniform: false,
    });
    const plan = compile(space);
    const cloud = frankeCloud(2000, 2);
    const params = Float64Array.from({ length: 4000 }, (_, i) => cloud[3 * (i >> 1) + (i & 1)]);
    const values = Float64Array.from({ length: 2000 }, (_, i) => cloud[3 * i + 2]);
    const lsq = solveNormalEquations(assembleNormalEquations(plan, params, values, 1, 0)).control;
    const ops = thbOps(plan);
    const X = ad.tensor(params, [2000, 2]);
    const F = ad.tensor(values, [2000, 1]);
    const set = ops.pointSet(X);
    const losses = {
      general: (c: ad.Tensor) =>
        ad.mean(ad.square(ad.sub(ops.evaluate(ad.reshape(c, [space.size, 1]), X), F))),
      fused: (c: ad.Tensor) => ops.residualLoss(ad.reshape(c, [space.size, 1]), set, F),
    };
    for (const loss of Object.values(losses)) {
      const result = ad.minimize(loss, new Float64Array(space.size), {
        method: "lbfgs",
        maxIterations: 3000,
        tolerance: 1e-14,
      });
      let worst = 0;
      for (let i = 0; i < space.size; i++) worst = Math.max(worst, Math.abs(result.x[i] - lsq[i]));
      expect(worst).toBeLessThan(1e-6);
    }
  });

  it("Franke's function: the adaptive THB fit reaches 1e-3 with fewer functions than the uniform bicubic fit that does", () => {
    const points = frankeCloud(20000, 3);
    const adaptive = fitSurface(points, { heightField: true, tolerance: 1e-3, elements: 4, maxLevels: 6 });
    expect(adaptive.report.stopReason).toBe("tolerance");
    expect(adaptive.report.final.maxError).toBeLessThanOrEqual(1e-3);
    // uniform: refine every element each step (one level, no adaptivity) until the same tolerance
    let uniformDofs = 0;
    for (const elements of [4, 8, 16, 32]) {
      const uniform = fitSurface(points, { heightField: true, tolerance: 1e-3, elements, maxLevels: 1 });
      if (uniform.report.final.maxError <= 1e-3) {
        uniformDofs = uniform.report.final.dofs;
        break;
      }
    }
    expect(uniformDofs).toBeGreaterThan(adaptive.report.final.dofs);
    // iterations report levels, DOFs, max and RMS error and time, with errors shrinking
    const first = adaptive.report.iterations[0];
    expect(first.maxError).toBeGreaterThan(adaptive.report.final.maxError);
    expect(Object.keys(first).sort()).toEqual(["dofs", "levels", "maxError", "rmsError", "seconds"]);
  });

  it("regions without data do not crash: the regularisation continues the surface there, bounded, and the report says so", () => {
    const points = frankeCloud(400, 4);
    // keep only the left half of the domain's data, but fit over the whole parameter box
    const left: number[] = [];
    for (let i = 0; i < 400; i++)
      if (points[3 * i] < 0.5 || i < 2) left.push(points[3 * i], points[3 * i + 1], points[3 * i + 2]);
    left.push(1, 1, 0); // one far corner point stretches the box
    const result = fitSurface(Float64Array.from(left), {
      heightField: true,
      tolerance: 1e-2,
      elements: 6,
      maxLevels: 2,
    });
    expect(result.report.notes.join(" ")).toMatch(
      /functions have no data on their support: the thin-plate regularisation/,
    );
    expect(Number.isFinite(result.report.final.maxError)).toBe(true);
    // the empty right half continues the surface smoothly: a thin-plate continuation carries the slopes at the
    // edge of the data on (here to about −3 on data in [0, 1.2]), but stays within three ranges of the data
    // (without the regularisation it reaches 10.6)
    const { lower, upper } = result.surface.space;
    const grid = new Float64Array(2 * 21 * 21);
    for (let i = 0; i < 21; i++)
      for (let j = 0; j < 21; j++)
        grid.set(
          [0.5 + ((upper[0] - 0.5) * i) / 20, lower[1] + ((upper[1] - lower[1]) * j) / 20],
          2 * (21 * i + j),
        );
    const heights = result.surface.evaluate(grid);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 2; i < left.length; i += 3) {
      lo = Math.min(lo, left[i]);
      hi = Math.max(hi, left[i]);
    }
    for (const z of heights) {
      expect(z).toBeGreaterThan(lo - 3 * (hi - lo));
      expect(z).toBeLessThan(hi + 3 * (hi - lo));
    }
  });

  it("rejects NaN points and collinear clouds with clear errors", () => {
    expect(() => fitSurface(Float64Array.from([0, 0, 0, 1, Number.NaN, 0]))).toThrow(
      /point 1 has a non-finite coordinate/,
    );
    expect(() => fitSurface(Float64Array.from([0, 0, 0, 1, 0, 0, 2, 0, 0]), { heightField: true })).toThrow(
      /collinear/,
    );
  });

  it("best-fit plane parameters: eigenvectors satisfy A v = λ v and a tilted plane maps to [0, 1]²", () => {
    const A = Float64Array.from([4, 1, 0.5, 1, 3, 0.2, 0.5, 0.2, 1]);
    const { values, vectors } = symmetricEigen3(A);
    for (let k = 0; k < 3; k++) {
      for (let r = 0; r < 3; r++) {
        let s = 0;
        for (let c = 0; c < 3; c++) s += A[3 * r + c] * vectors[3 * k + c];
        expect(s).toBeCloseTo(values[k] * vectors[3 * k + r], 12);
      }
    }
    const rand = seededRandom(9);
    const pts = new Float64Array(300);
    for (let i = 0; i < 100; i++) {
      const a = rand();
      const b = rand();
      pts.set([a + b, a - b, 0.3 * a], 3 * i);
    }
    const uv = projectOntoBestFitPlane(pts);
    expect(Math.min(...uv)).toBe(0);
    expect(Math.max(...uv)).toBe(1);
  });
});

describe("adaptive loop options", () => {
  const points = frankeCloud(8000, 11);
  const base = { heightField: true, tolerance: 1e-4, elements: 4, maxLevels: 6 } as const;

  it("onProgress sees every report row as it happens; an AbortSignal stops after the current step", () => {
    const seen: number[] = [];
    const full = fitSurface(points, { ...base, onProgress: (it) => seen.push(it.dofs) });
    expect(seen).toEqual(full.report.iterations.map((it) => it.dofs));
    expect(seen.length).toBeGreaterThan(2);
    const controller = new AbortController();
    const aborted = fitSurface(points, {
      ...base,
      signal: controller.signal,
      onProgress: () => controller.abort(),
    });
    expect(aborted.report.stopReason).toBe("aborted");
    expect(aborted.report.iterations.length).toBe(1);
  });

  it("rmsTolerance stops on the RMS error; fraction marking refines fewer elements per step", () => {
    const rms = fitSurface(points, { ...base, tolerance: 1e-9, rmsTolerance: 1e-3 });
    expect(rms.report.stopReason).toBe("tolerance");
    expect(rms.report.final.rmsError).toBeLessThanOrEqual(1e-3);
    expect(rms.report.final.maxError).toBeGreaterThan(1e-9);
    const threshold = fitSurface(points, { ...base, maxIterations: 2 });
    const fraction = fitSurface(points, { ...base, maxIterations: 2, marking: "fraction", fraction: 0.1 });
    expect(fraction.report.iterations[0].dofs).toBe(threshold.report.iterations[0].dofs);
    expect(fraction.report.iterations[1].dofs).toBeLessThan(threshold.report.iterations[1].dofs);
  });

  it("every refined space keeps the admissibility class asked for", () => {
    for (const admissibility of [2, 3]) {
      const fit = fitSurface(points, { ...base, admissibility, maxIterations: 4 });
      expect(fit.report.options.admissibility).toBe(admissibility);
      expect(isAdmissible(fit.surface.space, admissibility)).toBe(true);
    }
  });
});

describe("gradient path and parameter correction", () => {
  it("Huber loss (L-BFGS through autodiff) resists outliers that pull the L2 fit away", () => {
    const clean = frankeCloud(3000, 7);
    const points = withOutliers(clean, 50, 2); // 2 % gross outliers
    const options = {
      heightField: true,
      tolerance: 1e-9,
      elements: 8,
      maxLevels: 1,
      maxIterations: 1,
    } as const;
    const l2 = fitSurface(points, options);
    const huber = fitSurface(points, {
      ...options,
      method: "lbfgs",
      loss: "huber",
      huberDelta: 0.01,
      gradientIterations: 300,
    });
    expect(inlierError(huber.surface, clean, 50)).toBeLessThan(0.5 * inlierError(l2.surface, clean, 50));
    expect(huber.report.options.method).toBe("lbfgs");
  });

  it("parameter correction lowers the error of the deepdrawingC.xml fit at the same refinement", () => {
    const { points, params } = readPointCloud(join("examples", "data", "deepdrawingC.xml"));
    const plain = fitSurface(points, { params, tolerance: 1e-9, maxLevels: 3 });
    const corrected = fitSurface(points, { params, tolerance: 1e-9, maxLevels: 3, parameterCorrection: 3 });
    expect(corrected.report.iterations[0].rmsError).toBeLessThan(plain.report.iterations[0].rmsError);
    expect(corrected.report.final.rmsError).toBeLessThan(0.8 * plain.report.final.rmsError);
  });
});
