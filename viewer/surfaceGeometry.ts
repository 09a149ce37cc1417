/**
 * Geometry of a THB field for display: the shaded surface tessellated on a regular parameter grid through
 * the project's grid evaluation (thbOps(plan).evaluateGrid, on the CPU), and the element edges sampled on the
 * surface. Fields of dimension 1 show as height fields z(u, v), of dimension 2 as flat maps in the plane.
 */
import { Tensor, type THBField, thbGrid, thbOps } from "../index.js";

/**
 * A tessellated surface: `values  #vertices by dim` (the field on the grid), `positions  #vertices by 3`,
 * `params  #vertices by 2`, `indices  #triangles by 3`.
 */
export interface SurfaceGrid {
  values: ArrayLike<number>;
  positions: Float64Array;
  params: Float64Array;
  indices: Uint32Array;
}

/**
 * The view's parameter grid: `segments + 1` points per direction from the domain's lower corner (first
 * direction fastest), `params  #vertices by 2`, and its triangles `indices  #triangles by 3`.
 */
export function gridLayout(
  field: THBField,
  segments: number,
): { lower: number[]; spacing: number[]; counts: number[]; params: Float64Array; indices: Uint32Array } {
  const lower = Array.from(field.space.lower);
  const upper = Array.from(field.space.upper);
  const n = segments + 1;
  const spacing = upper.map((u, k) => (u - lower[k]) / segments);
  const params = new Float64Array(2 * n * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      // the grid kernels' points, origin + spacing · index, with rounding past the end clamped onto it
      params[2 * (i + n * j)] = Math.min(lower[0] + spacing[0] * i, upper[0]);
      params[2 * (i + n * j) + 1] = Math.min(lower[1] + spacing[1] * j, upper[1]);
    }
  }
  const indices = new Uint32Array(segments * segments * 6);
  let t = 0;
  for (let j = 0; j < segments; j++) {
    for (let i = 0; i < segments; i++) {
      const a = i + n * j;
      indices.set([a, a + 1, a + n + 1, a, a + n + 1, a + n], t);
      t += 6;
    }
  }
  return { lower, spacing, counts: [n, n], params, indices };
}

/** Maps field values `#points by dim` at `params  #points by 2` to 3D points `#points by 3`. */
export function toPositions(values: ArrayLike<number>, params: ArrayLike<number>, dim: number): Float64Array {
  const n = params.length / 2;
  const out = new Float64Array(n * 3);
  for (let i = 0; i < n; i++) {
    if (dim === 1) {
      out[3 * i] = params[2 * i];
      out[3 * i + 1] = params[2 * i + 1];
      out[3 * i + 2] = values[i];
    } else {
      for (let k = 0; k < Math.min(dim, 3); k++) out[3 * i + k] = values[dim * i + k];
    }
  }
  return out;
}

/**
 * The field's values at a few points `params  #points by 2`: `#points by dim`. Evaluated with first
 * derivatives, whose path reads the elements' control points where they are; the values-only path of a
 * surface first copies every element's control points into per-level grids, a sweep over all elements that
 * costs more than a few hundred points (the edges of new elements, the vertices a drag moves).
 */
export function valuesAt(field: THBField, params: Float64Array): Float64Array {
  const count = params.length / 2;
  if (count === 0) return new Float64Array(0);
  const withDerivatives = field.evaluate(params, 1);
  const blocks = withDerivatives.length / (count * field.dim); // the value, then the derivatives
  const dim = field.dim;
  const values = new Float64Array(count * dim);
  for (let i = 0; i < count; i++)
    for (let k = 0; k < dim; k++) values[i * dim + k] = withDerivatives[i * blocks * dim + k];
  return values;
}

/** Tessellates a surface field on `segments + 1` grid points per direction (the CPU grid kernel). */
export function tessellate(field: THBField, segments: number): SurfaceGrid {
  const plan = field.plan;
  const lower = Array.from(field.space.lower);
  const upper = Array.from(field.space.upper);
  const n = segments + 1;
  const grid = thbGrid(
    plan,
    lower,
    upper.map((u, k) => (u - lower[k]) / segments),
    [n, n],
  );
  const control = new Tensor(field.control, [field.space.size, field.dim]);
  const values = thbOps(plan).evaluateGrid(control, grid).toArray();
  const params = Float64Array.from(grid.points.toArray());
  const positions = toPositions(values, params, field.dim);
  const indices = new Uint32Array(segments * segments * 6);
  let t = 0;
  for (let j = 0; j < segments; j++) {
    for (let i = 0; i < segments; i++) {
      const a = i + n * j;
      indices.set([a, a + 1, a + n + 1, a, a + n + 1, a + n], t);
      t += 6;
    }
  }
  return { values, positions, params, indices };
}

/** The active element containing parameter (u, v), as a refinement request, or undefined outside. */
export function elementAtParameter(
  field: THBField,
  u: number,
  v: number,
): { level: number; cell: number[] } | undefined {
  const plan = field.plan;
  const b = plan.elementBox;
  for (let e = 0; e < plan.elementCount; e++) {
    if (u >= b[4 * e] && u <= b[4 * e + 2] && v >= b[4 * e + 1] && v <= b[4 * e + 3]) {
      return { level: plan.elementLevel[e], cell: [plan.elementCell[2 * e], plan.elementCell[2 * e + 1]] };
    }
  }
  return undefined;
}
