/**
 * The initial alignment: on a synthetic pair related by a known affine map (rotation, anisotropic scale,
 * translation), the stages recover that map (the closed form the images were built from); centring alone
 * recovers a pure translation; the parametrisations' hand-written Jacobians agree with finite differences
 * through the loss; "none" is the identity.
 */
import { describe, expect, it } from "vitest";
import { createImage } from "../../fields/image.js";
import {
  affineParametrisation as affine,
  alignmentFactor,
  initialAlignment,
  rigidParametrisation as rigid,
} from "../../fitting/registration/initialAlignment.js";
import { blobs } from "./helpers.js";

/** A smooth picture over roughly [0, 64]², scaled up to `n` pixels. */
const picture = (x: number, y: number) => blobs(x, y) + 40 * Math.exp(-((x - 32) ** 2 + (y - 30) ** 2) / 400);

/** fixed(x) = picture(x); moving(y) = picture(A⁻¹ y) so that moving(A x) = fixed(x) exactly. */
function pairUnder(A: { L: number[][]; t: number[] }, geometry: { spacing: number[]; origin: number[] }) {
  const n = 96;
  const s = 64 / n;
  const fixed = new Float64Array(n * n);
  const moving = new Float64Array(n * n);
  const [[a, b], [c, d]] = A.L;
  const det = a * d - b * c;
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      // physical point of pixel (i, j): origin + spacing ⊙ index (identity directions)
      const x = geometry.origin[0] + geometry.spacing[0] * i;
      const y = geometry.origin[1] + geometry.spacing[1] * j;
      fixed[i + n * j] = picture(x * s, y * s);
      const u = x - A.t[0];
      const v = y - A.t[1];
      const px = (d * u - b * v) / det;
      const py = (-c * u + a * v) / det;
      moving[i + n * j] = picture(px * s, py * s);
    }
  }
  return {
    fixed: createImage(fixed, [n, n], geometry),
    moving: createImage(moving, [n, n], geometry),
  };
}

/** The linear part and translation of a (d+1)² column-major affine. */
function parts(m: Float64Array): { L: number[][]; t: number[] } {
  return {
    L: [
      [m[0], m[3]],
      [m[1], m[4]],
    ],
    t: [m[6], m[7]],
  };
}

