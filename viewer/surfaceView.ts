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
  InstancedBufferAttribute,
  InstancedMesh,
  LineBasicMaterial,
  Matrix4,
  Mesh,
  MeshBasicMaterial,
  MeshStandardMaterial,
} from "three/webgpu";
import type { PointCloud, THBField } from "../index.js";
import { ElementMesh } from "./elementMesh.js";
import { gridNormals } from "./gridNormals.js";
import { levelColor } from "./levelColors.js";
import { gridLayout, tessellate, toPositions, valuesAt } from "./surfaceGeometry.js";

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

/**
 * Values of a field on the view's grid (`SEGMENTS + 1` points per direction from the domain's lower corner,
 * first direction fastest): `#vertices by dim`. The CPU one is the grid kernel of thbOps; the page passes
 * the WebGPU backend's evaluateGrid when it has a device.
 */
export type GridTessellator = (field: THBField, segments: number) => Promise<ArrayLike<number>>;

/** How the field shown next differs from the one shown now. */
export type FieldChange =
  /** another surface (a file, undo or redo across a refinement, a fit level, a coarsening) */
  | { kind: "new" }
  /** the same function in a refined space (exact carry-over: the shape did not move) */
  | { kind: "refined" }
  /** the same plan, with the control points of `ids` moved */
  | { kind: "control"; ids: readonly number[] };

/** What a field looks like on screen; `dispose()` frees its GPU buffers. */
export interface SurfaceView {
  readonly group: Group;
  /** The shaded surface (the pick target); its `uv` attribute holds the parameters (u, v). */
  readonly surface: Mesh;
  /**
   * The control points of the field shown (replaced when the number of functions changes); while hidden
   * they are brought up to date when shown again (setControlPointsVisible).
   */
  readonly controlPoints: InstancedMesh;
  /** Shows or hides the control points (updating them first when they are shown). */
  setControlPointsVisible(visible: boolean): void;
  /** The field shown. */
  readonly field: THBField;
  /** Which grid kernel tessellated the whole surface last: "cpu" or "webgpu" (drag steps: see updateVertices). */
  readonly tessellatedBy: string;
  /** Shows `field`, redoing only what `change` can have changed. */
  show(field: THBField, change: FieldChange): Promise<void>;
  dispose(): void;
}

/** refinedFrom.get(f): the field f was refined from (exactly: the same surface in a finer space). */
const refinedFrom = new WeakMap<THBField, THBField>();

/** Notes that `refined` is `field` carried over exactly into a finer space (so the surface did not move). */
export function noteRefinement(field: THBField, refined: THBField): void {
  refinedFrom.set(refined, field);
}

/** The functions whose control points differ between two fields of the same plan. */
function changedRows(a: THBField, b: THBField): number[] {
  const ids: number[] = [];
  const dim = a.dim;
  for (let f = 0; f < a.plan.functionCount; f++) {
    for (let k = 0; k < dim; k++) {
      if (a.control[f * dim + k] !== b.control[f * dim + k]) {
        ids.push(f);
        break;
      }
    }
  }
  return ids;
}

/** The CPU grid kernel (thbOps(plan).evaluateGrid, f64). */
export const cpuTessellator: GridTessellator = async (field, segments) => {
  const grid = tessellate(field, segments);
  return grid.values;
};

/**
 * A view of `field`: the surface tessellated by `tessellator` (named `tessellatorName` in the readout), the
 * element mesh, the control points; `size` is the scene's diagonal (sets sphere radii).
 */
