/**
 * Fuzz of every parser (fast-check, fixed seed, 5,000 cases each): XYZ/CSV, ASCII PLY, binary PLY, G+Smo XML
 * (point clouds and hierarchies), the field JSON reader and the `thb basis` spec reader. Cases start from a
 * structurally valid file built from a random model and then mutate counts, types, tokens, lines or bytes,
 * so the parsers get past their first line. Every case must end in a result or one of the project's named
 * errors, take under a second, and keep what it allocates proportional to its input (checked per case on
 * the result, and across the run on the process's heap and array buffers).
 */
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { basisProbe } from "../../cli/basis.js";
import { InputError } from "../../cli/readInput.js";
import { HierarchyError } from "../../hierarchy/errors.js";
import type { THBSpace } from "../../hierarchy/thbSpace.js";
import { FormatError } from "../../io/errors.js";
import { parseGismoHierarchy } from "../../io/gismoXml.js";
import type { FieldDescription } from "../../io/hierarchyDescription.js";
import { DESCRIPTION_LIMITS } from "../../io/hierarchyDescription.js";
import { type PointCloud, parseGismoPointCloud, parsePly, parseXyz } from "../../io/pointCloud.js";
import {
  checkHierarchyDescription,
  fieldFromDescription,
  fieldFromJson,
  spaceFromDescription,
} from "../../io/serialization.js";
import { ArgumentError, DegreeError, KnotVectorError } from "../../splines/errors.js";

const SEED = 20261201;
const RUNS = 5000;
/** Slowest case allowed. */
const CASE_MS = 1000;
/** Growth of heapUsed + arrayBuffers over the run's start allowed at any sampled case. */
const MEMORY_GROWTH = 256 * 2 ** 20;

const NAMED = [FormatError, HierarchyError, KnotVectorError, DegreeError, ArgumentError, InputError];

/** What the run saw: slowest case and largest memory growth, per parser. */
const seen: Record<
  string,
  { slowestMs: number; totalMs: number; memoryGrowth: number; results: number; errors: number }
> = {};
const baseline = (() => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
})();
let sampleCounter = 0;
const errorsSeen: Record<string, string[]> = {};

/** Runs one case: a named error or a result is fine; anything else, a slow case or runaway memory fails. */
function runCase<T>(parser: string, input: string | Uint8Array, parse: () => T, check: (result: T) => void) {
  const t0 = performance.now();
  let result: T | undefined;
  let failed = false;
  try {
    result = parse();
  } catch (error) {
    failed = true;
    if (process.env.FUZZ_REPORT) {
      errorsSeen[parser] = errorsSeen[parser] ?? [];
      errorsSeen[parser].push((error as Error).message.slice(0, 60));
    }
    if (!NAMED.some((kind) => error instanceof kind)) {
      throw new Error(
        `${parser}: ${(error as Error)?.name}: ${(error as Error)?.message} on input ${JSON.stringify(typeof input === "string" ? input.slice(0, 400) : Array.from(input.subarray(0, 200)))}`,
      );
    }
    // named errors must say where: every parser here is given a file name
    expect((error as Error).message).toMatch(/^(fuzz\.\w+|SPEC|POINTS)[:\s]/);
  }
  const ms = performance.now() - t0;
  if (!failed) check(result as T);
  seen[parser] = seen[parser] ?? { slowestMs: 0, totalMs: 0, memoryGrowth: 0, results: 0, errors: 0 };
  const record = seen[parser];
  if (failed) record.errors++;
  else record.results++;
  record.slowestMs = Math.max(record.slowestMs, ms);
  record.totalMs += ms;
  if (ms > CASE_MS) throw new Error(`${parser}: a case took ${ms.toFixed(0)} ms (limit ${CASE_MS})`);
  if (++sampleCounter % 16 === 0) {
    const m = process.memoryUsage();
    const growth = m.heapUsed + m.arrayBuffers - baseline;
    record.memoryGrowth = Math.max(record.memoryGrowth, growth);
    if (growth > MEMORY_GROWTH) throw new Error(`${parser}: memory grew by ${growth} bytes`);
  }
}

