import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import { HierarchyError } from "../../hierarchy/errors.js";
import { parseGismoHierarchy, writeGismoHierarchy } from "../../io/gismoXml.js";
import { DESCRIPTION_LIMITS, refinementSize } from "../../io/hierarchyDescription.js";
import {
  describeField,
  describeSpace,
  fieldFromDescription,
  fieldFromJson,
  fieldToJson,
  spaceFromDescription,
} from "../../io/serialization.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { maxAbsDifference, randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";

/** Same domains: identical refined-cell sets on every level. */
function sameTree(a: { tree: { refined: Set<number>[] } }, b: { tree: { refined: Set<number>[] } }): boolean {
  const levels = Math.max(a.tree.refined.length, b.tree.refined.length);
  for (let l = 0; l < levels; l++) {
    const x = a.tree.refined[l] ?? new Set<number>();
    const y = b.tree.refined[l] ?? new Set<number>();
    if (x.size !== y.size || ![...x].every((k) => y.has(k))) return false;
  }
  return true;
}

describe("JSON field format", () => {
  it("round-trips random 2D and 3D fields exactly (same domains, same coefficients, same values)", () => {
    for (let seed = 1; seed <= 6; seed++) {
      const dimension = seed <= 4 ? 2 : 3;
      const space = buildHierarchy({
        dimension,
        degree: 1 + (seed % 3),
        truncated: seed % 2 === 0,
        m: 2,
        seed,
        steps: 3,
        nonUniform: true,
      });
      const rand = seededRandom(seed);
      const field = new THBField(space, randomArray(rand, space.size * 2), 2);
      const back = fieldFromJson(fieldToJson(field));
      expect(sameTree(back.space, space)).toBe(true);
      expect(back.space.truncated).toBe(space.truncated);
      expect(Array.from(back.control)).toEqual(Array.from(field.control));
      const points = randomParams(rand, 100, space.lower, space.upper);
      expect(maxAbsDifference(back.evaluate(points), field.evaluate(points))).toBe(0);
    }
  });

  it("names the file and the field in errors", () => {
    expect(() => fieldFromJson("{", "a.json")).toThrow(/a.json: not valid JSON/);
    expect(() => fieldFromJson('{"format":"other"}', "a.json")).toThrow(
      /a.json: "format" must be "thbspline-field"/,
    );
    expect(() => fieldFromJson('{"format":"thbspline-field","version":9}', "a.json")).toThrow(
      /"version" 9 is not supported/,
    );
    const json = JSON.parse(
      fieldToJson(
        THBField.zeros(
          spaceFromDescription({
            degree: [1, 1],
            knots: [
              [0, 0, 1, 1],
              [0, 0, 1, 1],
            ],
            truncated: true,
            boxes: [],
          }),
          1,
        ),
      ),
    );
    json.control = [1];
    expect(() => fieldFromJson(JSON.stringify(json), "b.json")).toThrow(
      /b.json: "control" must hold 4 functions × 1 = 4 numbers, got 1/,
    );
    json.degree = "2";
    expect(() => fieldFromJson(JSON.stringify(json), "b.json")).toThrow(HierarchyError);
  });
});

