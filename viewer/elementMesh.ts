/**
 * The hierarchical element mesh drawn on the surface: every active element's four edges, sampled on the
 * surface, as line segments coloured by level.
 *
 * Layout: one slot of SLOT_VERTICES vertices per element (`positions  #slots·SLOT_VERTICES by 3`, `colors`
 * the same), slots [0, count) drawn (the draw range), the arrays holding room for more. A change rewrites
 * only the slots it touches and uploads only those ranges (attribute update ranges): the elements it made
 * take the slots of the elements it removed, then new slots at the end; slots it left empty are filled
 * with the last ones. A refinement at 10,000 functions thus writes a few hundred vertices, not 300,000.
 */
import { BufferAttribute, BufferGeometry, Color, type LineBasicMaterial, LineSegments } from "three/webgpu";
import type { EvaluationPlan, THBField } from "../index.js";
import { levelColor } from "./levelColors.js";
import { toPositions, valuesAt } from "./surfaceGeometry.js";

/**
 * Segments per element side: one count for every mesh, so that a refinement redraws only the edges of the
 * elements it made (a count that depended on the mesh size would redraw them all).
 */
export const EDGE_SAMPLES = 4;
/** Vertices per element: 4 sides × EDGE_SAMPLES segments × 2 ends. */
export const SLOT_VERTICES = 4 * EDGE_SAMPLES * 2;
const SLOT_FLOATS = 3 * SLOT_VERTICES;

/** The element mesh of the field shown; `update` brings it to another field. */
export class ElementMesh {
  /** The line segments (their geometry is replaced only when the slots outgrow it). */
  readonly lines: LineSegments;
  private positions = new Float32Array(0);
  private colors = new Float32Array(0);
  /** Slots in use: slots [0, count) are drawn. */
  private count = 0;
  /** slotOf[level].get(key): the slot of the active element (level, key). */
  private slotOf: Map<number, number>[] = [];
  /** The element (level, key) in each slot. */
  private slotLevel = new Int32Array(0);
  private slotKey = new Float64Array(0);
  /** Slots written since the last upload (ranges merged at upload). */
  private written: number[] = [];
  /** Whether the geometry is new since the last upload (then uploaded whole, when first drawn). */
  private fresh = false;
  /** The plan drawn, and the cell key of each of its elements. */
  private plan?: EvaluationPlan;
  private keys: Float64Array = new Float64Array(0);

  constructor(material: LineBasicMaterial) {
    this.lines = new LineSegments(new BufferGeometry(), material);
    // the edges lie on the surface, which is culled already; a bounding sphere recomputed over every
    // vertex after each change cost more than drawing them
    this.lines.frustumCulled = false;
  }

  /** Slots in use (elements drawn). */
  get drawnElements(): number {
    return this.count;
  }