/** A cloud read from `bytes` bytes: finite, whole points, and at most one stored value per input byte. */
function checkCloud(cloud: PointCloud, bytes: number) {
  expect(cloud.points.length % 3).toBe(0);
  expect(cloud.points.length).toBeLessThanOrEqual(bytes);
  expect(cloud.points.every(Number.isFinite)).toBe(true);
  if (cloud.params) {
    expect(cloud.params.length).toBe((cloud.points.length / 3) * 2);
    expect(cloud.params.every(Number.isFinite)).toBe(true);
  }
}

/** A space built from a description stays within the stated bounds. */
function checkSpace(space: THBSpace) {
  expect(space.elements.length).toBeLessThanOrEqual(DESCRIPTION_LIMITS.elements);
}

// ---- mutations ---------------------------------------------------------------------------------------

/** Tokens a mutation may put in place of a number, a count, a type or a word. */
const weirdToken = fc.oneof(
  fc.constantFrom(
    "nan",
    "NaN",
    "inf",
    "-Infinity",
    "1e308",
    "-1e308",
    "1e12",
    "1000000000000000",
    "-5",
    "0",
    "1",
    "2.5",
    "0x10",
    "",
    "x",
    "floot",
    "list",
    "vertex",
    "face",
    "uchar",
    "double",
    "4294967295",
    "1e-320",
  ),
  fc.integer({ min: -10, max: 1e6 }).map(String),
  fc.double().map(String),
  fc.string({ maxLength: 6 }),
);

type TextMutation =
  | { kind: "token"; at: number; token: string }
  | { kind: "dropLine" | "copyLine"; at: number }
  | { kind: "cut"; at: number }
  | { kind: "insert"; at: number; text: string };

