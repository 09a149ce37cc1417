/**
 * Point clouds from files: XYZ/CSV/TXT (whitespace or commas; x y z, optionally followed by u v), PLY (ascii
 * and binary, vertex x y z, optional u v / s t), and G+Smo's parametrised point-cloud XML (matrix id 0 holds
 * the (u, v) parameters, matrix id 1 the (x, y, z) points, each stored row by row).
 * `points  #points by 3`, `params  #points by 2` when the file has them.
 *
 * Every count a file declares is checked against the bytes or lines the file actually holds before anything
 * is allocated, so memory stays proportional to the file's size; files above POINT_CLOUD_MAX_BYTES are
 * refused unread.
 */
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { FormatError } from "./errors.js";
import { parseNumberList } from "./gismoXml.js";

/** A point cloud, with per-point parameters when the file gives them. */
export interface PointCloud {
  points: Float64Array;
  params?: Float64Array;
}

/** Extensions readPointCloud (thbspline/node) understands. */
export const POINT_CLOUD_EXTENSIONS = [".xyz", ".csv", ".txt", ".ply", ".xml"];

/** Largest point-cloud file read (256 MiB: some 8 M XYZ points; parsing needs a few times this in memory). */
export const POINT_CLOUD_MAX_BYTES = 2 ** 28;

/** A decimal number as data files write it (no hex, no separators); NaN/Infinity spellings match NON_FINITE. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;

/** A growable Float64Array (amortised doubling), so large clouds never sit in JS number arrays. */
class Float64Builder {
  data = new Float64Array(1024);
  length = 0;
  push(x: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(2 * this.data.length);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = x;
  }
  result(): Float64Array {
    return this.data.slice(0, this.length);
  }
}

/**
 * XYZ/CSV/TXT: one point per line, 3 or 5 numbers; '#' comments are skipped, and so is a header line such
 * as "x,y,z" when it is the first line with data (a line of numbers, NaN or Infinity is never a header).
 */
export function parseXyz(text: string, where = "points"): PointCloud {
  const points = new Float64Builder();
  const params = new Float64Builder();
  let columns = 0;
  let lineNumber = 0;
  let seenData = false;
  for (let start = 0; start <= text.length; ) {
    let end = text.indexOf("\n", start);
    if (end < 0) end = text.length;
    const raw = text.slice(start, end);
    start = end + 1;
    lineNumber++;
    const hash = raw.indexOf("#");
    const line = (hash >= 0 ? raw.slice(0, hash) : raw).trim();
    if (line === "") continue;
    const fields = line.split(/[\s,;]+/).filter((f) => f !== "");
    if (!seenData) {
      seenData = true;
      if (fields.some((f) => !DECIMAL.test(f) && !NON_FINITE.test(f) && /[a-z]/i.test(f))) continue;
    }
    if (columns === 0) {
      if (fields.length !== 3 && fields.length !== 5) {
        throw new FormatError(
          `${where}: line ${lineNumber} has ${fields.length} numbers, expected 3 (x y z) or 5 (x y z u v)`,
        );
      }
      columns = fields.length;
    }
    if (fields.length !== columns) {
      throw new FormatError(
        `${where}: line ${lineNumber} has ${fields.length} numbers, expected ${columns} like the first row`,
      );
    }
    for (let k = 0; k < columns; k++) {
      const x = DECIMAL.test(fields[k]) ? Number(fields[k]) : Number.NaN;
      if (!Number.isFinite(x)) {
        throw new FormatError(
          `${where}: line ${lineNumber}, column ${k + 1} is "${fields[k]}", expected a finite number`,
        );
      }
      if (k < 3) points.push(x);
      else params.push(x);
    }
  }
  return { points: points.result(), ...(columns === 5 ? { params: params.result() } : {}) };
}

/** PLY scalar types: size in bytes, reader, and whether the type holds integers. */
const PLY_TYPES: Record<
  string,
  { bytes: number; read: (view: DataView, offset: number, little: boolean) => number; integer: boolean }