  /**
   * Shows the element mesh of `field`: elements it shares with the field shown keep their edges, except
   * those listed in `moved` (where the surface moved: resampled); `moved: "all"` redraws every element.
   */
  update(field: THBField, moved: Iterable<number> | "all"): void {
    const plan = field.plan;
    if (moved !== "all" && plan === this.plan) {
      // the same elements (a control-point move): only the moved ones are redrawn, in their slots
      const elements: number[] = [];
      const slots: number[] = [];
      for (const e of moved) {
        elements.push(e);
        slots.push(this.slotOf[plan.elementLevel[e]].get(this.keys[e])!);
      }
      this.draw(field, elements, slots);
      this.upload();
      return;
    }
    this.plan = plan;
    if (moved === "all") {
      this.count = 0;
      this.slotOf = [];
    }
    while (this.slotOf.length < plan.levelCount) this.slotOf.push(new Map());
    const keys = elementKeys(plan);
    this.keys = keys;
    const seen = new Uint8Array(this.count);
    const missing: number[] = [];
    for (let e = 0; e < plan.elementCount; e++) {
      const slot = this.slotOf[plan.elementLevel[e]].get(keys[e]);
      if (slot === undefined) missing.push(e);
      else seen[slot] = 1;
    }
    // slots of elements that are gone, lowest first
    const free: number[] = [];
    for (let s = 0; s < this.count; s++) {
      if (seen[s]) continue;
      free.push(s);
      this.slotOf[this.slotLevel[s]]?.delete(this.slotKey[s]);
    }
    const toDraw: number[] = [];
    const slots: number[] = [];
    const take = (e: number, slot: number) => {
      this.slotOf[plan.elementLevel[e]].set(keys[e], slot);
      this.slotLevel[slot] = plan.elementLevel[e];
      this.slotKey[slot] = keys[e];
      toDraw.push(e);
      slots.push(slot);
    };
    let f = 0;
    const end = this.count + Math.max(0, missing.length - free.length);
    this.reserve(end);
    let next = this.count;
    for (const e of missing) take(e, f < free.length ? free[f++] : next++);
    // holes left: move the last drawn slots into them (from the end, skipping slots that are holes)
    let last = this.count - 1;
    for (; f < free.length; f++) {
      const hole = free[f];
      while (last > hole && !seen[last]) last--;
      if (last <= hole) break;
      this.move(last, hole);
      seen[last] = 0;
      last--;
    }
    this.count = missing.length >= free.length ? end : this.count - (free.length - missing.length);
    if (moved !== "all") {
      const placed = new Set(toDraw);
      for (const e of moved) {
        const slot = this.slotOf[plan.elementLevel[e]].get(keys[e]);
        if (slot !== undefined && !placed.has(e)) {
          toDraw.push(e);
          slots.push(slot);
        }
      }
    }
    this.draw(field, toDraw, slots);
    this.upload();
  }

  /** Frees the geometry (the material belongs to the caller). */
  dispose(): void {
    this.lines.geometry.dispose();
  }