const textMutation: fc.Arbitrary<TextMutation> = fc.oneof(
  fc.record({ kind: fc.constant("token" as const), at: fc.nat(), token: weirdToken }),
  fc.record({ kind: fc.constantFrom("dropLine" as const, "copyLine" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant("insert" as const),
    at: fc.nat(),
    text: fc.oneof(weirdToken, fc.constantFrom("\n", " ", "<", ">", "</xml>", '"')),
  }),
);

/** Applies text mutations: replace a whitespace-separated token, drop or copy a line, cut the text, insert. */
function mutateText(text: string, mutations: TextMutation[]): string {
  let s = text;
  for (const m of mutations) {
    if (m.kind === "token") {
      const tokens = [...s.matchAll(/[^\s<>"=]+/g)];
      if (tokens.length === 0) continue;
      const t = tokens[m.at % tokens.length];
      s = s.slice(0, t.index) + m.token + s.slice((t.index ?? 0) + t[0].length);
    } else if (m.kind === "dropLine" || m.kind === "copyLine") {
      const lines = s.split("\n");
      const i = m.at % lines.length;
      if (m.kind === "dropLine") lines.splice(i, 1);
      else lines.splice(i, 0, lines[i]);
      s = lines.join("\n");
    } else if (m.kind === "cut") {
      s = s.slice(0, m.at % (s.length + 1));
    } else {
      const i = m.at % (s.length + 1);
      s = s.slice(0, i) + (m as { text: string }).text + s.slice(i);
    }
  }
  return s;
}

const mutations = fc.array(textMutation, { maxLength: 4 });

/** Coordinates: mostly ordinary, sometimes extreme. */
const coordinate = fc.oneof(
  { weight: 60, arbitrary: fc.double({ min: -1e3, max: 1e3, noNaN: true }) },
  { weight: 1, arbitrary: fc.double() },
);

// ---- XYZ / CSV ---------------------------------------------------------------------------------------

const xyzText = fc
  .record({
    header: fc.option(fc.constantFrom("x y z", "x,y,z,u,v", "X;Y;Z", "nan nan nan", "# scan")),
    columns: fc.constantFrom(3, 5),
    rows: fc.array(fc.array(coordinate, { minLength: 5, maxLength: 5 }), { maxLength: 30 }),
    separator: fc.constantFrom(" ", ",", ";", "\t", ", "),
    newline: fc.constantFrom("\n", "\r\n"),
    mutations,
  })
  .map(({ header, columns, rows, separator, newline, mutations: m }) => {
    const lines = rows.map((r) => r.slice(0, columns).map(String).join(separator));
    if (header) lines.unshift(header);
    return mutateText(lines.join(newline), m);
  });

// ---- PLY ---------------------------------------------------------------------------------------------

const PLY_SCALARS = ["char", "uchar", "short", "ushort", "int", "uint", "float", "double", "int8", "float32"];

interface PlyModel {
  before: { name: string; count: number; list: boolean }[];
  vertexProperties: { name: string; type: string }[];
  vertices: number[][];
  faces: number[][];
}

const plyModel: fc.Arbitrary<PlyModel> = fc
  .record({
    before: fc.array(
      fc.record({
        name: fc.constantFrom("edge", "material", "range_grid"),
        count: fc.oneof(fc.nat(3), fc.constantFrom(1e9, 1e15)),
        list: fc.boolean(),
      }),
      { maxLength: 2 },
    ),
    extra: fc.subarray(["u", "v", "nx", "s", "t"]),
    types: fc.array(fc.constantFrom(...PLY_SCALARS), { minLength: 8, maxLength: 8 }),
    vertices: fc.array(fc.array(coordinate, { minLength: 8, maxLength: 8 }), { maxLength: 12 }),
    faces: fc.array(fc.array(fc.nat(20), { maxLength: 4 }), { maxLength: 4 }),
  })
  .map(({ before, extra, types, vertices, faces }) => {
    const names = ["x", "y", "z", ...extra];
    return {
      // large counts only on empty elements, so the unmutated file stays consistent
      before: before.map((b) => (b.count > 3 ? { ...b, list: false } : b)),
      vertexProperties: names.map((name, k) => ({ name, type: types[k] })),
      vertices: vertices.map((v) => v.slice(0, names.length)),
      faces,
    };
  });

function plyHeader(model: PlyModel, format: string): string {
  const lines = ["ply", `format ${format} 1.0`, "comment fuzz"];
  for (const b of model.before) {
    lines.push(`element ${b.name} ${b.list ? b.count : b.count > 3 ? b.count : 0}`);
    if (b.list) lines.push("property list uchar int vertex_indices");
  }
  lines.push(`element vertex ${model.vertices.length}`);
  for (const p of model.vertexProperties) lines.push(`property ${p.type} ${p.name}`);
  lines.push(`element face ${model.faces.length}`, "property list uchar int vertex_indices", "end_header");
  return `${lines.join("\n")}\n`;
}

/** A value as a PLY type holds it (integers truncated into range). */
function asType(x: number, type: string): number {
  if (type.startsWith("float") || type === "double") return x;
  const ranges: Record<string, [number, number]> = {
    char: [-128, 127],
    int8: [-128, 127],
    uchar: [0, 255],
    short: [-32768, 32767],
    ushort: [0, 65535],
    int: [-(2 ** 31), 2 ** 31 - 1],
    uint: [0, 2 ** 32 - 1],
  };
  const [lo, hi] = ranges[type];
  return Math.min(hi, Math.max(lo, Number.isFinite(x) ? Math.trunc(x) : 0));
}

const asciiPly = fc.record({ model: plyModel, mutations }).map(({ model, mutations: m }) => {
  const body: string[] = [];
  for (const b of model.before) for (let i = 0; i < (b.list ? b.count : 0); i++) body.push("3 0 1 2");
  for (const v of model.vertices)
    body.push(v.map((x, k) => String(asType(x, model.vertexProperties[k].type))).join(" "));
  for (const f of model.faces) body.push([f.length, ...f].join(" "));
  return mutateText(plyHeader(model, "ascii") + body.join("\n"), m);
});

const SIZES: Record<string, number> = {
  char: 1,
  int8: 1,
  uchar: 1,
  short: 2,
  ushort: 2,
  int: 4,
  uint: 4,
  float: 4,
  float32: 4,
  double: 8,
};

type ByteMutation = { kind: "flip"; at: number; value: number } | { kind: "cut" | "grow"; at: number };

const byteMutation: fc.Arbitrary<ByteMutation> = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ kind: fc.constantFrom("cut" as const, "grow" as const), at: fc.nat(64) }),
);

const binaryPly = fc
  .record({
    model: plyModel,
    little: fc.boolean(),
    header: mutations,
    bytes: fc.array(byteMutation, { maxLength: 3 }),
  })
  .map(({ model, little, header, bytes: byteMutations }) => {
    const head = new TextEncoder().encode(
      mutateText(plyHeader(model, little ? "binary_little_endian" : "binary_big_endian"), header),
    );
    const body: number[] = [];
    const view = new DataView(new ArrayBuffer(8));
    const put = (x: number, type: string) => {
      const v = asType(x, type);
      const setters: Record<string, () => void> = {
        char: () => view.setInt8(0, v),
        int8: () => view.setInt8(0, v),
        uchar: () => view.setUint8(0, v),
        short: () => view.setInt16(0, v, little),
        ushort: () => view.setUint16(0, v, little),
        int: () => view.setInt32(0, v, little),
        uint: () => view.setUint32(0, v, little),
        float: () => view.setFloat32(0, v, little),
        float32: () => view.setFloat32(0, v, little),
        double: () => view.setFloat64(0, v, little),
      };
      setters[type]();
      for (let i = 0; i < SIZES[type]; i++) body.push(view.getUint8(i));
    };
    for (const b of model.before) {
      for (let i = 0; i < (b.list ? b.count : 0); i++) {
        put(3, "uchar");
        for (const x of [0, 1, 2]) put(x, "int");
      }
    }
    for (const v of model.vertices) for (const [k, x] of v.entries()) put(x, model.vertexProperties[k].type);
    for (const f of model.faces) {
      put(f.length, "uchar");
      for (const i of f) put(i, "int");
    }
    let bytes = new Uint8Array([...head, ...body]);
    for (const m of byteMutations) {
      if (m.kind === "flip" && bytes.length > 0) bytes[m.at % bytes.length] = m.value;
      else if (m.kind === "cut") bytes = bytes.subarray(0, Math.max(0, bytes.length - m.at));
      else if (m.kind === "grow") bytes = new Uint8Array([...bytes, ...new Uint8Array(m.at)]);
    }
    return bytes;
  });

// ---- hierarchy descriptions (JSON specs, field JSON, G+Smo XML) -------------------------------------------

interface DescriptionModel {
  degree: number[];
  knots: number[][];
  truncated: boolean;
  boxes: number[][];
  maxLevels?: number;
  dim: number;
}

const descriptionModel: fc.Arbitrary<DescriptionModel> = fc
  .record({
    d: fc.constantFrom(2, 2, 2, 3),
    degree: fc.integer({ min: 1, max: 3 }),
    cells: fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 3, maxLength: 3 }),
    scale: fc.oneof(
      { weight: 6, arbitrary: fc.constant(1) },
      { weight: 1, arbitrary: fc.constantFrom(1e-300, 1e300, 1e308) },
    ),
    truncated: fc.boolean(),
    boxes: fc.array(
      fc.record({
        level: fc.integer({ min: 1, max: 3 }),
        lo: fc.array(fc.nat(8), { minLength: 3, maxLength: 3 }),
        size: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 3, maxLength: 3 }),
      }),
      { maxLength: 2, depthIdentifier: "boxes" },
    ),
    maxLevels: fc.option(fc.integer({ min: 1, max: 8 })),
    dim: fc.integer({ min: 1, max: 3 }),
  })
  .map(({ d, degree, cells, scale, truncated, boxes, maxLevels, dim }) => {
    const knots = cells.slice(0, d).map((n) => {
      const inner = Array.from({ length: n - 1 }, (_, i) => ((i + 1) / n) * scale);
      return [...new Array(degree + 1).fill(0), ...inner, ...new Array(degree + 1).fill(scale)];
    });
    return {
      degree: new Array(d).fill(degree),
      knots,
      truncated,
      boxes: boxes.map((b) => {
        const n = cells.slice(0, d).map((c) => c * 2 ** b.level);
        const lo = b.lo.slice(0, d).map((x, k) => Math.min(x, n[k] - 1));
        return [b.level, ...lo, ...lo.map((x, k) => Math.min(n[k], x + b.size[k]))];
      }),
      ...(maxLevels !== null ? { maxLevels } : {}),
      dim,
    };
  });

