/**
 * DisplacementTransform with an initial affine A (T(x) = A(x + u(x))) on a rotated, anisotropic fixed grid:
 * the exact Jacobian (full matrix and determinant, det A included) against central differences of
 * mapPoints; the Newton inverse against the forward map; apply against sampling by hand through mapPoints
 * (linear on a linear image, nearest keeping label values); transform.json round trips bit for bit and
 * version-1 files (no affine) still load as A = I.
 */
import { describe, expect, it } from "vitest";
import { DisplacementTransform } from "../../fields/displacementTransform.js";
import { createImage, indexToPhysical, physicalToIndex, transformPoints } from "../../fields/image.js";
import { transformFromJson, transformToJson } from "../../io/transformJson.js";
import { seededRandom } from "../helpers/random.js";
import { randomField } from "./helpers.js";

const angle = 0.3;
const geometry = {
  size: [21, 17],
  spacing: [1.5, 2],
  origin: [5, -3],
  direction: [Math.cos(angle), Math.sin(angle), -Math.sin(angle), Math.cos(angle)],
};
const extent = [20 * 1.5, 16 * 2];
/** A = rotation by 0.2 rad, scales 1.1 and 0.9, a shear and a translation; column-major 3×3. */
const affine = [
  1.1 * Math.cos(0.2),
  0.9 * Math.sin(0.2) + 0.05,
  0,
  -1.1 * Math.sin(0.2),
  0.9 * Math.cos(0.2),
  0,
  4,
  -2.5,
  1,
];
const detA = affine[0] * affine[4] - affine[3] * affine[1];

function transform(amplitude: number): DisplacementTransform {
  return new DisplacementTransform(geometry, randomField(extent, amplitude, 11), affine);
}

/** Physical points of every pixel of the fixed grid. */
function pixelPoints(): Float64Array {
  return transformPoints(
    indexToPhysical(geometry),
    Float64Array.from({ length: 21 * 17 * 2 }, (_, i) =>
      i % 2 === 0 ? (i / 2) % 21 : Math.floor(i / 2 / 21),
    ),
  );
}

function insidePoints(count: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  const index = Float64Array.from(
    { length: 2 * count },
    (_, i) => (0.05 + 0.9 * rand()) * (geometry.size[i % 2] - 1),
  );
  return transformPoints(indexToPhysical(geometry), index);
}