  /** Room for `slots` slots: new arrays (with spare) and a new geometry when they do not fit. */
  private reserve(slots: number): void {
    const capacity = this.slotLevel.length;
    if (slots <= capacity) return;
    const grown = Math.max(64, Math.ceil(slots * 1.5));
    const positions = new Float32Array(grown * SLOT_FLOATS);
    const colors = new Float32Array(grown * SLOT_FLOATS);
    positions.set(this.positions.subarray(0, this.count * SLOT_FLOATS));
    colors.set(this.colors.subarray(0, this.count * SLOT_FLOATS));
    const slotLevel = new Int32Array(grown);
    const slotKey = new Float64Array(grown);
    slotLevel.set(this.slotLevel);
    slotKey.set(this.slotKey);
    this.positions = positions;
    this.colors = colors;
    this.slotLevel = slotLevel;
    this.slotKey = slotKey;
    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new BufferAttribute(positions, 3));
    geometry.setAttribute("color", new BufferAttribute(colors, 3));
    // the same object with a new geometry: three's WebGPU renderer keeps a render object (and its buffers)
    // per drawn object until it is disposed, so a new LineSegments per change would leak one each time
    const old = this.lines.geometry;
    this.lines.geometry = geometry;
    old.dispose();
    this.fresh = true;
  }

  /** Moves slot `from` into slot `to` (vertices, colours, and which element it holds). */
  private move(from: number, to: number): void {
    this.positions.copyWithin(to * SLOT_FLOATS, from * SLOT_FLOATS, (from + 1) * SLOT_FLOATS);
    this.colors.copyWithin(to * SLOT_FLOATS, from * SLOT_FLOATS, (from + 1) * SLOT_FLOATS);
    this.slotLevel[to] = this.slotLevel[from];
    this.slotKey[to] = this.slotKey[from];
    this.slotOf[this.slotLevel[to]].set(this.slotKey[to], to);
    this.written.push(to);
  }

  /** Samples the edges of `elements` on the surface into their `slots`. */
  private draw(field: THBField, elements: readonly number[], slots: readonly number[]): void {
    if (elements.length === 0) return;
    const plan = field.plan;
    const points = edgePoints(field, elements);
    const perEdge = EDGE_SAMPLES + 1;
    const c = new Color();
    for (let i = 0; i < elements.length; i++) {
      const at = slots[i] * SLOT_FLOATS;
      let o = at;
      for (let edge = 0; edge < 4; edge++) {
        const first = (i * 4 + edge) * perEdge;
        for (let k = 0; k < EDGE_SAMPLES; k++) {
          for (let m = 0; m < 6; m++) this.positions[o++] = points[3 * (first + k) + m];
        }
      }
      c.setHex(levelColor(plan.elementLevel[elements[i]]));
      for (let k = at; k < at + SLOT_FLOATS; k += 3) {
        this.colors[k] = c.r;
        this.colors[k + 1] = c.g;
        this.colors[k + 2] = c.b;
      }
      this.written.push(slots[i]);
    }
  }

  /** Marks the written slots' ranges for upload (runs of consecutive slots merged) and sets the draw range. */
  private upload(): void {
    const geometry = this.lines.geometry;
    const position = geometry.getAttribute("position") as BufferAttribute | undefined;
    const color = geometry.getAttribute("color") as BufferAttribute | undefined;
    geometry.setDrawRange(0, this.count * SLOT_VERTICES);
    if (!position || !color) return;
    const written = [...new Set(this.written)].sort((a, b) => a - b);
    this.written.length = 0;
    if (this.fresh || written.length === 0) {
      this.fresh = false;
      return;
    }
    for (let i = 0; i < written.length; ) {
      let j = i + 1;
      while (j < written.length && written[j] === written[j - 1] + 1) j++;
      const start = written[i] * SLOT_FLOATS;
      const count = (written[j - 1] + 1) * SLOT_FLOATS - start;
      position.addUpdateRange(start, count);
      color.addUpdateRange(start, count);
      i = j;
    }
    position.needsUpdate = true;
    color.needsUpdate = true;
  }
}

/**
 * Points along the four sides of each listed element, EDGE_SAMPLES + 1 per side (counter-clockwise from
 * the lower-left corner): `#elements·4·(EDGE_SAMPLES+1) by 3`.
 */
export function edgePoints(field: THBField, elements: readonly number[]): Float64Array {
  const plan = field.plan;
  const perEdge = EDGE_SAMPLES + 1;
  const params = new Float64Array(elements.length * 4 * perEdge * 2);
  let p = 0;
  for (const e of elements) {
    const u0 = plan.elementBox[4 * e];
    const v0 = plan.elementBox[4 * e + 1];
    const u1 = plan.elementBox[4 * e + 2];
    const v1 = plan.elementBox[4 * e + 3];
    const corners = [u0, v0, u1, v0, u1, v1, u0, v1, u0, v0];
    for (let side = 0; side < 4; side++) {
      const [a, b, c, d] = corners.slice(2 * side, 2 * side + 4);
      for (let s = 0; s <= EDGE_SAMPLES; s++) {
        const t = s / EDGE_SAMPLES;
        params[p++] = a + (c - a) * t;
        params[p++] = b + (d - b) * t;
      }
    }
  }
  return toPositions(valuesAt(field, params), params, field.dim);
}

/** The cell key of every element of a plan on its level (first direction fastest), as CellTree keys it. */
export function elementKeys(plan: EvaluationPlan): Float64Array {
  const keys = new Float64Array(plan.elementCount);
  const d = plan.dimension;
  for (let e = 0; e < plan.elementCount; e++) {
    const level = plan.elementLevel[e];
    let key = 0;
    for (let k = d - 1; k >= 0; k--)
      key = key * (plan.rootCells[k] * 2 ** level) + plan.elementCell[e * d + k];
    keys[e] = key;
  }
  return keys;
}
