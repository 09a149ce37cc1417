/**
 * Vertex normals of the view's grid surface: `positions  #vertices by 3` on n × n vertices (first direction
 * fastest), two triangles (a, a+1, a+n+1) and (a, a+n+1, a+n) per cell as gridLayout makes them. A vertex's
 * normal is the normalised sum of the unnormalised (area-weighted) normals of the triangles around it, as
 * three's computeVertexNormals makes it; each vertex sums its triangles in one fixed order, so the normals of
 * a window equal, bit for bit, those of the whole grid (what a drag step recomputes: the moved vertices and
 * their neighbours, not every vertex).
 */

/** Writes the normals of vertices (i, j), i0 ≤ i ≤ i1, j0 ≤ j ≤ j1 (default: all) into `normals`. */
export function gridNormals(
  positions: ArrayLike<number>,
  n: number,
  normals: Float32Array,
  window: { i0: number; i1: number; j0: number; j1: number } = { i0: 0, i1: n - 1, j0: 0, j1: n - 1 },
): void {
  const sum = [0, 0, 0];
  // adds the normal of triangle (a, b, c): (c − b) × (a − b)
  const add = (a: number, b: number, c: number) => {
    const bx = positions[3 * b];
    const by = positions[3 * b + 1];
    const bz = positions[3 * b + 2];
    const cbx = positions[3 * c] - bx;
    const cby = positions[3 * c + 1] - by;
    const cbz = positions[3 * c + 2] - bz;
    const abx = positions[3 * a] - bx;
    const aby = positions[3 * a + 1] - by;
    const abz = positions[3 * a + 2] - bz;
    sum[0] += cby * abz - cbz * aby;
    sum[1] += cbz * abx - cbx * abz;
    sum[2] += cbx * aby - cby * abx;
  };
  for (let j = Math.max(0, window.j0); j <= Math.min(n - 1, window.j1); j++) {
    for (let i = Math.max(0, window.i0); i <= Math.min(n - 1, window.i1); i++) {
      const v = i + n * j;
      sum[0] = 0;
      sum[1] = 0;
      sum[2] = 0;
      // the cells around the vertex: (i−1, j−1), (i, j−1), (i−1, j), (i, j), those that exist
      if (i > 0 && j > 0) {
        const a = v - n - 1;
        add(a, a + 1, a + n + 1);
        add(a, a + n + 1, a + n);
      }
      if (i < n - 1 && j > 0) {
        const a = v - n;
        add(a, a + n + 1, a + n);
      }
      if (i > 0 && j < n - 1) {
        const a = v - 1;
        add(a, a + 1, a + n + 1);
      }
      if (i < n - 1 && j < n - 1) {
        const a = v;
        add(a, a + 1, a + n + 1);
        add(a, a + n + 1, a + n);
      }
      const length = Math.hypot(sum[0], sum[1], sum[2]) || 1;
      normals[3 * v] = sum[0] / length;
      normals[3 * v + 1] = sum[1] / length;
      normals[3 * v + 2] = sum[2] / length;
    }
  }
}
