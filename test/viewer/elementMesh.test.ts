/**
 * The viewer's element mesh updated in place (only the slots a change touches, uploaded as update ranges)
 * must draw what a full rebuild draws: after random refinements, undos back across them, control-point moves
 * and coarsenings, the vertices and colours a GPU holds (simulated: a copy that takes whole uploads of new
 * attributes and only the update ranges after that, as three's renderers do) are, element by element, the
 * full rebuild's; and those are the field's values on each element's sides (the values-only evaluation).
 */
import { type BufferAttribute, Color, LineBasicMaterial } from "three/webgpu";
import { describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { EDGE_SAMPLES, ElementMesh, SLOT_VERTICES } from "../../viewer/elementMesh.js";
import { levelColor } from "../../viewer/levelColors.js";
import { seededRandom } from "../helpers/random.js";

const SLOT_FLOATS = 3 * SLOT_VERTICES;

/** A bicubic surface over 10 × 10 cells, refined in a box. */
function field(): THBField {
  const U = uniformKnotVector(3, 10);
  const space = THBSpace.create({ degrees: [3, 3], knots: [U, U] });
  const n = 13;
  const control = new Float64Array(space.size * 3);
  for (let j = 0; j < n; j++)
    for (let i = 0; i < n; i++)
      control.set([i / 12, j / 12, 0.2 * Math.sin(i) * Math.cos(0.7 * j)], 3 * (i + n * j));
  return new THBField(space, control, 3).refineBoxes([[1, 4, 4, 14, 14]]);
}

/** What the GPU holds of a mesh's attributes: whole arrays when new, then only their update ranges. */
class SimulatedGpu {
  private copies = new Map<BufferAttribute, { data: Float32Array; version: number }>();

  /** One frame: uploads what three would upload for the mesh's attributes. */
  frame(mesh: ElementMesh): void {
    for (const name of ["position", "color"]) {
      const attribute = mesh.lines.geometry.getAttribute(name) as BufferAttribute | undefined;
      if (!attribute) continue;
      const array = attribute.array as Float32Array;
      const copy = this.copies.get(attribute);
      if (!copy) this.copies.set(attribute, { data: Float32Array.from(array), version: attribute.version });
      else if (copy.version !== attribute.version) {
        if (attribute.updateRanges.length === 0) copy.data.set(array);
        for (const { start, count } of attribute.updateRanges)
          copy.data.set(array.subarray(start, start + count), start);
        attribute.clearUpdateRanges();
        copy.version = attribute.version;
      }
    }
  }

  /** The drawn slots as the GPU holds them: one string of 96 positions and 96 colours per element. */
  slots(mesh: ElementMesh): string[] {
    const geometry = mesh.lines.geometry;
    const count = geometry.drawRange.count / SLOT_VERTICES;
    const position = this.copies.get(geometry.getAttribute("position") as BufferAttribute)?.data;
    const color = this.copies.get(geometry.getAttribute("color") as BufferAttribute)?.data;
    if (!position || !color) return [];
    return slotStrings(position, color, count);
  }
}

function slotStrings(position: Float32Array, color: Float32Array, count: number): string[] {
  const out: string[] = [];
  for (let s = 0; s < count; s++) {
    const range = [s * SLOT_FLOATS, (s + 1) * SLOT_FLOATS] as const;
    out.push(`${position.subarray(...range).join(",")}|${color.subarray(...range).join(",")}`);
  }
  return out.sort();
}

/** The slots of a mesh built from scratch for `f`, read from its arrays. */
function rebuilt(f: THBField): string[] {
  const mesh = new ElementMesh(new LineBasicMaterial());
  mesh.update(f, "all");
  const geometry = mesh.lines.geometry;
  return slotStrings(
    geometry.getAttribute("position").array as Float32Array,
    geometry.getAttribute("color").array as Float32Array,
    geometry.drawRange.count / SLOT_VERTICES,
  );
}

describe("viewer element mesh", () => {
  it("draws every element's sides at the field's values there, coloured by level", () => {
    const f = field();
    const mesh = new ElementMesh(new LineBasicMaterial());
    mesh.update(f, "all");
    const plan = f.plan;
    expect(mesh.drawnElements).toBe(plan.elementCount);
    expect(mesh.lines.geometry.drawRange.count).toBe(plan.elementCount * SLOT_VERTICES);
    // the reference: each element's sides sampled and evaluated by the values-only path, one element at a time
    const expected: number[][] = [];
    for (let e = 0; e < plan.elementCount; e++) {
      const [u0, v0, u1, v1] = plan.elementBox.subarray(4 * e, 4 * e + 4);
      const sides = [
        [u0, v0, u1, v0],
        [u1, v0, u1, v1],
        [u1, v1, u0, v1],
        [u0, v1, u0, v0],
      ];
      const params: number[] = [];
      for (const [a, b, c, d] of sides) {
        for (let k = 0; k < EDGE_SAMPLES; k++) {
          for (const t of [k / EDGE_SAMPLES, (k + 1) / EDGE_SAMPLES])
            params.push(a + (c - a) * t, b + (d - b) * t);
        }
      }
      const values = f.evaluate(params, 0);
      const rgb = new Color().setHex(levelColor(plan.elementLevel[e])).toArray();
      expected.push([
        ...Float32Array.from(values),
        ...Array.from({ length: SLOT_FLOATS }, (_, i) => rgb[i % 3]),
      ]);
    }
    const geometry = mesh.lines.geometry;
    const position = geometry.getAttribute("position").array as Float32Array;
    const color = geometry.getAttribute("color").array as Float32Array;
    const drawn = Array.from({ length: mesh.drawnElements }, (_, s) => [
      ...position.subarray(s * SLOT_FLOATS, (s + 1) * SLOT_FLOATS),
      ...color.subarray(s * SLOT_FLOATS, (s + 1) * SLOT_FLOATS),
    ]);
    // slot order is the mesh's own: match by content (positions to 1e-3, then compared to float32 rounding)
    const key = (a: number[]) => a.map((x) => x.toFixed(3)).join(",");
    const sort = (list: number[][]) => list.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    sort(drawn);
    sort(expected);
    expect(drawn.length).toBe(expected.length);
    let worst = 0;
    for (let s = 0; s < drawn.length; s++)
      for (let i = 0; i < 2 * SLOT_FLOATS; i++)
        worst = Math.max(worst, Math.abs(drawn[s][i] - expected[s][i]));
    expect(worst).toBeLessThan(1e-6);
  });

  it("updated in place through refinements, undos, moves and coarsenings, the GPU holds what a rebuild draws", () => {
    const rand = seededRandom(11);
    const first = field();
    const mesh = new ElementMesh(new LineBasicMaterial());
    const gpu = new SimulatedGpu();
    mesh.update(first, "all");
    gpu.frame(mesh);
    // each state with what made it from the one before: a refinement, a move of function `moved`, a coarsening
    type Made = "refined" | "coarsened" | { moved: number };
    const history: { field: THBField; made?: Made }[] = [{ field: first }];
    let ranged = 0;
    for (let step = 0; step < 60; step++) {
      const shown = history[history.length - 1].field;
      const plan = shown.plan;
      const r = rand();
      let next: THBField;
      if (r < 0.4 || history.length === 1) {
        // refine 1–3 random elements (the surface does not move: no element is resampled)
        const picks = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
          const e = Math.floor(rand() * plan.elementCount);
          return {
            level: plan.elementLevel[e],
            cell: [plan.elementCell[2 * e], plan.elementCell[2 * e + 1]],
          };
        });
        next = shown.refineElements(picks, { admissibility: 2 });
        mesh.update(next, []);
        history.push({ field: next, made: "refined" });
      } else if (r < 0.5 && history[history.length - 1].made === "refined") {
        // straight to a sibling: the state before, refined elsewhere (the surface does not move; the elements
        // that go are not the last ones drawn, so slots are freed in the middle)
        history.pop();
        const parent = history[history.length - 1].field;
        const e = Math.floor(rand() * parent.plan.elementCount);
        const pick = {
          level: parent.plan.elementLevel[e],
          cell: [parent.plan.elementCell[2 * e], parent.plan.elementCell[2 * e + 1]],
        };
        next = parent.refineElements([pick], { admissibility: 2 });
        mesh.update(next, []);
        history.push({ field: next, made: "refined" });
      } else if (r < 0.65) {
        // undo: back across what made the state shown
        const { made } = history.pop()!;
        next = history[history.length - 1].field;
        if (made === "refined") mesh.update(next, []);
        else if (made === "coarsened") mesh.update(next, "all");
        else mesh.update(next, next.elementsOfFunctions([made!.moved]));
      } else if (r < 0.9) {
        // a control-point move: the elements it acts on are resampled
        const id = Math.floor(rand() * shown.space.size);
        next = shown.withControlRows([id], [rand(), rand(), rand()]);
        mesh.update(next, next.elementsOfFunctions([id]));
        history.push({ field: next, made: { moved: id } });
      } else {
        // a coarsening projects the surface: everything is redrawn
        const fine = Array.from({ length: plan.elementCount }, (_, e) => e).filter(
          (e) => plan.elementLevel[e] > 0,
        );
        const e = fine[Math.floor(rand() * fine.length)] ?? 0;
        next = shown.coarsen(
          [{ level: plan.elementLevel[e], cell: [plan.elementCell[2 * e], plan.elementCell[2 * e + 1]] }],
          {
            admissibility: 2,
          },
        ).field;
        mesh.update(next, "all");
        history.push({ field: next, made: "coarsened" });
      }
      const position = mesh.lines.geometry.getAttribute("position") as BufferAttribute;
      if (position.updateRanges.length > 0) ranged++;
      gpu.frame(mesh);
      expect(mesh.drawnElements, `step ${step}`).toBe(next.plan.elementCount);
      const held = gpu.slots(mesh);
      const expected = rebuilt(next);
      const differing = held.filter((slot, i) => slot !== expected[i]).length;
      expect({ step, elements: held.length, differing }).toEqual({
        step,
        elements: expected.length,
        differing: 0,
      });
    }
    // most changes went up as ranges (not whole arrays)
    expect(ranged).toBeGreaterThan(30);
  });
});
