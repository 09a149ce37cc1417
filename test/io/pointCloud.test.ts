import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FormatError } from "../../io/errors.js";
import { meshToPly, meshToStl } from "../../io/mesh.js";
import { readPointCloud } from "../../io/node/readPointCloud.js";
import { parsePly, parseXyz } from "../../io/pointCloud.js";

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
      /cut.ply: file ends inside the vertex data/,
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