describe("DisplacementTransform with an affine", () => {
  it("jacobian and jacobianDeterminant (det A included) match central differences of mapPoints", () => {
    const t = transform(1.5);
    const det = t.jacobianDeterminant();
    const J = t.jacobian();
    const pixels = pixelPoints();
    const h = 1e-5;
    let worst = 0;
    let worstDet = 0;
    let spread = 0;
    for (let p = 0; p < 21 * 17; p++) {
      const i = p % 21;
      const j = Math.floor(p / 21);
      if (i === 0 || j === 0 || i === 20 || j === 16) continue; // one-sided at the domain's edge
      const [x, y] = [pixels[2 * p], pixels[2 * p + 1]];
      const m = t.mapPoints([x + h, y, x - h, y, x, y + h, x, y - h]);
      // fd[k][j] = ∂T_k/∂x_j
      const fd = [
        (m[0] - m[2]) / (2 * h),
        (m[4] - m[6]) / (2 * h),
        (m[1] - m[3]) / (2 * h),
        (m[5] - m[7]) / (2 * h),
      ];
      for (let e = 0; e < 4; e++) worst = Math.max(worst, Math.abs(fd[e] - J[4 * p + e]));
      worstDet = Math.max(worstDet, Math.abs(fd[0] * fd[3] - fd[1] * fd[2] - det[p]));
      spread = Math.max(spread, Math.abs(det[p] / detA - 1));
    }
    expect(spread).toBeGreaterThan(0.1); // the field really deforms
    expect(worst).toBeLessThan(1e-7);
    expect(worstDet).toBeLessThan(1e-7);
    // far from the field's support scale: with u = 0 the determinant is det A exactly
    const rigidOnly = new DisplacementTransform(geometry, randomField(extent, 0, 11), affine);
    for (const v of rigidOnly.jacobianDeterminant()) expect(v).toBeCloseTo(detA, 14);
  });

  it("inverseMapPoints inverts mapPoints both ways to 1e-9 mm", () => {
    const t = transform(1.2);
    expect(Math.min(...t.jacobianDeterminant())).toBeGreaterThan(0);
    const x = insidePoints(200, 3);
    const back = t.inverseMapPoints(t.mapPoints(x));
    for (let i = 0; i < x.length; i++) expect(Math.abs(back[i] - x[i])).toBeLessThan(1e-9);
    // targets: images of inside points under A only (so their preimages lie in the domain)
    const y = t.mapPoints(insidePoints(200, 4));
    const forth = t.mapPoints(t.inverseMapPoints(y));
    for (let i = 0; i < y.length; i++) expect(Math.abs(forth[i] - y[i])).toBeLessThan(1e-9);
  });

  it("apply samples the moving image at A(x + u(x)): linear exact on a linear image, nearest keeps labels", () => {
    const t = transform(1);
    const size = [80, 80];
    const spacing = [1.2, 1.2];
    const origin = [-30, -30];
    const values = new Float64Array(80 * 80);
    const labels = new Uint8Array(80 * 80);
    const palette = [0, 3, 7, 250];
    for (let j = 0; j < 80; j++) {
      for (let i = 0; i < 80; i++) {
        values[i + 80 * j] = 2 * (-30 + 1.2 * i) - (-30 + 1.2 * j) + 7;
        labels[i + 80 * j] = palette[(Math.floor(i / 7) + 3 * Math.floor(j / 5)) % 4];
      }
    }
    const moving = createImage(values, size, { spacing, origin });
    const labelImage = createImage(labels, size, { spacing, origin });
    const mapped = t.mapPoints(pixelPoints());
    const warped = t.apply(moving, "linear");
    for (let p = 0; p < 21 * 17; p++) {
      const expected = 2 * mapped[2 * p] - mapped[2 * p + 1] + 7;
      expect(Math.abs(warped.data[p] - expected)).toBeLessThan(1e-9);
    }
    const warpedLabels = t.apply(labelImage, "nearest");
    expect(warpedLabels.data).toBeInstanceOf(Uint8Array);
    const index = transformPoints(physicalToIndex(labelImage), mapped);
    const seen = new Set<number>();
    for (let p = 0; p < 21 * 17; p++) {
      const i = Math.min(79, Math.max(0, Math.round(index[2 * p])));
      const j = Math.min(79, Math.max(0, Math.round(index[2 * p + 1])));
      expect(warpedLabels.data[p]).toBe(labels[i + 80 * j]);
      seen.add(warpedLabels.data[p]);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(palette);
  });

  it("transform.json round trips bit for bit; version-1 files without an affine load with A = I", () => {
    const t = transform(1);
    const text = transformToJson(t);
    const again = transformFromJson(text, "t.json");
    expect(transformToJson(again)).toBe(text);
    expect(Array.from(again.affine)).toEqual(affine);
    const x = insidePoints(50, 9);
    expect(Array.from(again.mapPoints(x))).toEqual(Array.from(t.mapPoints(x)));
    expect(Array.from(again.inverseMapPoints(x))).toEqual(Array.from(t.inverseMapPoints(x)));
    const old = JSON.parse(text);
    old.version = 1;
    delete old.affine;
    const legacy = transformFromJson(JSON.stringify(old), "old.json");
    expect(legacy.hasAffine).toBe(false);
    const plain = new DisplacementTransform(geometry, t.field);
    expect(Array.from(legacy.mapPoints(x))).toEqual(Array.from(plain.mapPoints(x)));
    const bad = (patch: Record<string, unknown>) =>
      transformFromJson(JSON.stringify({ ...JSON.parse(text), ...patch }), "t.json");
    expect(() => bad({ affine: [1, 0, 0] })).toThrow(
      /t\.json: "affine" must be an array of 9 finite numbers/,
    );
    expect(() => bad({ affine: [1, 0, 0, 0, 1, 0, 0, 0, 2] })).toThrow(
      /t\.json: .*affine's last row must be/,
    );
    expect(() => bad({ affine: [0, 0, 0, 0, 0, 0, 0, 0, 1] })).toThrow(/t\.json: affine must be invertible/);
    expect(() => bad({ version: 3 })).toThrow(/t\.json: "version" must be 1 or 2, got 3/);
    expect(() => bad({ version: 1 })).toThrow(/t\.json: "affine" needs "version" 2/);
  });
});
