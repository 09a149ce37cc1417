import { mkdtempSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../io/errors.js";
import { meshToPly, meshToStl } from "../../io/mesh.js";
import { readPointCloud } from "../../io/node/readPointCloud.js";
import { POINT_CLOUD_MAX_BYTES, parseGismoPointCloud, parsePly, parseXyz } from "../../io/pointCloud.js";

const dir = mkdtempSync(join(tmpdir(), "thb-io-"));
const file = (name: string, data: string | Uint8Array) => {
  const path = join(dir, name);
  writeFileSync(path, data);
  return path;
};

describe("point clouds", () => {
  it("reads XYZ/CSV with and without u v columns, skipping comments and a header line", () => {
    const csv = parseXyz("x,y,z,u,v\n# comment\n1,2,3,0.1,0.2\n4,5,6,0.3,0.4\n");
    expect(Array.from(csv.points)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(csv.params!)).toEqual([0.1, 0.2, 0.3, 0.4]);
    const xyz = parseXyz("1 2 3\n\n4 5 6\n");
    expect(xyz.params).toBeUndefined();
  });

  it("names the line and column of a NaN, a short row and an inconsistent row", () => {
    expect(() => parseXyz("1 2 3\n4 NaN 6\n", "c.xyz")).toThrow(/c.xyz: line 2, column 2 is "NaN"/);
    expect(() => parseXyz("1 2 3\n4 inf 6\n", "c.xyz")).toThrow(/line 2, column 2/);
    expect(() => parseXyz("1 2\n", "c.xyz")).toThrow(/line 1 has 2 numbers, expected 3/);
    expect(() => parseXyz("1 2 3\n4 5 6 7 8\n", "c.xyz")).toThrow(
      /line 2 has 5 numbers, expected 3 like the first row/,
    );
  });

  it("rejects empty files and unknown extensions with the file name", () => {
    expect(() => readPointCloud(file("empty.xyz", ""))).toThrow(/empty.xyz: no points/);
    expect(() => readPointCloud(file("cloud.las", "1 2 3"))).toThrow(/unknown extension ".las"/);
    expect(() => readPointCloud(join(dir, "missing.xyz"))).toThrow(FormatError);
  });

  it("reads ascii and binary PLY (our own writer's output, and a hand-made binary file with u v)", () => {
    const mesh = {
      positions: Float64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0.5]),
      triangles: Uint32Array.from([0, 1, 2]),
    };
    const ascii = readPointCloud(file("tri.ply", meshToPly(mesh)));
    expect(Array.from(ascii.points)).toEqual([0, 0, 0, 1, 0, 0, 0, 1, 0.5]);
    const header =
      "ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nproperty double u\nproperty double v\nend_header\n";
    const body = new DataView(new ArrayBuffer(2 * (12 + 16)));
    [
      [1, 2, 3, 0.25, 0.75],
      [4, 5, 6, 0.5, 1],
    ].forEach(([x, y, z, u, v], i) => {
      const o = i * 28;
      body.setFloat32(o, x, true);
      body.setFloat32(o + 4, y, true);
      body.setFloat32(o + 8, z, true);
      body.setFloat64(o + 12, u, true);
      body.setFloat64(o + 20, v, true);
    });
    const bytes = new Uint8Array([...new TextEncoder().encode(header), ...new Uint8Array(body.buffer)]);
    const binary = parsePly(bytes, "b.ply");
    expect(Array.from(binary.points)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(binary.params!)).toEqual([0.25, 0.75, 0.5, 1]);
    expect(() => parsePly(bytes.subarray(0, bytes.length - 4), "cut.ply")).toThrow(
      /cut.ply: element "vertex" declares 2 items of at least 28 bytes, but only 52 bytes remain/,
    );
    expect(meshToStl(mesh).length).toBe(84 + 50);
  });

  it("reads G+Smo's parametrised point cloud (deepdrawingC.xml: 2,969 points, parameters in the first matrix)", () => {
    const cloud = readPointCloud(join("examples", "data", "deepdrawingC.xml"));
    expect(cloud.points.length).toBe(3 * 2969);
    expect(cloud.params!.length).toBe(2 * 2969);
    // first point, read row by row: x from row 0, y from row 1, z from row 2
    expect(cloud.points[0]).toBeCloseTo(-52.939437, 6);
    expect(cloud.points[2]).toBeCloseTo(23.239437, 6);
    expect(cloud.params![0]).toBe(-1);
  });
});

