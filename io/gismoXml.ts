/**
 * G+Smo XML for hierarchical splines: `gsTHBSplineBasis` / `gsHBSplineBasis` (types THBSplineBasis2/3,
 * HBSplineBasis2/3) and geometries `gsTHBSpline` / `gsHBSpline` (THBSpline2/3, HBSpline2/3). Boxes are
 * `<box level="L">lo_0 … lo_{d-1} hi_0 … hi_{d-1}</box>`, coefficients `<coefs geoDim="k">` one row per
 * function in the hierarchical numbering (by level, then tensor index, first direction fastest).
 */
import { XMLBuilder, XMLParser, XMLValidator } from "fast-xml-parser";
import { FormatError } from "./errors.js";
import type { FieldDescription, HierarchyDescription } from "./hierarchyDescription.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed XML is untyped until checked here
type Node = any;

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  parseTagValue: false,
  isArray: (name) => ["Basis", "box", "Geometry", "Matrix"].includes(name),
});

/** Numbers of a whitespace-separated text, with the field named in errors. */
export function parseNumberList(text: unknown, where: string): number[] {
  const s = typeof text === "string" ? text : typeof text === "number" ? String(text) : "";
  const parts = s
    .trim()
    .split(/\s+/)
    .filter((x) => x.length > 0);
  return parts.map((part, i) => {
    const x = Number(part);
    if (!Number.isFinite(x))
      throw new FormatError(`${where}: entry ${i} is "${part}", expected a finite number`);
    return x;
  });
}

function textOf(node: Node): string {
  if (node == null) return "";
  if (typeof node === "string" || typeof node === "number") return String(node);
  return node["#text"] ?? "";
}

/** Reads the hierarchical basis element; `where` names the file for messages. */
function readBasis(basis: Node, where: string): HierarchyDescription {
  const type = String(basis?.["@type"] ?? "");
  const match = /^(T?)HBSplineBasis([23])$/.exec(type);
  if (!match) {
    throw new FormatError(`${where}: Basis type "${type}", expected THBSplineBasis2/3 or HBSplineBasis2/3`);
  }
  const d = Number(match[2]);
  const tensor = (basis.Basis ?? []).find((b: Node) => String(b["@type"]).startsWith("TensorBSplineBasis"));
  if (!tensor) throw new FormatError(`${where}: ${type} has no inner TensorBSplineBasis${d}`);
  const directions: Node[] = tensor.Basis ?? [];
  if (directions.length !== d) {
    throw new FormatError(
      `${where}: TensorBSplineBasis${d} must hold ${d} BSplineBasis elements, found ${directions.length}`,
    );
  }
  const ordered = [...directions].sort((a, b) => Number(a["@index"] ?? 0) - Number(b["@index"] ?? 0));
  const degree: number[] = [];
  const knots: number[][] = [];
  ordered.forEach((b, k) => {
    const kv = b.KnotVector;
    if (!kv) throw new FormatError(`${where}: BSplineBasis ${k} has no KnotVector`);
    const p = Number(kv["@degree"]);
    if (!Number.isInteger(p))
      throw new FormatError(`${where}: KnotVector ${k} degree "${kv["@degree"]}", expected an integer`);
    degree.push(p);
    knots.push(parseNumberList(textOf(kv), `${where}: KnotVector ${k}`));
  });
  const boxes = (basis.box ?? []).map((box: Node, i: number) => {
    const level = Number(box["@level"]);
    if (!Number.isInteger(level))
      throw new FormatError(`${where}: box ${i} level "${box["@level"]}", expected an integer`);
    const range = parseNumberList(textOf(box), `${where}: box ${i}`);
    if (range.length !== 2 * d)
      throw new FormatError(`${where}: box ${i} holds ${range.length} numbers, expected ${2 * d}`);
    return [level, ...range];
  });
  return { degree, knots, truncated: match[1] === "T", boxes };
}

/** Parses a G+Smo XML text holding a THB/HB basis or geometry (the first one found). */
export function parseGismoHierarchy(
  xml: string,
  where = "G+Smo XML",
): HierarchyDescription | FieldDescription {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new FormatError(`${where}: not well-formed XML (line ${valid.err.line}: ${valid.err.msg})`);
  }
  let doc: Node;
  try {
    doc = parser.parse(xml);
  } catch (error) {
    throw new FormatError(`${where}: not well-formed XML (${(error as Error).message})`);
  }
  const root = doc?.xml;
  if (!root) throw new FormatError(`${where}: expected a root <xml> element`);
  const geometry = (root.Geometry ?? [])[0];
  if (geometry) {
    const basis = (geometry.Basis ?? [])[0];
    const description = readBasis(basis, where);
    const coefs = geometry.coefs;
    const dim = Number(coefs?.["@geoDim"]);
    if (!Number.isInteger(dim) || dim < 1)
      throw new FormatError(`${where}: coefs geoDim "${coefs?.["@geoDim"]}", expected a positive integer`);
    const control = parseNumberList(textOf(coefs), `${where}: coefs`);
    if (control.length % dim !== 0)
      throw new FormatError(
        `${where}: coefs hold ${control.length} numbers, not a multiple of geoDim ${dim}`,
      );
    return { ...description, dim, control };
  }
  const basis = (root.Basis ?? [])[0];
  if (!basis) throw new FormatError(`${where}: no <Geometry> or <Basis> element found`);
  return readBasis(basis, where);
}

const builder = new XMLBuilder({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  format: true,
  indentBy: " ",
});

function basisNode(h: HierarchyDescription, levels: number): Node {
  const d = h.degree.length;
  return {
    "@type": `${h.truncated ? "T" : ""}HBSplineBasis${d}`,
    "@levels": String(levels),
    Basis: [
      {
        "@type": `TensorBSplineBasis${d}`,
        Basis: h.degree.map((p, k) => ({
          "@type": "BSplineBasis",
          "@index": String(k),
          KnotVector: { "@degree": String(p), "#text": h.knots[k].map(formatNumber).join(" ") },
        })),
      },
    ],
    box: h.boxes.map((b) => ({ "@level": String(b[0]), "#text": b.slice(1).join(" ") })),
  };
}

/** Shortest text that reads back to the same double. */
function formatNumber(x: number): string {
  return String(x);
}

/** G+Smo XML for a basis (no coefficients) or a geometry (with `dim` and `control`). */
export function writeGismoHierarchy(h: HierarchyDescription | FieldDescription, levels: number): string {
  const basis = basisNode(h, levels);
  const d = h.degree.length;
  let body: Node;
  if ("control" in h) {
    const rows: string[] = [];
    for (let i = 0; i < h.control.length; i += h.dim)
      rows.push(
        h.control
          .slice(i, i + h.dim)
          .map(formatNumber)
          .join(" "),
      );
    body = {
      Geometry: [
        {
          "@type": `${h.truncated ? "T" : ""}HBSpline${d}`,
          "@id": "0",
          Basis: [basis],
          coefs: { "@geoDim": String(h.dim), "#text": rows.join("\n") },
        },
      ],
    };
  } else {
    body = { Basis: [basis] };
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ xml: body })}`;
}
