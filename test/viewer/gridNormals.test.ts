/**
 * The viewer's grid normals: over the whole grid they are three's computeVertexNormals (to float32
 * rounding) on the grid's triangles; over a window they are, bit for bit, the whole grid's there, and the
 * vertices outside the window are left as they were.
 */
import { BufferAttribute, BufferGeometry } from "three/webgpu";
import { describe, expect, it } from "vitest";
import { gridNormals } from "../../viewer/gridNormals.js";
import { seededRandom } from "../helpers/random.js";

/** n × n vertices of a wavy sheet with random jitter, and the triangles gridLayout makes. */
function sheet(n: number, seed: number): { positions: Float32Array; indices: Uint32Array } {
  const rand = seededRandom(seed);
  const positions = new Float32Array(n * n * 3);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++)
      positions.set(
        [
          i / n + 0.01 * rand(),
          j / n + 0.01 * rand(),
          0.3 * Math.sin((5 * i) / n) * Math.cos((3 * j) / n) + 0.02 * rand(),
        ],
        3 * (i + n * j),
      );
  const indices: number[] = [];
  for (let j = 0; j + 1 < n; j++)
    for (let i = 0; i + 1 < n; i++) {
      const a = i + n * j;
      indices.push(a, a + 1, a + n + 1, a, a + n + 1, a + n);
    }
  return { positions, indices: Uint32Array.from(indices) };
}

describe("viewer grid normals", () => {
  it("equal three's computeVertexNormals on the grid's triangles", () => {
    const n = 17;
    const { positions, indices } = sheet(n, 4);
    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new BufferAttribute(positions, 3));
    geometry.setIndex(new BufferAttribute(indices, 1));
    geometry.computeVertexNormals();
    const expected = geometry.getAttribute("normal").array as Float32Array;
    const normals = new Float32Array(n * n * 3);
    gridNormals(positions, n, normals);
    let worst = 0;
    for (let k = 0; k < normals.length; k++) worst = Math.max(worst, Math.abs(normals[k] - expected[k]));
    expect(worst).toBeLessThan(1e-6);
  });

  it("over a window, equal the whole grid's there bit for bit and leave the rest", () => {
    const n = 21;
    const rand = seededRandom(9);
    for (let trial = 0; trial < 20; trial++) {
      const { positions } = sheet(n, trial);
      const whole = new Float32Array(n * n * 3);
      gridNormals(positions, n, whole);
      const i0 = Math.floor(rand() * n) - 1;
      const j0 = Math.floor(rand() * n) - 1;
      const window = { i0, i1: i0 + Math.floor(rand() * 6), j0, j1: j0 + Math.floor(rand() * 6) };
      const partial = new Float32Array(n * n * 3).fill(7);
      gridNormals(positions, n, partial, window);
      for (let j = 0; j < n; j++) {
        for (let i = 0; i < n; i++) {
          const inside = i >= window.i0 && i <= window.i1 && j >= window.j0 && j <= window.j1;
          for (let k = 0; k < 3; k++) {
            const at = 3 * (i + n * j) + k;
            expect(partial[at]).toBe(inside ? whole[at] : 7);
          }
        }
      }
    }
  });
});