/** Replacement values for a JSON mutation at a random path. */
const weirdJson = fc.oneof(
  fc.constantFrom(
    null,
    true,
    "2",
    [],
    {},
    -1,
    0,
    1e308,
    -1e308,
    1e15,
    2 ** 31,
    131072,
    15,
    30,
    31,
    1.5,
    [15, 0, 0, 131072, 131072],
  ),
  fc.integer({ min: -5, max: 40 }),
  fc.double(),
);

/** Replaces the value at a path chosen by `choices` (walks into objects and arrays). */
function mutateJson(value: unknown, choices: number[], replacement: unknown): unknown {
  if (choices.length === 0 || value === null || typeof value !== "object") return replacement;
  const [c, ...rest] = choices;
  if (Array.isArray(value)) {
    if (value.length === 0) return replacement;
    const copy = [...value];
    const i = c % (value.length + 1);
    if (i === value.length) copy.push(replacement);
    else copy[i] = mutateJson(copy[i], rest, replacement);
    return copy;
  }
  const keys = Object.keys(value);
  const key = keys[c % keys.length];
  return { ...value, [key]: mutateJson((value as Record<string, unknown>)[key], rest, replacement) };
}

const jsonMutations = fc.array(
  fc.record({ path: fc.array(fc.nat(), { minLength: 1, maxLength: 4 }), value: weirdJson }),
  { maxLength: 3 },
);

