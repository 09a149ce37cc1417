import { describe, expect, it } from "vitest";
import { reduceThreads } from "../../kernels/webgpu/wgsl.js";

describe("threads per element of the GPU reduction", () => {
  const bicubic = { d: 2, degrees: [3, 3], dim: 3 };
  const tricubic = { d: 3, degrees: [3, 3, 3], dim: 3 };
  it("keeps the asked count while the padded partials fit 16 KiB, else halves it until they do", () => {
    expect(reduceThreads(bicubic)).toBe(32);
    expect(reduceThreads(bicubic, 64)).toBe(64); // 65 × 48 floats = 12.2 KiB
    expect(reduceThreads(tricubic)).toBe(16); // 33 × 192 floats = 24.8 KiB; 17 × 192 = 12.8 KiB
    expect(reduceThreads(tricubic, 48)).toBe(12); // 49, 25 rows too many; 13 × 192 floats = 9.8 KiB
    for (const v of [bicubic, tricubic])
      for (const asked of [1, 7, 32, 64, 256]) {
        const threads = reduceThreads(v, asked);
        expect((threads + 1) * v.degrees.reduce((a, p) => a * (p + 1), 1) * v.dim * 4).toBeLessThanOrEqual(
          16384,
        );
        expect(Number.isInteger(threads) && threads >= 1 && threads <= asked).toBe(true);
      }
  });
  it("refuses counts that are not whole or not from 1 to 256", () => {
    for (const bad of [0, -4, 2.5, 257, Number.NaN])
      expect(() => reduceThreads(bicubic, bad)).toThrow(RangeError);
  });
});