describe("initialAlignment", () => {
  it("the affine stage recovers a known rotation, anisotropic scale and translation", () => {
    const angle = (7 * Math.PI) / 180;
    const [sx, sy] = [1.06, 0.95];
    const L = [
      [Math.cos(angle) * sx, -Math.sin(angle) * sy],
      [Math.sin(angle) * sx, Math.cos(angle) * sy],
    ];
    const geometry = { spacing: [1, 1], origin: [0, 0] };
    // about the image's middle, so the moved picture stays inside the frame
    const middle = [47.5, 47.5];
    const t = [3, -2].map((v, k) => v + middle[k] - (L[k][0] * middle[0] + L[k][1] * middle[1]));
    const { fixed, moving } = pairUnder({ L, t }, geometry);
    const result = initialAlignment(fixed, moving, { kind: "affine" });
    const found = parts(result.affine);
    for (let r = 0; r < 2; r++) {
      for (let c = 0; c < 2; c++) expect(Math.abs(found.L[r][c] - L[r][c])).toBeLessThan(0.015);
      expect(Math.abs(found.t[r] - t[r])).toBeLessThan(0.5);
    }
    expect(result.affine[2]).toBe(0);
    expect(result.affine[8]).toBe(1);
    expect(result.report.metricAffine).toBeLessThan(result.report.metricRigid);
    expect(result.report.metricRigid).toBeLessThan(result.report.metricIdentity);
  });

  it("the rigid stage recovers a rotation with translation; its matrix is a rotation", () => {
    const angle = (-9 * Math.PI) / 180;
    const L = [
      [Math.cos(angle), -Math.sin(angle)],
      [Math.sin(angle), Math.cos(angle)],
    ];
    const geometry = { spacing: [1.2, 0.8], origin: [-10, 4] };
    const middle = [-10 + 1.2 * 47.5, 4 + 0.8 * 47.5];
    const t = [-2.5, 1.5].map((v, k) => v + middle[k] - (L[k][0] * middle[0] + L[k][1] * middle[1]));
    const { fixed, moving } = pairUnder({ L, t }, geometry);
    const result = initialAlignment(fixed, moving, { kind: "rigid" });
    const found = parts(result.affine);
    const det = found.L[0][0] * found.L[1][1] - found.L[0][1] * found.L[1][0];
    expect(Math.abs(det - 1)).toBeLessThan(1e-12);
    expect(Math.abs(Math.atan2(found.L[1][0], found.L[0][0]) - angle)).toBeLessThan(0.01);
    for (let r = 0; r < 2; r++) expect(Math.abs(found.t[r] - t[r])).toBeLessThan(0.5);
    expect(Number.isNaN(result.report.metricAffine)).toBe(true);
  });

  it("moments-based centring alone recovers a pure translation of an object on a dark background", () => {
    const n = 64;
    const blob = (x: number, y: number) => 200 * Math.exp(-((x - 30) ** 2 / 60 + (y - 28) ** 2 / 30));
    const fixed = createImage(
      Float64Array.from({ length: n * n }, (_, p) => blob(p % n, Math.floor(p / n))),
      [n, n],
    );
    const moving = createImage(
      Float64Array.from({ length: n * n }, (_, p) => blob((p % n) - 4, Math.floor(p / n) + 3)),
      [n, n],
    );
    const result = initialAlignment(fixed, moving, { kind: "rigid", iterations: 0 });
    expect(result.report.centred).toBe(true);
    expect(Math.abs(result.affine[6] - 4)).toBeLessThan(0.05);
    expect(Math.abs(result.affine[7] + 3)).toBeLessThan(0.05);
    expect(result.report.metricCentred).toBeLessThan(result.report.metricIdentity / 10);
  });

  it('"none" returns the identity without touching the images', () => {
    const fixed = createImage(new Float64Array(16 * 16).fill(1), [16, 16]);
    const result = initialAlignment(fixed, fixed, { kind: "none" });
    expect(Array.from(result.affine)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
  });

  it("works on the coarsest level that keeps ≥ 2,048 pixels and ≥ 8 per axis", () => {
    expect(alignmentFactor([221, 257])).toBe(4);
    expect(alignmentFactor([128, 128, 64])).toBe(8);
    expect(alignmentFactor([40, 40])).toBe(1);
  });
});

describe("initial alignment in 3D", () => {
  it("the rigid parametrisation's Jacobian (Euler angles) matches central differences", () => {
    const r = 12;
    const p = rigid(3, r);
    const at = [0.7, -1.9, 2.4, 1, -2, 3];
    const { m, jacobian } = p.evaluate(at);
    // a rotation: RᵀR = I, det 1
    for (let i = 0; i < 3; i++)
      for (let j = 0; j < 3; j++) {
        let dot = 0;
        for (let k = 0; k < 3; k++) dot += m[k * 3 + i] * m[k * 3 + j];
        expect(Math.abs(dot - (i === j ? 1 : 0))).toBeLessThan(1e-14);
      }
    const h = 1e-6;
    for (let q = 0; q < p.count; q++) {
      const plus = p.evaluate(at.map((v, i) => (i === q ? v + h : v))).m;
      const minus = p.evaluate(at.map((v, i) => (i === q ? v - h : v))).m;
      for (let e = 0; e < m.length; e++)
        expect(Math.abs((plus[e] - minus[e]) / (2 * h) - jacobian[e * p.count + q])).toBeLessThan(1e-8);
    }
    const a = affine(3, r);
    expect(Array.from(a.evaluate([r, 0, 0, 0, r, 0, 0, 0, r, 1, 2, 3]).m)).toEqual([
      1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 2, 3,
    ]);
  });

  it("recovers a rotation about a tilted axis and a translation of an anisotropic volume", () => {
    const size = [36, 36, 20];
    const spacing = [1, 1, 1.5];
    const blob3 = (x: number, y: number, z: number) =>
      150 * Math.exp(-((x - 14) ** 2 + (y - 16) ** 2 + (z - 12) ** 2) / 30) +
      110 * Math.exp(-((x - 24) ** 2 + (y - 20) ** 2 + (z - 16) ** 2) / 20) +
      90 * Math.exp(-((x - 18) ** 2 + (y - 26) ** 2 + (z - 10) ** 2) / 16);
    const { m: R } = rigid(3, 1).evaluate([0.06, -0.04, 0.08, 0, 0, 0]);
    const centre = [17.5, 17.5, 14.25];
    const shift = [1.5, -1, 0.75];
    // A x = R (x − centre) + centre + shift; moving(y) = picture(A⁻¹ y) = picture(Rᵀ (y − centre − shift) + centre)
    const fixed = new Float64Array(size[0] * size[1] * size[2]);
    const moving = new Float64Array(fixed.length);
    for (let k = 0; k < size[2]; k++)
      for (let j = 0; j < size[1]; j++)
        for (let i = 0; i < size[0]; i++) {
          const p = i + size[0] * (j + size[1] * k);
          const x = [i * spacing[0], j * spacing[1], k * spacing[2]];
          fixed[p] = blob3(x[0], x[1], x[2]);
          const v = x.map((c, a) => c - centre[a] - shift[a]);
          const back = [0, 1, 2].map((a) => centre[a] + R[a] * v[0] + R[3 + a] * v[1] + R[6 + a] * v[2]);
          moving[p] = blob3(back[0], back[1], back[2]);
        }
    const result = initialAlignment(
      createImage(fixed, size, { spacing }),
      createImage(moving, size, { spacing }),
      {
        kind: "rigid",
      },
    );
    const A = result.affine; // column-major 4×4
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) expect(Math.abs(A[c * 4 + r] - R[r * 3 + c])).toBeLessThan(0.01);
      const t =
        centre[r] + shift[r] - (R[r * 3] * centre[0] + R[r * 3 + 1] * centre[1] + R[r * 3 + 2] * centre[2]);
      expect(Math.abs(A[12 + r] - t)).toBeLessThan(0.3);
    }
  });
});
