import { describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import { HierarchyError } from "../../hierarchy/errors.js";
import { parseGismoHierarchy, writeGismoHierarchy } from "../../io/gismoXml.js";
import {
  describeField,
  describeSpace,
  fieldFromDescription,
  fieldFromJson,
  fieldToJson,
  spaceFromDescription,
} from "../../io/serialization.js";
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
  });
});