/**
 * Functions of the model's space: a product on level 0 alone, else built (costly, so only in 2D; refined
 * 3D models get the level-0 count, which the readers must then refuse as the wrong control length).
 */
function spaceSize(model: DescriptionModel): number {
  if (model.boxes.length === 0 || model.degree.length === 3)
    return model.knots.reduce((a, k, i) => a * Math.max(1, k.length - model.degree[i] - 1), 1);
  try {
    return spaceFromDescription(model).size;
  } catch {
    return 4;
  }
}

const fieldJson = fc
  .record({
    model: descriptionModel,
    mutations: jsonMutations,
    text: fc.array(textMutation, { maxLength: 1 }),
  })
  .map(({ model, mutations: ms, text }) => {
    const size = spaceSize(model);
    let value: unknown = {
      format: "thbspline-field",
      version: 1,
      ...model,
      control: Array.from({ length: Math.min(size, 5000) * model.dim }, (_, i) => Math.sin(i)),
    };
    for (const m of ms) value = mutateJson(value, m.path, m.value);
    return mutateText(JSON.stringify(value), text);
  });

const specJson = fc
  .record({ model: descriptionModel, mutations: jsonMutations })
  .map(({ model, mutations: ms }) => {
    let value: unknown = model;
    for (const m of ms) value = mutateJson(value, m.path, m.value);
    return value;
  });

function gismoXml(model: DescriptionModel, geometry: boolean): string {
  const d = model.degree.length;
  const basis = [
    `<Basis type="${model.truncated ? "T" : ""}HBSplineBasis${d}" levels="4">`,
    ` <Basis type="TensorBSplineBasis${d}">`,
    ...model.knots.map(
      (k, i) =>
        `  <Basis type="BSplineBasis" index="${i}"><KnotVector degree="${model.degree[i]}">${k.join(" ")}</KnotVector></Basis>`,
    ),
    " </Basis>",
    ...model.boxes.map((b) => ` <box level="${b[0]}">${b.slice(1).join(" ")}</box>`),
    "</Basis>",
  ].join("\n");
  if (!geometry) return `<?xml version="1.0"?>\n<xml>\n${basis}\n</xml>\n`;
  const size = Math.min(spaceSize(model), 5000);
  const coefs = Array.from({ length: size }, (_, i) =>
    Array.from({ length: model.dim }, (_, k) => Math.cos(i + k)).join(" "),
  ).join("\n");
  return `<?xml version="1.0"?>\n<xml>\n<Geometry type="THBSpline${d}" id="0">\n${basis}\n<coefs geoDim="${model.dim}">${coefs}</coefs>\n</Geometry>\n</xml>\n`;
}

const hierarchyXml = fc
  .record({ model: descriptionModel, geometry: fc.boolean(), mutations })
  .map(({ model, geometry, mutations: m }) => mutateText(gismoXml(model, geometry), m));

const cloudXml = fc
  .record({
    points: fc.array(fc.array(coordinate, { minLength: 5, maxLength: 5 }), { maxLength: 20 }),
    mutations,
  })
  .map(({ points, mutations: m }) => {
    const matrix = (id: number, rows: number, offset: number) =>
      `<Matrix id="${id}" rows="${rows}" cols="${points.length}">\n${Array.from({ length: rows }, (_, r) => points.map((p) => p[offset + r]).join(" ")).join("\n")}\n</Matrix>`;
    return mutateText(`<?xml version="1.0"?>\n<xml>\n${matrix(0, 2, 3)}\n${matrix(1, 3, 0)}\n</xml>\n`, m);
  });

// ---- the properties ------------------------------------------------------------------------------------