> = {};
for (const [names, bytes, integer, read] of [
  [["char", "int8"], 1, true, (v: DataView, o: number) => v.getInt8(o)],
  [["uchar", "uint8"], 1, true, (v: DataView, o: number) => v.getUint8(o)],
  [["short", "int16"], 2, true, (v: DataView, o: number, l: boolean) => v.getInt16(o, l)],
  [["ushort", "uint16"], 2, true, (v: DataView, o: number, l: boolean) => v.getUint16(o, l)],
  [["int", "int32"], 4, true, (v: DataView, o: number, l: boolean) => v.getInt32(o, l)],
  [["uint", "uint32"], 4, true, (v: DataView, o: number, l: boolean) => v.getUint32(o, l)],
  [["float", "float32"], 4, false, (v: DataView, o: number, l: boolean) => v.getFloat32(o, l)],
  [["double", "float64"], 8, false, (v: DataView, o: number, l: boolean) => v.getFloat64(o, l)],
] as const) {
  for (const name of names) PLY_TYPES[name] = { bytes, integer, read };
}

interface PlyProperty {
  name: string;
  type: string;
  /** The count type of a list property (its items have `type`). */
  countType?: string;
}

interface PlyElement {
  name: string;
  count: number;
  properties: PlyProperty[];
}

/** Bytes as Latin-1 text, without Node's Buffer (the parsers run in browsers too). */
const LATIN1 = new TextDecoder("latin1");
function latin1(bytes: Uint8Array): string {
  return LATIN1.decode(bytes);
}

/** The header of a PLY file: format, elements in order, and where the body starts. */
function parsePlyHeader(data: Uint8Array, where: string) {
  const bytes = data;
  const notPly = () => new FormatError(`${where}: not a PLY file (expected "ply" … "end_header")`);
  if (!(latin1(bytes.subarray(0, 4)) === "ply\n" || latin1(bytes.subarray(0, 5)) === "ply\r\n"))
    throw notPly();
  let format = "";
  const elements: PlyElement[] = [];
  let offset = 0;
  let lineNumber = 0;
  for (;;) {
    const end = bytes.indexOf(10, offset);
    const line = latin1(bytes.subarray(offset, end < 0 ? bytes.length : end)).trim();
    offset = end < 0 ? bytes.length : end + 1;
    lineNumber++;
    const parts = line.split(/\s+/);
    const bad = (expected: string) =>
      new FormatError(`${where}: header line ${lineNumber} "${line.slice(0, 80)}": expected ${expected}`);
    if (line === "end_header") break;
    if (end < 0) throw notPly();
    if (lineNumber === 1 || line === "" || parts[0] === "comment" || parts[0] === "obj_info") continue;
    if (parts[0] === "format") {
      if (parts.length !== 3 || !["ascii", "binary_little_endian", "binary_big_endian"].includes(parts[1]))
        throw bad("format ascii|binary_little_endian|binary_big_endian 1.0");
      if (format !== "") throw bad("a single format line");
      format = parts[1];
    } else if (parts[0] === "element") {
      if (parts.length !== 3 || !/^\d+$/.test(parts[2]) || !Number.isSafeInteger(Number(parts[2])))
        throw bad("element NAME COUNT with a whole number COUNT ≥ 0");
      if (elements.some((e) => e.name === parts[1])) throw bad(`one element "${parts[1]}"`);
      elements.push({ name: parts[1], count: Number(parts[2]), properties: [] });
    } else if (parts[0] === "property") {
      const element = elements[elements.length - 1];
      if (!element) throw bad("an element line before its properties");
      const types = Object.keys(PLY_TYPES).join(", ");
      if (parts[1] === "list") {
        if (parts.length !== 5 || !PLY_TYPES[parts[2]]?.integer || !PLY_TYPES[parts[3]])
          throw bad(
            `property list COUNT_TYPE ITEM_TYPE NAME with an integer count type and types among ${types}`,
          );
        element.properties.push({ name: parts[4], type: parts[3], countType: parts[2] });
      } else {
        if (parts.length !== 3 || !PLY_TYPES[parts[1]])
          throw bad(`property TYPE NAME with TYPE among ${types}`);
        element.properties.push({ name: parts[2], type: parts[1] });
      }
    } else {
      throw bad("format, element, property, comment, obj_info or end_header");
    }
  }
  if (format === "") throw new FormatError(`${where}: no "format" line in the header`);
  return { format, elements, bodyStart: offset };
}