export async function createSurfaceView(
  field: THBField,
  size: number,
  tessellator: GridTessellator,
  tessellatorName: string,
): Promise<SurfaceView> {
  const group = new Group();
  const n = SEGMENTS + 1;
  const grid = gridLayout(field, SEGMENTS);
  const positionArray = new Float32Array(n * n * 3);
  const geometry = new BufferGeometry();
  const positionAttribute = new BufferAttribute(positionArray, 3);
  geometry.setAttribute("position", positionAttribute);
  const normalArray = new Float32Array(n * n * 3);
  const normalAttribute = new BufferAttribute(normalArray, 3);
  geometry.setAttribute("normal", normalAttribute);
  geometry.setAttribute("uv", new BufferAttribute(Float32Array.from(grid.params), 2));
  geometry.setIndex(new BufferAttribute(grid.indices, 1));
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
  // the surface fills the view; its bounds, redone over every vertex after each drag step, cost more than
  // drawing it (they are recomputed when asked for: picking, framing)
  surface.frustumCulled = false;
  // whether a whole upload of the vertices and normals is asked for and not yet drawn
  let wholePending = false;
  surface.onAfterRender = () => {
    wholePending = false;
  };
  group.add(surface);
  const edges = new ElementMesh(new LineBasicMaterial({ vertexColors: true }));
  group.add(edges.lines);
  // one sphere and one material for every control-point mesh, and instance buffers with room to spare: a
  // refinement writes its points into them (a new mesh and material per click cost three a new render
  // object and pipeline each time)
  const sphere = new IcosahedronGeometry(size * 0.004, 1);
  const sphereMaterial = new MeshBasicMaterial({ color: 0xffffff });
  let controlPoints = instancedPoints(sphere, sphereMaterial, 0);
  controlPoints.visible = false;
  group.add(controlPoints);
  // whether the hidden control points lag behind the field shown (they are redone when shown: a click at
  // 10,000 functions does not rewrite and upload 10,000 instances nobody sees)
  let controlPointsStale = true;
  let shown = field;
  let tessellatedBy = tessellatorName;
  let pending = Promise.resolve();
  const queued: { target: THBField; change: FieldChange }[] = [];

  const writePositions = (values: ArrayLike<number>, dim: number) => {
    const points = toPositions(values, grid.params, dim);
    positionArray.set(points);
  };

  /**
   * Re-evaluates the grid vertices inside the given elements, where moved control points move the surface:
   * a few hundred points, on the CPU through the field's local control points, whichever kernel tessellates
   * whole surfaces (a GPU round trip per drag step, dispatch and read-back, costs more than those points).
   */
  const updateVertices = (
    target: THBField,
    elements: Iterable<number>,
  ): { i0: number; i1: number; j0: number; j1: number } | undefined => {
    const plan = target.plan;
    const box = plan.elementBox;
    const [lu, lv] = grid.lower;
    const [hu, hv] = grid.spacing;
    const vertices: number[] = [];
    const seen = new Uint8Array(n * n);
    const window = { i0: n, i1: -1, j0: n, j1: -1 };
    for (const e of elements) {
      const i0 = Math.max(0, Math.ceil((box[4 * e] - lu) / hu - 1e-9));
      const i1 = Math.min(n - 1, Math.floor((box[4 * e + 2] - lu) / hu + 1e-9));
      const j0 = Math.max(0, Math.ceil((box[4 * e + 1] - lv) / hv - 1e-9));
      const j1 = Math.min(n - 1, Math.floor((box[4 * e + 3] - lv) / hv + 1e-9));
      if (i0 > i1 || j0 > j1) continue;
      window.i0 = Math.min(window.i0, i0);
      window.i1 = Math.max(window.i1, i1);
      window.j0 = Math.min(window.j0, j0);
      window.j1 = Math.max(window.j1, j1);
      for (let j = j0; j <= j1; j++) {
        for (let i = i0; i <= i1; i++) {
          const v = i + n * j;
          if (!seen[v]) {
            seen[v] = 1;
            vertices.push(v);
          }
        }
      }
    }
    if (vertices.length === 0) return undefined;
    const params = new Float64Array(2 * vertices.length);
    vertices.forEach((v, k) => {
      params[2 * k] = grid.params[2 * v];
      params[2 * k + 1] = grid.params[2 * v + 1];
    });
    const points = toPositions(valuesAt(target, params), params, target.dim);
    vertices.forEach((v, k) => {
      positionArray[3 * v] = points[3 * k];
      positionArray[3 * v + 1] = points[3 * k + 1];
      positionArray[3 * v + 2] = points[3 * k + 2];
    });
    return window;
  };

  /**
   * Normals (and the upload) after vertices moved: those of the moved vertices' window and its neighbours,
   * sent as the update range of their grid rows; all of them when no window is given.
   */
  const updateNormals = (moved?: { i0: number; i1: number; j0: number; j1: number }) => {
    geometry.boundingSphere = null;
    geometry.boundingBox = null;
    const around = moved && { i0: moved.i0 - 1, i1: moved.i1 + 1, j0: moved.j0 - 1, j1: moved.j1 + 1 };
    gridNormals(positionArray, n, normalArray, around);
    if (!around || wholePending) {
      // a whole upload, asked for now or earlier and not yet drawn (ranges would replace it by themselves)
      wholePending = true;
      for (const attribute of [positionAttribute, normalAttribute]) {
        attribute.clearUpdateRanges();
        attribute.needsUpdate = true;
      }
      return;
    }
    const first = Math.max(0, around.j0) * n;
    const end = (Math.min(n - 1, around.j1) + 1) * n;
    for (const attribute of [positionAttribute, normalAttribute]) {
      attribute.addUpdateRange(3 * first, 3 * (end - first));
      attribute.needsUpdate = true;
    }
  };

  const rebuildControlPoints = (target: THBField) => {
    const plan = target.plan;
    // control points of surfaces (and of flat 2D maps) show where they are; a height field's are values, not
    // points, so none are drawn
    const count = target.dim >= 2 ? plan.functionCount : 0;
    if (count > controlPoints.instanceMatrix.count) {
      const visible = controlPoints.visible;
      group.remove(controlPoints);
      controlPoints.dispose(); // its instance buffers; the sphere and material stay shared
      controlPoints = instancedPoints(sphere, sphereMaterial, Math.ceil(count * 1.5));
      controlPoints.visible = visible;
      group.add(controlPoints);
    }
    controlPoints.count = count;
    const matrices = controlPoints.instanceMatrix.array as Float32Array;
    const colors = controlPoints.instanceColor!.array as Float32Array;
    const levelRgb = Array.from({ length: plan.levelCount }, (_, l) => new Color().setHex(levelColor(l)));
    const control = target.control;
    const dim = target.dim;
    for (let f = 0; f < count; f++) {
      // a translation: identity with the point in the last column (column-major)
      const m = 16 * f;
      matrices.fill(0, m, m + 16);
      matrices[m] = 1;
      matrices[m + 5] = 1;
      matrices[m + 10] = 1;
      matrices[m + 15] = 1;
      matrices[m + 12] = control[dim * f];
      matrices[m + 13] = control[dim * f + 1];
      matrices[m + 14] = dim > 2 ? control[dim * f + 2] : 0;
      levelRgb[plan.functionLevel[f]].toArray(colors, 3 * f);
    }
    controlPoints.instanceMatrix.needsUpdate = true;
    controlPoints.instanceColor!.needsUpdate = true;
    controlPoints.boundingSphere = null;
    controlPointsStale = false;
  };

  const moveControlPoints = (target: THBField, ids: readonly number[]) => {
    const m = new Matrix4();
    for (const id of ids) {
      if (target.dim < 2) continue;
      const c = target.control;
      const dim = target.dim;
      m.makeTranslation(c[dim * id], c[dim * id + 1], dim > 2 ? c[dim * id + 2] : 0);
      controlPoints.setMatrixAt(id, m);
    }
    controlPoints.instanceMatrix.needsUpdate = true;
    controlPoints.boundingSphere = null;
  };

  const update = async (target: THBField, asked: FieldChange, first = false) => {
    // "new" from undo, redo or a fit level: what changed since the field shown now (updates run in order, so
    // `shown` is the field on screen)
    let change = asked;
    if (first) change = { kind: "new" };
    else if (change.kind === "new" && shown.plan === target.plan)
      change = { kind: "control", ids: changedRows(shown, target) };
    else if (
      change.kind === "new" &&
      (refinedFrom.get(shown) === target || refinedFrom.get(target) === shown)
    )
      change = { kind: "refined" };
    if (change.kind === "control" && change.ids.length === 0) {
      shown = target;
      return;
    }
    if (change.kind === "refined") {
      // exact carry-over: the surface did not move, only the element mesh and the control points changed
      edges.update(target, []);
      if (controlPoints.visible) rebuildControlPoints(target);
      else controlPointsStale = true;
    } else if (change.kind === "control") {
      const touched = target.elementsOfFunctions(change.ids);
      const moved = updateVertices(target, touched);
      if (moved) updateNormals(moved);
      edges.update(target, touched);
      if (controlPoints.visible && !controlPointsStale) moveControlPoints(target, change.ids);
      else controlPointsStale = true;
    } else {
      writePositions(await tessellator(target, SEGMENTS), target.dim);
      tessellatedBy = tessellatorName;
      updateNormals();
      edges.update(target, "all");
      if (controlPoints.visible) rebuildControlPoints(target);
      else controlPointsStale = true;
    }
    // a refinement leaves the surface where it was: its vertices, normals and bounds stand
    shown = target;
  };

  await update(field, { kind: "new" }, true);

  return {
    group,
    surface,
    get controlPoints() {
      return controlPoints;
    },
    setControlPointsVisible(visible) {
      if (visible && controlPointsStale) rebuildControlPoints(shown);
      controlPoints.visible = visible;
    },
    get field() {
      return shown;
    },
    get tessellatedBy() {
      return tessellatedBy;
    },
    show(target, change) {
      // one update at a time, in order; requests that pile up behind a slow one (a drag's moves arrive
      // faster than a GPU tessellation may finish) are merged into one: the last field, with the union of
      // their changed control points, or a full update when any of them was not a control-point change
      queued.push({ target, change });
      pending = pending.then(() => {
        if (queued.length === 0) return;
        const batch = queued.splice(0);
        const last = batch[batch.length - 1].target;
        const samePlan = batch.every((r) => r.change.kind === "control" && r.target.plan === shown.plan);
        if (batch.length === 1 || !samePlan) {
          const merged = batch.length === 1 ? batch[0].change : { kind: "new" as const };
          return update(last, merged);
        }
        const ids = new Set<number>();
        for (const r of batch) for (const id of (r.change as { ids: readonly number[] }).ids) ids.add(id);
        return update(last, { kind: "control", ids: [...ids] });
      });
      return pending;
    },
    dispose() {
      group.traverse((object) => {
        const o = object as Partial<Mesh>;
        o.geometry?.dispose();
        const material = o.material;
        for (const m of Array.isArray(material) ? material : material ? [material] : []) m.dispose();
      });
      controlPoints.dispose();
    },
  };
}

/** An instanced mesh of `sphere` with instance matrices and colours for `capacity` points, none drawn yet. */
function instancedPoints(
  sphere: IcosahedronGeometry,
  material: MeshBasicMaterial,
  capacity: number,
): InstancedMesh {
  const mesh = new InstancedMesh(sphere, material, capacity);
  mesh.instanceColor = new InstancedBufferAttribute(new Float32Array(3 * capacity), 3);
  mesh.count = 0;
  // the points lie near the surface, which is culled already; their bounding sphere, redone over every
  // instance after each change, cost more than drawing them
  mesh.frustumCulled = false;
  return mesh;
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