const options = { seed: SEED, numRuns: RUNS };
const bytesOf = (s: string) => new TextEncoder().encode(s).length;

describe(`parser fuzz (${RUNS} cases each, seed ${SEED})`, () => {
  it("XYZ/CSV", () => {
    fc.assert(
      fc.property(xyzText, (text) =>
        runCase(
          "xyz",
          text,
          () => parseXyz(text, "fuzz.xyz"),
          (c) => checkCloud(c, bytesOf(text)),
        ),
      ),
      options,
    );
  });

  it("ASCII PLY", () => {
    fc.assert(
      fc.property(asciiPly, (text) => {
        const bytes = new TextEncoder().encode(text);
        runCase(
          "ascii ply",
          bytes,
          () => parsePly(bytes, "fuzz.ply"),
          (c) => checkCloud(c, bytes.length),
        );
      }),
      options,
    );
  });

  it("binary PLY", () => {
    fc.assert(
      fc.property(binaryPly, (bytes) =>
        runCase(
          "binary ply",
          bytes,
          () => parsePly(bytes, "fuzz.ply"),
          (c) => checkCloud(c, bytes.length),
        ),
      ),
      options,
    );
  });

  it("G+Smo XML: point clouds and hierarchies (parsed and built)", () => {
    fc.assert(
      fc.property(cloudXml, (xml) =>
        runCase(
          "gismo cloud",
          xml,
          () => parseGismoPointCloud(xml, "fuzz.xml"),
          (c) => checkCloud(c, bytesOf(xml)),
        ),
      ),
      options,
    );
    fc.assert(
      fc.property(hierarchyXml, (xml) =>
        runCase(
          "gismo hierarchy",
          xml,
          () => {
            const description = parseGismoHierarchy(xml, "fuzz.xml");
            return "control" in description
              ? fieldFromDescription(description as FieldDescription, "fuzz.xml").space
              : spaceFromDescription(description, "fuzz.xml");
          },
          checkSpace,
        ),
      ),
      options,
    );
  });

  it("field JSON reader", () => {
    fc.assert(
      fc.property(fieldJson, (text) =>
        runCase(
          "field json",
          text,
          () => fieldFromJson(text, "fuzz.json"),
          (field) => {
            checkSpace(field.space);
            expect(field.control.every(Number.isFinite)).toBe(true);
          },
        ),
      ),
      options,
    );
  });

  it("thb basis spec reader (and the probe on small spaces)", () => {
    fc.assert(
      fc.property(specJson, (spec) =>
        runCase(
          "basis spec",
          JSON.stringify(spec),
          () => {
            const space = spaceFromDescription(checkHierarchyDescription(spec, "SPEC"), "SPEC");
            // the probe compiles: only on spaces that compile in milliseconds
            if (space.elements.length <= 64) {
              const answer = basisProbe(spec, [Array.from(space.lower)], { spec: "SPEC", points: "POINTS" });
              if (space.truncated)
                expect(answer.points[0].functions.reduce((a, f) => a + f.value, 0)).toBeCloseTo(1, 9);
            }
            return space;
          },
          checkSpace,
        ),
      ),
      options,
    );
  });

  afterAll(() => {
    // what the run measured, for whoever tunes the bounds
    const lines = Object.entries(seen).map(
      ([name, r]) =>
        `${name}: ${r.results} read, ${r.errors} refused; slowest ${r.slowestMs.toFixed(1)} ms, all ${r.totalMs.toFixed(0)} ms, memory growth ≤ ${(r.memoryGrowth / 2 ** 20).toFixed(0)} MiB`,
    );
    if (process.env.FUZZ_REPORT) {
      console.log(lines.join("\n"));
      for (const [name, messages] of Object.entries(errorsSeen)) {
        const kinds = new Map<string, number>();
        for (const m of messages) {
          const key = m.replace(/\d+/g, "#").replace(/"[^"]*"/g, '""');
          kinds.set(key, (kinds.get(key) ?? 0) + 1);
        }
        console.log(name, [...kinds].sort((a, b) => b[1] - a[1]).slice(0, 6));
      }
    }
    // the cases reach both outcomes: files that read and files refused past their first line
    for (const [name, r] of Object.entries(seen)) {
      expect(r.results, name).toBeGreaterThan(RUNS / 20);
      expect(r.errors, name).toBeGreaterThan(RUNS / 20);
    }
  });
});