/** PLY (ascii, binary_little_endian, binary_big_endian): the vertex element's x y z and optional u v. */
export function parsePly(data: Uint8Array, where = "points.ply"): PointCloud {
  const { format, elements, bodyStart } = parsePlyHeader(data, where);
  const vertexIndex = elements.findIndex((e) => e.name === "vertex");
  if (vertexIndex < 0) throw new FormatError(`${where}: no "vertex" element`);
  const vertex = elements[vertexIndex];
  const names = vertex.properties.map((p) => p.name);
  for (const axis of ["x", "y", "z"]) {
    const property = vertex.properties.find((p) => p.name === axis);
    if (!property) throw new FormatError(`${where}: vertex has no "${axis}" property`);
    if (property.countType)
      throw new FormatError(`${where}: vertex property "${axis}" is a list, expected a number`);
  }
  const uName = names.includes("u") ? "u" : names.includes("s") ? "s" : undefined;
  const vName = names.includes("v") ? "v" : names.includes("t") ? "t" : undefined;
  const hasParams =
    uName !== undefined &&
    vName !== undefined &&
    !vertex.properties.some((p) => (p.name === uName || p.name === vName) && p.countType);
  // slot of each vertex property: 0–2 x y z, 3–4 u v, −1 not kept
  const slots = vertex.properties.map((p) =>
    p.countType
      ? -1
      : ["x", "y", "z"].includes(p.name)
        ? ["x", "y", "z"].indexOf(p.name)
        : hasParams && p.name === uName
          ? 3
          : hasParams && p.name === vName
            ? 4
            : -1,
  );
  const body = data.subarray(bodyStart);
  const read = format === "ascii" ? readPlyAscii : readPlyBinary;
  let points: Float64Array | undefined;
  let params: Float64Array | undefined;
  read(body, elements, format === "binary_little_endian", where, (count) => {
    points = new Float64Array(count * 3);
    params = hasParams ? new Float64Array(count * 2) : undefined;
    return (i: number, k: number, value: number) => {
      const slot = slots[k];
      if (slot < 0) return;
      if (!Number.isFinite(value))
        throw new FormatError(
          `${where}: vertex ${i}, property "${vertex.properties[k].name}" is ${value}, expected a finite number`,
        );
      if (slot < 3) points![3 * i + slot] = value;
      else params![2 * i + slot - 3] = value;
    };
  });
  return { points: points ?? new Float64Array(0), ...(params ? { params } : {}) };
}

/** Receives one vertex property value (vertex i, property k); built once the vertex count is checked. */
type VertexSink = (count: number) => (i: number, k: number, value: number) => void;

/** Binary body: every element's bytes are checked against what the file holds before they are read. */
function readPlyBinary(
  body: Uint8Array,
  elements: PlyElement[],
  little: boolean,
  where: string,
  sink: VertexSink,
) {
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  let offset = 0;
  for (const element of elements) {
    const fixed = element.properties.reduce(
      (a, p) => a + (p.countType ? PLY_TYPES[p.countType] : PLY_TYPES[p.type]).bytes,
      0,
    );
    const remaining = body.byteLength - offset;
    // `fixed` is the least an item can take (lists may be empty); a count of items taking no bytes reads nothing
    if (fixed > 0 && element.count > remaining / fixed) {
      throw new FormatError(
        `${where}: element "${element.name}" declares ${element.count} items of at least ${fixed} bytes, but only ${remaining} bytes remain`,
      );
    }
    const store = element.name === "vertex" ? sink(element.count) : undefined;
    const hasLists = element.properties.some((p) => p.countType);
    if (!hasLists && !store) {
      offset += element.count * fixed;
      continue;
    }
    for (let i = 0; i < element.count; i++) {
      element.properties.forEach((p, k) => {
        if (p.countType) {
          const countType = PLY_TYPES[p.countType];
          const item = PLY_TYPES[p.type];
          if (offset + countType.bytes > body.byteLength)
            throw new FormatError(`${where}: file ends inside element "${element.name}" ${i}`);
          const n = countType.read(view, offset, little);
          offset += countType.bytes;
          if (n < 0 || n * item.bytes > body.byteLength - offset)
            throw new FormatError(
              `${where}: element "${element.name}" ${i}, list "${p.name}" has ${n} items; ${body.byteLength - offset} bytes remain`,
            );
          offset += n * item.bytes;
        } else {
          const type = PLY_TYPES[p.type];
          if (offset + type.bytes > body.byteLength)
            throw new FormatError(`${where}: file ends inside element "${element.name}" ${i}`);
          const value = type.read(view, offset, little);
          offset += type.bytes;
          store?.(i, k, value);
        }
      });
    }
  }
  if (offset !== body.byteLength) {
    throw new FormatError(
      `${where}: ${body.byteLength - offset} bytes follow the last element; the header declares ${describeCounts(elements)}`,
    );
  }
}

