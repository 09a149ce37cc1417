/**
 * DisplacementTransform on a rotated, anisotropic fixed grid: the exact Jacobian against finite differences
 * of mapPoints, the Newton inverse against the forward map, apply against sampling by hand, JSON round trip.
 */
import { describe, expect, it } from "vitest";
import { DisplacementTransform } from "../../fields/displacementTransform.js";
import { createImage, indexToPhysical, transformPoints } from "../../fields/image.js";
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

function transform(amplitude: number): DisplacementTransform {
  return new DisplacementTransform(geometry, randomField(extent, amplitude, 11));
}

/** Physical points strictly inside the fixed grid. */
function insidePoints(count: number, seed: number): Float64Array {
  const rand = seededRandom(seed);
  const index = Float64Array.from(
    { length: 2 * count },
    (_, i) => (0.05 + 0.9 * rand()) * (geometry.size[i % 2] - 1),
  );
  return transformPoints(indexToPhysical(geometry), index);
}

describe("DisplacementTransform", () => {
  it("jacobianDeterminant matches central differences of mapPoints at every pixel", () => {
    const t = transform(1.5);
    const det = t.jacobianDeterminant();
    const pixels = transformPoints(
      indexToPhysical(geometry),
      Float64Array.from({ length: 21 * 17 * 2 }, (_, i) =>
        i % 2 === 0 ? (i / 2) % 21 : Math.floor(i / 2 / 21),
      ),
    );
    const h = 1e-5;
    let worst = 0;
    let spread = 0;
    for (let p = 0; p < 21 * 17; p++) {
      const [x, y] = [pixels[2 * p], pixels[2 * p + 1]];
      const i = p % 21;
      const j = Math.floor(p / 21);
      if (i === 0 || j === 0 || i === 20 || j === 16) continue; // one-sided at the domain's edge
      const m = t.mapPoints([x + h, y, x - h, y, x, y + h, x, y - h]);
      const J = [
        (m[0] - m[2]) / (2 * h),
        (m[1] - m[3]) / (2 * h),
        (m[4] - m[6]) / (2 * h),
        (m[5] - m[7]) / (2 * h),
      ];
      const fd = J[0] * J[3] - J[1] * J[2];
      worst = Math.max(worst, Math.abs(fd - det[p]));
      spread = Math.max(spread, Math.abs(det[p] - 1));
    }
    expect(spread).toBeGreaterThan(0.1); // the field really deforms
    expect(worst).toBeLessThan(1e-7);
  });

  it("inverseMapPoints inverts mapPoints (both ways) to 1e-9 mm", () => {
    const t = transform(1.2);
    expect(Math.min(...t.jacobianDeterminant())).toBeGreaterThan(0);
    const x = insidePoints(200, 3);
    const back = t.inverseMapPoints(t.mapPoints(x));
    const y = insidePoints(200, 4);
    const forth = t.mapPoints(t.inverseMapPoints(y));
    let moved = 0;
    const mapped = t.mapPoints(x);
    for (let i = 0; i < x.length; i++) {
      expect(Math.abs(back[i] - x[i])).toBeLessThan(1e-9);
      expect(Math.abs(forth[i] - y[i])).toBeLessThan(1e-9);
      moved = Math.max(moved, Math.abs(mapped[i] - x[i]));
    }
    expect(moved).toBeGreaterThan(0.5);
  });

  it("apply samples the moving image at x + u(x) (linear: exact on a linear image)", () => {
    const t = transform(1);
    // a moving image whose values are a linear function of the physical point: v = 2 x − y + 7
    const moving = createImage(new Float64Array(60 * 60), [60, 60], {
      spacing: [1.2, 1.2],
      origin: [-20, -20],
    });
    const m = moving.data as Float64Array;
    for (let j = 0; j < 60; j++)
      for (let i = 0; i < 60; i++) m[i + 60 * j] = 2 * (-20 + 1.2 * i) - (-20 + 1.2 * j) + 7;
    const warped = t.apply(moving, "linear");
    const pixels = transformPoints(
      indexToPhysical(geometry),
      Float64Array.from({ length: 21 * 17 * 2 }, (_, i) =>
        i % 2 === 0 ? (i / 2) % 21 : Math.floor(i / 2 / 21),
      ),
    );
    const mapped = t.mapPoints(pixels);
    for (let p = 0; p < 21 * 17; p++) {
      const expected = 2 * mapped[2 * p] - mapped[2 * p + 1] + 7;
      expect(Math.abs(warped.data[p] - expected)).toBeLessThan(1e-9);
    }
  });

  it("survives a JSON round trip unchanged", () => {
    const t = transform(1);
    const again = transformFromJson(transformToJson(t), "t.json");
    const x = insidePoints(50, 9);
    expect(Array.from(again.mapPoints(x))).toEqual(Array.from(t.mapPoints(x)));
    expect(again.fixed).toEqual(t.fixed);
    expect(() => transformFromJson('{"format":"thbspline-field"}', "t.json")).toThrow(
      /t\.json: "format" must be/,
    );
  });
});
