/**
 * Point clouds from files: XYZ/CSV/TXT (whitespace or commas; x y z, optionally followed by u v), PLY (ascii
 * and binary, vertex x y z, optional u v / s t), and G+Smo's parametrised point-cloud XML (matrix id 0 holds
 * the (u, v) parameters, matrix id 1 the (x, y, z) points, each stored row by row).
 * `points  #points by 3`, `params  #points by 2` when the file has them.
 */
import { XMLParser } from "fast-xml-parser";
import { FormatError } from "./errors.js";
import { parseNumberList } from "./gismoXml.js";

/** A point cloud, with per-point parameters when the file gives them. */
export interface PointCloud {
  points: Float64Array;
  params?: Float64Array;
}

/** Extensions readPointCloud (thbspline/node) understands. */
export const POINT_CLOUD_EXTENSIONS = [".xyz", ".csv", ".txt", ".ply", ".xml"];

/** XYZ/CSV/TXT: one point per line, 3 or 5 numbers; '#' comments and a non-numeric header line are skipped. */
export function parseXyz(text: string, where = "points"): PointCloud {
  const points: number[] = [];
  const params: number[] = [];
  let columns = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, index) => {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") return;
    const fields = line.split(/[\s,;]+/).filter((f) => f !== "");
    const values = fields.map(Number);
    if (
      values.some((x) => Number.isNaN(x)) &&
      points.length === 0 &&
      columns === 0 &&
      fields.some((f) => /[a-z]/i.test(f))
    ) {
      return; // a header line such as "x,y,z"
    }
    if (columns === 0) {
      if (values.length !== 3 && values.length !== 5) {
        throw new FormatError(
          `${where}: line ${index + 1} has ${values.length} numbers, expected 3 (x y z) or 5 (x y z u v)`,
        );
      }
      columns = values.length;
    }
    if (values.length !== columns) {
      throw new FormatError(
        `${where}: line ${index + 1} has ${values.length} numbers, expected ${columns} like the first row`,
      );
    }
    for (let k = 0; k < values.length; k++) {
      if (!Number.isFinite(values[k])) {
        throw new FormatError(
          `${where}: line ${index + 1}, column ${k + 1} is "${fields[k]}", expected a finite number`,
        );
      }
    }
    points.push(values[0], values[1], values[2]);
    if (columns === 5) params.push(values[3], values[4]);
  });
  return {
    points: Float64Array.from(points),
    ...(columns === 5 ? { params: Float64Array.from(params) } : {}),
  };
}

const PLY_TYPES: Record<string, [number, (view: DataView, offset: number, little: boolean) => number]> = {
  char: [1, (v, o) => v.getInt8(o)],
  int8: [1, (v, o) => v.getInt8(o)],
  uchar: [1, (v, o) => v.getUint8(o)],
  uint8: [1, (v, o) => v.getUint8(o)],
  short: [2, (v, o, l) => v.getInt16(o, l)],
  int16: [2, (v, o, l) => v.getInt16(o, l)],
  ushort: [2, (v, o, l) => v.getUint16(o, l)],
  uint16: [2, (v, o, l) => v.getUint16(o, l)],
  int: [4, (v, o, l) => v.getInt32(o, l)],
  int32: [4, (v, o, l) => v.getInt32(o, l)],
  uint: [4, (v, o, l) => v.getUint32(o, l)],
  uint32: [4, (v, o, l) => v.getUint32(o, l)],
  float: [4, (v, o, l) => v.getFloat32(o, l)],
  float32: [4, (v, o, l) => v.getFloat32(o, l)],
  double: [8, (v, o, l) => v.getFloat64(o, l)],
  float64: [8, (v, o, l) => v.getFloat64(o, l)],
};