/** "3 vertex, 1 face" for messages. */
function describeCounts(elements: PlyElement[]): string {
  return elements.map((e) => `${e.count} ${e.name}`).join(", ") || "no elements";
}

/** ASCII body: one line per item; the line count is checked against the header's counts first. */
function readPlyAscii(
  body: Uint8Array,
  elements: PlyElement[],
  _little: boolean,
  where: string,
  sink: VertexSink,
) {
  const lines = latin1(body)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
  // an item with no properties has no line to hold it
  const itemLines = (e: PlyElement) => (e.properties.length > 0 ? e.count : 0);
  const declared = elements.reduce((a, e) => a + itemLines(e), 0);
  if (declared !== lines.length) {
    throw new FormatError(
      `${where}: the body has ${lines.length} lines, but the header declares ${describeCounts(elements)} (${declared} lines)`,
    );
  }
  let line = 0;
  for (const element of elements) {
    const store = element.name === "vertex" ? sink(element.count) : undefined;
    for (let i = 0; i < itemLines(element); i++, line++) {
      const fields = lines[line].split(/\s+/);
      let f = 0;
      const next = (type: string, what: string): number => {
        const field = fields[f++];
        const x = field !== undefined && DECIMAL.test(field) ? Number(field) : Number.NaN;
        if (!Number.isFinite(x) || (PLY_TYPES[type].integer && !Number.isInteger(x)))
          throw new FormatError(
            `${where}: element "${element.name}" ${i} (body line ${line + 1}), ${what} is ${field === undefined ? "missing" : `"${field}"`}, expected a finite ${PLY_TYPES[type].integer ? "integer" : "number"} (${type})`,
          );
        return x;
      };
      element.properties.forEach((p, k) => {
        if (p.countType) {
          const n = next(p.countType, `the count of list "${p.name}"`);
          if (n < 0 || n > fields.length - f)
            throw new FormatError(
              `${where}: element "${element.name}" ${i} (body line ${line + 1}), list "${p.name}" has ${n} items but the line holds ${fields.length - f} more values`,
            );
          for (let item = 0; item < n; item++) next(p.type, `item ${item} of list "${p.name}"`);
        } else {
          const value = next(p.type, `property "${p.name}"`);
          store?.(i, k, value);
        }
      });
      if (f !== fields.length) {
        throw new FormatError(
          `${where}: element "${element.name}" ${i} (body line ${line + 1}) has ${fields.length} values, expected ${f}`,
        );
      }
    }
  }
}

/** G+Smo parametrised point cloud: Matrix id 0 (2 × N parameters) and id 1 (3 × N points), row by row. */
export function parseGismoPointCloud(xml: string, where = "points.xml"): PointCloud {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new FormatError(`${where}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: "@",
    parseTagValue: false,
    isArray: (n) => n === "Matrix",
  });
  type MatrixNode = { "@id"?: string; "@rows"?: string; "@cols"?: string; "#text"?: string };
  let doc: { xml?: { Matrix?: MatrixNode[] } };
  try {
    doc = parser.parse(xml);
  } catch (error) {
    throw new FormatError(`${where}: not well-formed XML (${(error as Error).message})`);
  }
  if (doc?.xml === undefined) throw new FormatError(`${where}: expected a root <xml> element`);
  const matrices = (doc.xml?.Matrix ?? []).filter(
    (m): m is MatrixNode => m !== null && typeof m === "object",
  );
  const byId = (id: string) => matrices.find((m) => String(m["@id"]) === id);
  const read = (id: string, rows: number) => {
    const m = byId(id);
    if (!m) throw new FormatError(`${where}: no <Matrix id="${id}">`);
    if (m["@rows"] !== String(rows))
      throw new FormatError(`${where}: Matrix ${id} has rows="${m["@rows"]}", expected ${rows}`);
    const cols = Number(m["@cols"]);
    if (!/^\d+$/.test(String(m["@cols"])) || !Number.isSafeInteger(cols))
      throw new FormatError(`${where}: Matrix ${id} has cols="${m["@cols"]}", expected a whole number`);
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
