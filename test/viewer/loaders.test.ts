import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { writeGismoHierarchy } from "../../io/gismoXml.js";
import { describeField, describeSpace, fieldToJson } from "../../io/serialization.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { loadFile, ViewerFileError } from "../../viewer/loaders.js";

const bytes = (text: string) => new TextEncoder().encode(text);

function field(): THBField {
  const knots = uniformKnotVector(2, 3);
  const space = refineElements(THBSpace.create({ degrees: [2, 2], knots: [knots, knots] }), [
    { level: 0, cell: [0, 0] },
  ]);
  return new THBField(
    space,
    Array.from({ length: space.size * 3 }, (_, i) => Math.cos(i)),
    3,
  );
}

describe("viewer loadFile", () => {
  it("reads a field from its JSON and from G+Smo XML, and point clouds by extension", () => {
    const f = field();
    for (const [name, text] of [
      ["s.json", fieldToJson(f)],
      ["s.xml", writeGismoHierarchy(describeField(f), f.space.levelCount)],
    ]) {
      const loaded = loadFile(name, bytes(text));
      if (loaded.kind !== "surface") throw new Error(`${name} did not load as a surface`);
      expect(loaded.field.space.size).toBe(f.space.size);
      expect(Array.from(loaded.field.evaluate([0.3, 0.7, 0.05, 0.1], 0))).toEqual(
        Array.from(f.evaluate([0.3, 0.7, 0.05, 0.1], 0)),
      );
    }
    const cloud = loadFile("c.xyz", bytes("0 0 1\n1 0 2\n0 1 3\n"));
    expect(cloud.kind === "points" && Array.from(cloud.cloud.points)).toEqual([0, 0, 1, 1, 0, 2, 0, 1, 3]);
    const scan = loadFile("deepdrawingC.xml", readFileSync("examples/data/deepdrawingC.xml"));
    expect(scan.kind === "points" && scan.cloud.points.length / 3).toBe(2969);
  });

  it("rejects bad files with a ViewerFileError that names the file", () => {
    const f = JSON.parse(fieldToJson(field()));
    const cases: [string, string, RegExp][] = [
      ["broken.json", "{ nope", /^broken\.json: not valid JSON/],
      [
        "wrong.json",
        JSON.stringify({ ...f, format: "other" }),
        /^wrong\.json: "format" must be "thbspline-field"/,
      ],
      [
        "nan.json",
        JSON.stringify(f).replace(/"control":\[[^,]+/, '"control":["NaN"'),
        /^nan\.json: .*control"?\[0\] must be a finite number/,
      ],
      ["nan.xyz", "0 0 1\n1 nan 2\n", /^nan\.xyz/],
      ["model.stl", "solid", /^model\.stl: unknown file type "\.stl"/],
      ["basis.xml", writeGismoHierarchy(describeSpace(field().space), 2), /^basis\.xml: /],
    ];
    for (const [name, text, message] of cases) {
      let caught: unknown;
      try {
        loadFile(name, bytes(text));
      } catch (error) {
        caught = error;
      }
      expect(caught, name).toBeInstanceOf(ViewerFileError);
      expect((caught as Error).message, name).toMatch(message);
    }
  });
});