/** PLY (ascii, binary_little_endian, binary_big_endian): the vertex element's x y z and optional u v. */
export function parsePly(data: Uint8Array, where = "points.ply"): PointCloud {
  const headerEnd = Buffer.from(data).indexOf("end_header");
  if (headerEnd < 0 || !Buffer.from(data.subarray(0, 3)).equals(Buffer.from("ply"))) {
    throw new FormatError(`${where}: not a PLY file (expected "ply" … "end_header")`);
  }
  const header = Buffer.from(data.subarray(0, headerEnd)).toString("latin1").split(/\r?\n/);
  let bodyStart = headerEnd + "end_header".length;
  if (data[bodyStart] === 13) bodyStart++;
  if (data[bodyStart] === 10) bodyStart++;
  let format = "";
  const elements: {
    name: string;
    count: number;
    properties: { name: string; type: string; list?: [string, string] }[];
  }[] = [];
  for (const line of header) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] === "format") format = parts[1];
    else if (parts[0] === "element")
      elements.push({ name: parts[1], count: Number(parts[2]), properties: [] });
    else if (parts[0] === "property") {
      const element = elements[elements.length - 1];
      if (!element) throw new FormatError(`${where}: property before any element in the header`);
      if (parts[1] === "list")
        element.properties.push({ name: parts[4], type: parts[3], list: [parts[2], parts[3]] });
      else element.properties.push({ name: parts[2], type: parts[1] });
    }
  }
  if (!["ascii", "binary_little_endian", "binary_big_endian"].includes(format)) {
    throw new FormatError(
      `${where}: format "${format}", expected ascii, binary_little_endian or binary_big_endian`,
    );
  }
  const vertexIndex = elements.findIndex((e) => e.name === "vertex");
  if (vertexIndex < 0) throw new FormatError(`${where}: no "vertex" element`);
  const vertex = elements[vertexIndex];
  const names = vertex.properties.map((p) => p.name);
  for (const axis of ["x", "y", "z"]) {
    if (!names.includes(axis)) throw new FormatError(`${where}: vertex has no "${axis}" property`);
  }
  const uName = names.includes("u") ? "u" : names.includes("s") ? "s" : undefined;
  const vName = names.includes("v") ? "v" : names.includes("t") ? "t" : undefined;
  const hasParams = uName !== undefined && vName !== undefined;
  const points = new Float64Array(vertex.count * 3);
  const params = hasParams ? new Float64Array(vertex.count * 2) : undefined;
  const store = (i: number, name: string, value: number) => {
    if (!Number.isFinite(value))
      throw new FormatError(
        `${where}: vertex ${i}, property "${name}" is ${value}, expected a finite number`,
      );
    const axis = ["x", "y", "z"].indexOf(name);
    if (axis >= 0) points[3 * i + axis] = value;
    else if (params && name === uName) params[2 * i] = value;
    else if (params && name === vName) params[2 * i + 1] = value;
  };
  if (format === "ascii") {
    const lines = Buffer.from(data.subarray(bodyStart))
      .toString("latin1")
      .split(/\r?\n/)
      .filter((l) => l.trim() !== "");
    let line = 0;
    for (let e = 0; e < vertexIndex; e++) line += elements[e].count;
    for (let i = 0; i < vertex.count; i++) {
      const fields = (lines[line + i] ?? "").trim().split(/\s+/);
      if (fields.length < vertex.properties.length) {
        throw new FormatError(
          `${where}: vertex ${i} has ${fields.length} values, expected ${vertex.properties.length}`,
        );
      }
      vertex.properties.forEach((p, k) => {
        store(i, p.name, Number(fields[k]));
      });
    }
  } else {
    const little = format === "binary_little_endian";
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let offset = bodyStart;
    const readValue = (type: string): number => {
      const entry = PLY_TYPES[type];
      if (!entry) throw new FormatError(`${where}: unknown property type "${type}"`);
      if (offset + entry[0] > data.byteLength)
        throw new FormatError(`${where}: file ends inside the vertex data`);
      const value = entry[1](view, offset, little);
      offset += entry[0];
      return value;
    };
    for (let e = 0; e <= vertexIndex; e++) {
      const element = elements[e];
      for (let i = 0; i < element.count; i++) {
        for (const p of element.properties) {
          if (p.list) {
            const n = readValue(p.list[0]);
            for (let k = 0; k < n; k++) readValue(p.list[1]);
          } else {
            const value = readValue(p.type);
            if (e === vertexIndex) store(i, p.name, value);
          }
        }
      }
    }
  }
  return { points, ...(params ? { params } : {}) };
}

/** G+Smo parametrised point cloud: Matrix id 0 (2 × N parameters) and id 1 (3 × N points), row by row. */
export function parseGismoPointCloud(xml: string, where = "points.xml"): PointCloud {
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    parseTagValue: false,
    isArray: (n) => n === "Matrix",
  });
  let doc: { xml?: { Matrix?: { "@id"?: string; "@rows"?: string; "@cols"?: string; "#text"?: string }[] } };
  try {
    doc = parser.parse(xml);
  } catch (error) {
    throw new FormatError(`${where}: not well-formed XML (${(error as Error).message})`);
  }
  const matrices = doc?.xml?.Matrix ?? [];
  const byId = (id: string) => matrices.find((m) => String(m["@id"]) === id);
  const read = (id: string, rows: number) => {
    const m = byId(id);
    if (!m) throw new FormatError(`${where}: no <Matrix id="${id}">`);
    if (Number(m["@rows"]) !== rows)
      throw new FormatError(`${where}: Matrix ${id} has rows="${m["@rows"]}", expected ${rows}`);
    const cols = Number(m["@cols"]);
    const values = parseNumberList(m["#text"] ?? "", `${where}: Matrix ${id}`);
    if (values.length !== rows * cols) {
      throw new FormatError(
        `${where}: Matrix ${id} holds ${values.length} numbers, expected rows × cols = ${rows * cols}`,
      );
    }
    // stored row by row: value (r, c) at r·cols + c; we want point-major
    const out = new Float64Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c];
    return { values: out, cols };
  };
  const points = read("1", 3);
  const params = read("0", 2);
  if (points.cols !== params.cols) {
    throw new FormatError(
      `${where}: Matrix 0 has ${params.cols} columns but Matrix 1 has ${points.cols}; expected one parameter pair per point`,
    );
  }
  return { points: points.values, params: params.values };
}