/** A PLY file: header lines, then a body (text, or little-endian float32 values). */
function ply(headerLines: string[], body: string | number[]): Uint8Array {
  const format = typeof body === "string" ? "ascii" : "binary_little_endian";
  const header = new TextEncoder().encode(
    ["ply", `format ${format} 1.0`, ...headerLines, "end_header", ""].join("\n"),
  );
  const bytes =
    typeof body === "string"
      ? new TextEncoder().encode(body)
      : new Uint8Array(Float32Array.from(body).buffer);
  return new Uint8Array([...header, ...bytes]);
}

const xyzProperties = ["property float x", "property float y", "property float z"];

describe("point clouds: hostile counts and malformed files", () => {
  it("a huge element count before the vertices is skipped or refused at once, never looped over", () => {
    const t0 = performance.now();
    // items with no properties take no bytes: 10^15 of them are nothing to read
    const empty = ply(["element face 1000000000000000", "element vertex 1", ...xyzProperties], [1, 2, 3]);
    expect(Array.from(parsePly(empty, "e.ply").points)).toEqual([1, 2, 3]);
    // items of at least one byte each: the file would need 10^15 bytes
    const faces = ply(
      [
        "element face 1000000000000000",
        "property list uchar int vertex_indices",
        "element vertex 1",
        ...xyzProperties,
      ],
      [1, 2, 3],
    );
    expect(() => parsePly(faces, "f.ply")).toThrow(
      /f.ply: element "face" declares 1000000000000000 items of at least 1 bytes, but only 12 bytes remain/,
    );
    const many = ply(["element vertex 1000000", ...xyzProperties], [1, 2, 3]);
    expect(() => parsePly(many, "m.ply")).toThrow(
      /m.ply: element "vertex" declares 1000000 items of at least 12 bytes, but only 12 bytes remain/,
    );
    const manyAscii = ply(["element vertex 1000000000000", ...xyzProperties], "1 2 3\n");
    expect(() => parsePly(manyAscii, "a.ply")).toThrow(
      /a.ply: the body has 1 lines, but the header declares 1000000000000 vertex/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it("counts that are not whole numbers, unknown types and malformed header lines are FormatErrors naming the line", () => {
    for (const count of ["-5", "1e12", "2.5", "0x10", ""]) {
      for (const body of ["1 2 3\n", [1, 2, 3]]) {
        expect(() => parsePly(ply([`element vertex ${count}`, ...xyzProperties], body), "c.ply")).toThrow(
          /c.ply: header line 3 .*expected element NAME COUNT with a whole number COUNT ≥ 0/,
        );
      }
    }
    expect(() =>
      parsePly(
        ply(["element vertex 1", "property floot x", "property float y", "property float z"], "1 2 3\n"),
        "t.ply",
      ),
    ).toThrow(
      /t.ply: header line 4 "property floot x": expected property TYPE NAME with TYPE among char, int8/,
    );
    expect(() =>
      parsePly(ply(["element vertex 1", "property list float int x"], "1 2 3\n"), "l.ply"),
    ).toThrow(/integer count type/);
    expect(() =>
      parsePly(ply(["element vertex 1", "frobnicate", ...xyzProperties], "1 2 3\n"), "h.ply"),
    ).toThrow(/h.ply: header line 4 "frobnicate": expected format, element, property/);
    expect(() =>
      parsePly(new TextEncoder().encode("ply\nformat ascii 1.0\nelement vertex 1\n"), "n.ply"),
    ).toThrow(/not a PLY file/);
  });

  it("vertices beyond (or short of) the declared count are refused with both counts", () => {
    expect(() =>
      parsePly(ply(["element vertex 2", ...xyzProperties], "1 2 3\n4 5 6\n7 8 9\n"), "x.ply"),
    ).toThrow(/x.ply: the body has 3 lines, but the header declares 2 vertex \(2 lines\)/);
    expect(() =>
      parsePly(ply(["element vertex 2", ...xyzProperties], [1, 2, 3, 4, 5, 6, 7, 8, 9]), "b.ply"),
    ).toThrow(/b.ply: 12 bytes follow the last element; the header declares 2 vertex/);
    // a face list that claims more items than its line holds
    expect(() =>
      parsePly(
        ply(
          ["element vertex 1", ...xyzProperties, "element face 1", "property list uchar int vertex_indices"],
          "1 2 3\n3 0 0\n",
        ),
        "f.ply",
      ),
    ).toThrow(
      /f.ply: element "face" 0 \(body line 2\), list "vertex_indices" has 3 items but the line holds 2 more values/,
    );
    // a well-formed file with faces after the vertices reads back
    const good = parsePly(
      ply(
        ["element vertex 2", ...xyzProperties, "element face 1", "property list uchar int vertex_indices"],
        "1 2 3\n4 5 6\n3 0 1 1\n",
      ),
      "g.ply",
    );
    expect(Array.from(good.points)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it("non-finite values are refused naming the vertex, in ascii and binary", () => {
    expect(() => parsePly(ply(["element vertex 1", ...xyzProperties], "1 nan 3\n"), "n.ply")).toThrow(
      /n.ply: element "vertex" 0 \(body line 1\), property "y" is "nan", expected a finite number/,
    );
    expect(() =>
      parsePly(ply(["element vertex 1", ...xyzProperties], [1, Number.POSITIVE_INFINITY, 3]), "i.ply"),
    ).toThrow(/i.ply: vertex 0, property "y" is Infinity, expected a finite number/);
  });

  it("a first line of NaNs is a non-finite point on line 1, not a header", () => {
    expect(() => parseXyz("nan nan nan\n1 2 3\n", "n.xyz")).toThrow(
      /n.xyz: line 1, column 1 is "nan", expected a finite number/,
    );
    expect(() => parseXyz("Infinity,0,0\n", "i.csv")).toThrow(/i.csv: line 1, column 1 is "Infinity"/);
    expect(() => parseXyz("1 2 3\n0x10 2 3\n", "h.xyz")).toThrow(/h.xyz: line 2, column 1 is "0x10"/);
    // a real header is still skipped, only as the first line with data
    expect(Array.from(parseXyz("# scan\nX;Y;Z\n1;2;3\n").points)).toEqual([1, 2, 3]);
    expect(() => parseXyz("1 2 3\nx y z\n", "late.xyz")).toThrow(/late.xyz: line 2, column 1 is "x"/);
  });

  it("XML that is not well formed (no </xml>) is refused with the file name", () => {
    const matrices =
      '<xml><Matrix id="0" rows="2" cols="1">0 0</Matrix><Matrix id="1" rows="3" cols="1">1 2 3</Matrix>';
    expect(Array.from(parseGismoPointCloud(`${matrices}</xml>`, "ok.xml").points)).toEqual([1, 2, 3]);
    expect(() => parseGismoPointCloud(matrices, "open.xml")).toThrow(
      /open.xml: not well-formed XML \(line 1: Unclosed tag 'xml'/,
    );
    expect(() =>
      parseGismoPointCloud(`${matrices.replace('cols="1">1', 'cols="-1">1')}</xml>`, "c.xml"),
    ).toThrow(/c.xml: .*Matrix 1 has cols="-1", expected a whole number/);
  });

  it("DOCTYPE entities are not expanded (a billion-laughs file is a FormatError at once)", () => {
    const entities = Array.from(
      { length: 9 },
      (_, i) => `<!ENTITY l${i + 1} "${`&l${i};`.repeat(10)}">`,
    ).join("\n");
    const xml = `<?xml version="1.0"?>\n<!DOCTYPE x [\n<!ENTITY l0 "lol">\n${entities}\n]>\n<xml><Matrix id="0" rows="2" cols="1">&l9;</Matrix><Matrix id="1" rows="3" cols="1">1 2 3</Matrix></xml>`;
    const t0 = performance.now();
    expect(() => parseGismoPointCloud(xml, "lol.xml")).toThrow(/lol.xml: Matrix 0: entry 0 is "&l9;"/);
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it("a file larger than the stated bound is refused before it is read", () => {
    const path = join(dir, "huge.xyz");
    writeFileSync(path, "");
    truncateSync(path, POINT_CLOUD_MAX_BYTES + 1); // sparse: takes no disk
    const t0 = performance.now();
    expect(() => readPointCloud(path)).toThrow(
      /huge.xyz: 268435457 bytes; point-cloud files are read up to 268435456 bytes/,
    );
    expect(performance.now() - t0).toBeLessThan(500);
  });
});

describe("glTF", () => {
  it("writes a GLB that glTF-Transform reads back with the same positions and indices", async () => {
    const { NodeIO } = await import("@gltf-transform/core");
    const { meshToGlb } = await import("../../io/node/gltf.js");
    const mesh = {
      positions: Float64Array.from([0, 0, 0, 1, 0, 0, 0, 1, 0.5]),
      normals: Float64Array.from([0, 0, 1, 0, 0, 1, 0, 0, 1]),
      triangles: Uint32Array.from([0, 1, 2]),
    };
    const document = await new NodeIO().readBinary(await meshToGlb(mesh));
    const primitive = document.getRoot().listMeshes()[0].listPrimitives()[0];
    expect(Array.from(primitive.getAttribute("POSITION")!.getArray()!)).toEqual([
      0, 0, 0, 1, 0, 0, 0, 1, 0.5,
    ]);
    expect(Array.from(primitive.getIndices()!.getArray()!)).toEqual([0, 1, 2]);
  });
});
