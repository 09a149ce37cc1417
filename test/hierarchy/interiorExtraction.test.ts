/**
 * The extraction shortcut for elements deep inside their level's domain (every local B-spline's support in
 * Ω^l: the identity on the level-l functions) against the full ancestor walk, on THB hierarchies with large
 * refined regions (where it fires) and small ones (where it must not), 2D and 3D, degrees 2 and 3.
 */
import { describe, expect, it } from "vitest";
import { ExtractionWorkspace, extractElement, interiorExtraction } from "../../hierarchy/extraction.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../../splines/knotVector.js";

/** Level 0 with `cells` cells per axis; everything refined once, then a box of level-1 cells refined again. */
function refinedSpace(d: 2 | 3, degree: number, cells: number, truncated: boolean): THBSpace {
  let space = THBSpace.create({
    degrees: new Array(d).fill(degree),
    knots: Array.from({ length: d }, () => uniformKnotVector(degree, cells)),
    truncated,
  });
  space = refineElements(
    space,
    space.elements.map((e) => ({ level: e.level, cell: decode(space, e.level, e.key, d) })),
  );
  const inner = space.elements.filter((e) => {
    const c = decode(space, e.level, e.key, d);
    return c.every((x, k) => x >= 1 && x < (k === 0 ? 2 * cells - 2 : 2 * cells - 3));
  });
  return refineElements(
    space,
    inner.map((e) => ({ level: e.level, cell: decode(space, e.level, e.key, d) })),
  );
}

function decode(space: THBSpace, level: number, key: number, d: number): number[] {
  const cell = [0, 0, 0];
  space.tree.decode(level, key, cell);
  return cell.slice(0, d);
}

describe("interior extraction shortcut", () => {
  for (const [d, degree, cells] of [
    [2, 3, 6],
    [2, 2, 5],
    [3, 3, 4],
    [3, 2, 4],
  ] as const) {
    it(`equals the ancestor walk on every element, and fires on some (${d}D, degree ${degree})`, () => {
      const space = refinedSpace(d, degree, cells, true);
      const work = new ExtractionWorkspace(space);
      let fired = 0;
      for (const e of space.elements) {
        const walked = extractElement(e, work, true);
        const shortcut = extractElement(e, work);
        expect(Array.from(shortcut.functions)).toEqual(Array.from(walked.functions));
        expect(Array.from(shortcut.coefficients)).toEqual(Array.from(walked.coefficients));
        if (interiorExtraction(e, work)) fired++;
      }
      expect(fired).toBeGreaterThan(0);
      expect(fired).toBeLessThan(space.elements.length);
    });
  }

  it("never fires on a hierarchical (not truncated) space, whose coarser functions stay whole", () => {
    const space = refinedSpace(2, 3, 6, false);
    const work = new ExtractionWorkspace(space);
    for (const e of space.elements) expect(interiorExtraction(e, work)).toBeUndefined();
  });
});
