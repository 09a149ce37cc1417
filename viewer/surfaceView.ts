/**
 * The three.js objects that show a field: the shaded surface, its element mesh coloured by level, the
 * control points of the active functions, and a point cloud coloured by its error to the surface.
 */
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  DoubleSide,
  Group,
  IcosahedronGeometry,
  InstancedMesh,
  LineBasicMaterial,
  LineSegments,
  Matrix4,
  Mesh,
  MeshBasicMaterial,
  MeshStandardMaterial,
} from "three/webgpu";
import type { PointCloud, THBField } from "../index.js";
import { levelColor } from "./levelColors.js";
import { elementEdges, tessellate, toPositions } from "./surfaceGeometry.js";

/** What a field looks like on screen; `dispose()` frees its GPU buffers. */
export interface SurfaceView {
  readonly group: Group;
  /** The shaded surface (the pick target); its `uv` attribute holds the parameters (u, v). */
  readonly surface: Mesh;
  readonly controlPoints: InstancedMesh;
  dispose(): void;
}

/** Spheres of radius `radius` at `positions  #points by 3`, coloured per point (`colors  #points by 3`). */
export function pointSpheres(
  positions: ArrayLike<number>,
  colors: Float32Array,
  radius: number,
): InstancedMesh {
  const count = positions.length / 3;
  const mesh = new InstancedMesh(
    new IcosahedronGeometry(radius, 1),
    new MeshBasicMaterial({ color: 0xffffff }),
    count,
  );
  const m = new Matrix4();
  const c = new Color();
  for (let i = 0; i < count; i++) {
    m.makeTranslation(positions[3 * i], positions[3 * i + 1], positions[3 * i + 2]);
    mesh.setMatrixAt(i, m);
    mesh.setColorAt(i, c.setRGB(colors[3 * i], colors[3 * i + 1], colors[3 * i + 2]));
  }
  return mesh;
}

/** Grid segments per direction of the shaded surface (and of the OBJ and glTF exports). */
export const SEGMENTS = 160;

/** A field's surface, element mesh and control points; `size` is the scene's diagonal (sets sphere radii). */
export function createSurfaceView(field: THBField, size: number): SurfaceView {
  const group = new Group();
  const grid = tessellate(field, SEGMENTS);
  const geometry = new BufferGeometry();
  geometry.setAttribute("position", new BufferAttribute(Float32Array.from(grid.positions), 3));
  geometry.setAttribute("uv", new BufferAttribute(Float32Array.from(grid.params), 2));
  geometry.setIndex(new BufferAttribute(grid.indices, 1));
  geometry.computeVertexNormals();
  const surface = new Mesh(
    geometry,
    new MeshStandardMaterial({
      color: 0xb9c3cf,
      roughness: 0.55,
      metalness: 0.1,
      side: DoubleSide,
      polygonOffset: true,
      polygonOffsetFactor: 1,
      polygonOffsetUnits: 1,
    }),
  );
  group.add(surface);

  const edges = elementEdges(field, 8);
  const edgeGeometry = new BufferGeometry();
  edgeGeometry.setAttribute("position", new BufferAttribute(Float32Array.from(edges.positions), 3));
  const edgeColors = new Float32Array(edges.positions.length);
  const c = new Color();
  for (let s = 0; s < edges.levels.length; s++) {
    c.setHex(levelColor(edges.levels[s]));
    for (const offset of [6 * s, 6 * s + 3]) c.toArray(edgeColors, offset);
  }
  edgeGeometry.setAttribute("color", new BufferAttribute(edgeColors, 3));
  group.add(new LineSegments(edgeGeometry, new LineBasicMaterial({ vertexColors: true })));

  const plan = field.plan;
  const params = new Float64Array(2 * plan.functionCount);
  const controlColors = new Float32Array(3 * plan.functionCount);
  for (let f = 0; f < plan.functionCount; f++) {
    c.setHex(levelColor(plan.functionLevel[f])).toArray(controlColors, 3 * f);
  }
  // control points of surfaces (and of flat 2D maps) show where they are; a height field's are values, not
  // points, so none are drawn
  const controlPositions =
    field.dim >= 2 ? toPositions(field.control, params, field.dim) : new Float32Array(0);
  const controlPoints = pointSpheres(controlPositions, controlColors, size * 0.004);
  controlPoints.visible = false;
  group.add(controlPoints);

  const dispose = () => {
    group.traverse((object) => {
      const o = object as Partial<Mesh>;
      o.geometry?.dispose();
      const material = o.material;
      for (const m of Array.isArray(material) ? material : material ? [material] : []) m.dispose();
    });
    controlPoints.dispose();
  };
  return { group, surface, controlPoints, dispose };
}

/**
 * The distance of every cloud point to the surface: at its own parameters when the cloud has them (inside
 * the domain), otherwise to the nearest vertex of `grid  #vertices by 3` (an upper bound, exact up to the
 * tessellation's spacing).
 */
export function pointErrors(field: THBField, cloud: PointCloud, grid: Float32Array): Float64Array {
  const n = cloud.points.length / 3;
  const errors = new Float64Array(n);
  const params = cloud.params;
  const lo = field.space.lower;
  const hi = field.space.upper;
  let inside = params !== undefined && field.dim === 3;
  for (let i = 0; inside && params && i < n; i++) {
    for (let k = 0; k < 2; k++) {
      const t = params[2 * i + k];
      if (!(t >= lo[k] && t <= hi[k])) inside = false;
    }
  }
  if (inside && params) {
    const values = field.evaluate(params, 0);
    for (let i = 0; i < n; i++) {
      errors[i] = Math.hypot(
        values[3 * i] - cloud.points[3 * i],
        values[3 * i + 1] - cloud.points[3 * i + 1],
        values[3 * i + 2] - cloud.points[3 * i + 2],
      );
    }
    return errors;
  }
  for (let i = 0; i < n; i++) {
    let best = Infinity;
    const x = cloud.points[3 * i];
    const y = cloud.points[3 * i + 1];
    const z = cloud.points[3 * i + 2];
    for (let v = 0; v < grid.length; v += 3) {
      const d = (grid[v] - x) ** 2 + (grid[v + 1] - y) ** 2 + (grid[v + 2] - z) ** 2;
      if (d < best) best = d;
    }
    errors[i] = Math.sqrt(best);
  }
  return errors;
}