describe("G+Smo XML", () => {
  it("reads a THBSplineBasis2 with boxes the way G+Smo writes it", () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<xml>
  <Basis type="THBSplineBasis2" levels="3">
   <Basis type="TensorBSplineBasis2">
    <Basis type="BSplineBasis" index="0"><KnotVector degree="2">0 0 0 0.25 0.5 0.75 1 1 1</KnotVector></Basis>
    <Basis type="BSplineBasis" index="1"><KnotVector degree="2">0 0 0 0.25 0.5 0.75 1 1 1</KnotVector></Basis>
   </Basis>
   <box level="1">2 0 8 4
</box>
   <box level="2">2 4 6 10</box>
  </Basis>
</xml>`;
    const description = parseGismoHierarchy(xml, "simple.xml");
    expect(description.truncated).toBe(true);
    expect(description.boxes).toEqual([
      [1, 2, 0, 8, 4],
      [2, 2, 4, 6, 10],
    ]);
    expect(spaceFromDescription(description).sizePerLevel).toEqual([30, 32, 8]);
  });

  it("round-trips THB and HB geometries in 2D and 3D through writeGismoHierarchy", () => {
    for (let seed = 1; seed <= 4; seed++) {
      const space = buildHierarchy({
        dimension: seed <= 2 ? 2 : 3,
        degree: 2,
        truncated: seed % 2 === 1,
        m: 2,
        seed,
        steps: 3,
        nonUniform: seed === 2,
      });
      const rand = seededRandom(seed);
      const field = new THBField(space, randomArray(rand, space.size * 3), 3);
      const xml = writeGismoHierarchy(describeField(field), space.levelCount);
      expect(xml).toContain(space.truncated ? `THBSpline${space.dimension}` : `"HBSpline${space.dimension}"`);
      const back = fieldFromDescription(parseGismoHierarchy(xml) as ReturnType<typeof describeField>);
      expect(sameTree(back.space, space)).toBe(true);
      expect(maxAbsDifference(back.control, field.control)).toBe(0);
    }
  });

  it("exported boxes rebuild the same space and stay compact (runs along the first direction)", () => {
    const space = buildHierarchy({
      dimension: 2,
      degree: 3,
      truncated: true,
      m: 2,
      seed: 3,
      steps: 4,
      nonUniform: false,
    });
    const description = describeSpace(space);
    const refinedCells = space.tree.refined.reduce((a, s) => a + s.size, 0);
    expect(description.boxes.length).toBeLessThan(refinedCells);
    expect(sameTree(spaceFromDescription(description), space)).toBe(true);
  });

  it("reports malformed files with the file name and what was expected", () => {
    expect(() => parseGismoHierarchy("<xml><Basis type='Foo'/></xml>", "f.xml")).toThrow(
      /f.xml: Basis type "Foo"/,
    );
    expect(() => parseGismoHierarchy("<nope/>", "f.xml")).toThrow(/expected a root <xml> element/);
    const bad = `<xml><Basis type="THBSplineBasis2"><Basis type="TensorBSplineBasis2">
      <Basis type="BSplineBasis" index="0"><KnotVector degree="1">0 0 x 1 1</KnotVector></Basis>
      <Basis type="BSplineBasis" index="1"><KnotVector degree="1">0 0 1 1</KnotVector></Basis></Basis></Basis></xml>`;
    expect(() => parseGismoHierarchy(bad, "g.xml")).toThrow(/g.xml: KnotVector 0: entry 2 is "x"/);
    expect(() => parseGismoHierarchy("<xml><Basis type='THBSplineBasis2'>", "open.xml")).toThrow(
      /open.xml: not well-formed XML \(line 1: /,
    );
  });
});

describe("bounds on what a description may ask for", () => {
  const uniform = (p: number, cells: number) => Array.from(uniformKnotVector(p, cells));
  const spec = (boxes: number[][], cells = 4, p = 2) => ({
    degree: [p, p],
    knots: [uniform(p, cells), uniform(p, cells)],
    truncated: true,
    boxes,
  });

  it("a 100-byte spec asking for billions of cells is refused at once with the limit and the number asked", () => {
    const t0 = performance.now();
    expect(() => spaceFromDescription(spec([[15, 0, 0, 131072, 131072]]), "big.json")).toThrow(
      new RegExp(
        `big.json: the level-0 grid and boxes ask for up to \\d{11} active elements; the limit is ${DESCRIPTION_LIMITS.elements}`,
      ),
    );
    expect(performance.now() - t0).toBeLessThan(200);
    // the same through the field JSON reader
    const json = JSON.stringify({
      format: "thbspline-field",
      version: 1,
      ...spec([[15, 0, 0, 131072, 131072]]),
      dim: 1,
      control: [],
    });
    expect(() => fieldFromJson(json, "f.json")).toThrow(/f.json: .*ask for up to \d+ active elements/);
    // a coarse box on a long thin level-0 grid: few elements, but level 15 would hold 2^24 cells per direction
    const thin = {
      degree: [1, 1],
      knots: [uniform(1, 512), uniform(1, 1)],
      truncated: true,
      boxes: [[15, 0, 0, 2, 2]],
    };
    expect(() => spaceFromDescription(thin, "thin.json")).toThrow(
      `thin.json: level 15 would have 16777216 cells in one direction; the limit is ${DESCRIPTION_LIMITS.cellsPerDirection}`,
    );
  });

  it("the element bound is exact on a level-0 grid: 512 × 512 builds, 513 × 512 is refused", () => {
    const at = { degree: [1, 1], knots: [uniform(1, 512), uniform(1, 512)], truncated: true, boxes: [] };
    expect(spaceFromDescription(at).elements.length).toBe(DESCRIPTION_LIMITS.elements);
    const over = { ...at, knots: [uniform(1, 513), uniform(1, 512)] };
    expect(() => spaceFromDescription(over, "o.json")).toThrow(/ask for up to 262656 active elements/);
  });

  it("property: the counted bound is never below the elements the boxes really give", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.integer({ min: 1, max: 4 }).chain((level) => {
            const n = 4 * 2 ** level;
            return fc.tuple(
              fc.constant(level),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 0, max: n - 1 }),
              fc.integer({ min: 1, max: n }),
              fc.integer({ min: 1, max: n }),
            );
          }),
          { maxLength: 4 },
        ),
        (raw) => {
          const boxes = raw.map(([l, a, b, w, h]) => {
            const n = 4 * 2 ** l;
            return [l, a, b, Math.min(n, a + w), Math.min(n, b + h)];
          });
          const space = spaceFromDescription(spec(boxes));
          const bound = refinementSize([4, 4], boxes, space.maxLevels).elements;
          expect(bound).toBeGreaterThanOrEqual(space.elements.length);
          // a single box is counted without overlap: the bound is then the level-0 cells plus 2^d per marked cell
          if (boxes.length === 1) {
            const marked = space.tree.refined.reduce((a, s) => a + s.size, 0);
            expect(bound).toBe(16 + 4 * marked);
          }
        },
      ),
      { seed: 12, numRuns: 200 },
    );
  });

  it("knots that overflow or spans too short to halve are refused, naming the direction", () => {
    const wide = {
      degree: [1, 1],
      knots: [[-1e308, -1e308, 1e308, 1e308], uniform(1, 1)],
      truncated: true,
      boxes: [],
    };
    expect(() => spaceFromDescription(wide, "w.json")).toThrow(
      /w.json: knots\[0\] spans \[-1e\+308, 1e\+308\], whose length Infinity overflows/,
    );
    const short = {
      degree: [1, 1],
      knots: [uniform(1, 1), [0, 0, 1e-310, 1, 1]],
      truncated: true,
      boxes: [],
    };
    expect(() => spaceFromDescription(short, "s.json")).toThrow(
      /s.json: knots\[1\]: the span \[0, 1e-310\] is too short to halve 15 times in double precision/,
    );
    const ulps = {
      degree: [1, 1],
      knots: [uniform(1, 1), [1, 1, 1 + 2 ** -40, 2, 2]],
      truncated: true,
      boxes: [],
    };
    expect(() => spaceFromDescription(ulps, "u.json")).toThrow(/u.json: knots\[1\]: the span/);
    // a span of 2^-30 on [1, 2] halves 15 times with room to spare
    const fine = { ...ulps, knots: [uniform(1, 1), [1, 1, 1 + 2 ** -30, 2, 2]] };
    expect(spaceFromDescription(fine).size).toBe(6);
  });
});
