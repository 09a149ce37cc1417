/**
 * Tessellation of two-parameter maps into R³: a regular parameter grid, positions, unit normals from
 * S_u × S_v, and two triangles per grid cell.
 */
import { ArgumentError } from "./errors.js";

/** Triangle mesh arrays: `positions, normals  #vertices by 3`, `uvs  #vertices by 2`, `triangles  #triangles by 3`. */
export interface SurfaceMesh {
  positions: Float64Array;
  normals: Float64Array;
  uvs: Float64Array;
  triangles: Uint32Array;
}

/** Anything that gives values and first derivatives (blocks S, S_u, S_v, each 3 numbers) at parameters. */
export type FirstDerivativeEvaluator = (params: Float64Array) => Float64Array;

/**
 * Samples `[lower, upper]` on (segmentsU+1) × (segmentsV+1) vertices, u fastest, and triangulates.
 * Normals fall back to (0, 0, 1) where the surface is degenerate (S_u × S_v = 0).
 */
export function tessellateSurface(
  evaluate: FirstDerivativeEvaluator,
  lower: ArrayLike<number>,
  upper: ArrayLike<number>,
  segmentsU: number,
  segmentsV: number,
): SurfaceMesh {
  for (const [name, s] of [
    ["segmentsU", segmentsU],
    ["segmentsV", segmentsV],
  ] as const) {
    if (!Number.isInteger(s) || s < 1)
      throw new ArgumentError(`${name} must be a positive integer, got ${s}`);
  }
  const nu = segmentsU + 1;
  const nv = segmentsV + 1;
  const uvs = new Float64Array(nu * nv * 2);
  for (let j = 0; j < nv; j++) {
    for (let i = 0; i < nu; i++) {
      const k = j * nu + i;
      uvs[2 * k] = i === segmentsU ? upper[0] : lower[0] + ((upper[0] - lower[0]) * i) / segmentsU;
      uvs[2 * k + 1] = j === segmentsV ? upper[1] : lower[1] + ((upper[1] - lower[1]) * j) / segmentsV;
    }
  }
  const D = evaluate(uvs);
  const count = nu * nv;
  const positions = new Float64Array(count * 3);
  const normals = new Float64Array(count * 3);
  for (let k = 0; k < count; k++) {
    const b = k * 9;
    positions[3 * k] = D[b];
    positions[3 * k + 1] = D[b + 1];
    positions[3 * k + 2] = D[b + 2];
    const nx = D[b + 4] * D[b + 8] - D[b + 5] * D[b + 7];
    const ny = D[b + 5] * D[b + 6] - D[b + 3] * D[b + 8];
    const nz = D[b + 3] * D[b + 7] - D[b + 4] * D[b + 6];
    const length = Math.hypot(nx, ny, nz);
    if (length > 0) {
      normals[3 * k] = nx / length;
      normals[3 * k + 1] = ny / length;
      normals[3 * k + 2] = nz / length;
    } else normals[3 * k + 2] = 1;
  }
  const triangles = new Uint32Array(segmentsU * segmentsV * 6);
  let t = 0;
  for (let j = 0; j < segmentsV; j++) {
    for (let i = 0; i < segmentsU; i++) {
      const a = j * nu + i;
      triangles[t++] = a;
      triangles[t++] = a + 1;
      triangles[t++] = a + nu + 1;
      triangles[t++] = a;
      triangles[t++] = a + nu + 1;
      triangles[t++] = a + nu;
    }
  }
  return { positions, normals, uvs, triangles };
}
