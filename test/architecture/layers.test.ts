/**
 * The layers of DESIGN.md, checked on the import statements of every source file: imports point down only,
 * `three` only in viewer/, Node builtins only where files are read and written (cli/, io/node/, the
 * `thbspline/node` entry), and nothing the root entry reaches imports one.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { importsOf } from "../helpers/imports.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** What each layer may import of ours (besides its own folder). */
/** Every library folder: what the entries and the command line may import. */
const LIBRARY = [
  "fitting",
  "io",
  "primitives",
  "autodiff",
  "fields",
  "kernels/cpu",
  "kernels/webgpu",
  "hierarchy",
  "splines",
  "linalg",
];

const BELOW: Record<string, readonly string[]> = {
  linalg: [],
  splines: ["linalg"],
  hierarchy: ["splines", "linalg"],
  autodiff: [],
  "kernels/cpu": ["hierarchy", "splines", "linalg"],
  "kernels/webgpu": ["kernels/cpu", "hierarchy", "splines", "linalg"],
  fields: ["kernels/cpu", "hierarchy", "splines", "linalg"],
  primitives: ["autodiff", "kernels/cpu", "kernels/webgpu", "hierarchy", "splines", "linalg"],
  // io/node/ also starts the warp thread, whose body is a CPU kernel (kernels/cpu/warpThreads.ts)
  io: ["fields", "kernels/cpu", "hierarchy", "splines", "linalg"],
  fitting: ["primitives", "autodiff", "fields", "kernels/cpu", "hierarchy", "splines", "linalg"],
  entry: LIBRARY,
  cli: LIBRARY,
  // the viewer uses the library as a user would: through the curated root entry only
  viewer: ["entry"],
};

/** The layer of a source file (relative path), or undefined for files outside the library. */
function layerOf(file: string): string | undefined {
  if (["index.ts", "node.ts", "webgpu.ts"].includes(file)) return "entry";
  const [top, sub] = file.split("/");
  if (top === "kernels") return sub === "cpu" || sub === "webgpu" ? `kernels/${sub}` : "kernels";
  return top in BELOW ? top : undefined;
}

/** Where Node builtins may be imported statically. */
const mayUseNode = (file: string) =>
  file.startsWith("cli/") || file.startsWith("io/node/") || file === "node.ts";

function sourceFiles(dir = root, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const rel = relative(root, path);
    if (entry.isDirectory()) {
      if (!["node_modules", "dist", "test", "bench", "examples", "types", ".git"].includes(entry.name))
        sourceFiles(path, out);
    } else if (entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts") && layerOf(rel)) out.push(rel);
  }
  return out;
}

const files = sourceFiles();
const imports = new Map(files.map((f) => [f, importsOf(readFileSync(join(root, f), "utf8"))]));
const resolve = (from: string, spec: string) => normalize(join(dirname(from), spec)).replace(/\.js$/, ".ts");

describe("import graph", () => {
  it("finds the library's source files and their imports", () => {
    // guards the checks below against a parser that finds nothing
    expect(files.length).toBeGreaterThan(60);
    expect(imports.get("hierarchy/plan.ts")).toContain("./extraction.js");
    expect(importsOf('const x = await import("webgpu");\nexport * from "./a.js";')).toEqual([
      "./a.js",
      "webgpu",
    ]);
  });

  it("points down only: every folder imports only the layers below it", () => {
    const violations: string[] = [];
    for (const [file, specs] of imports) {
      const from = layerOf(file) as string;
      for (const spec of specs.filter((s) => s.startsWith("."))) {
        const target = resolve(file, spec);
        const to = layerOf(target);
        if (to === undefined || to === from) continue;
        if (!BELOW[from]?.includes(to)) violations.push(`${file} (${from}) imports ${target} (${to})`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("keeps three in viewer/ and Node builtins in cli/, io/node/ and the node entry", () => {
    const violations: string[] = [];
    for (const [file, specs] of imports) {
      for (const spec of specs) {
        if ((spec === "three" || spec.startsWith("three/")) && !file.startsWith("viewer/"))
          violations.push(`${file} imports ${spec}`);
        if (spec.startsWith("node:") && !mayUseNode(file)) violations.push(`${file} imports ${spec}`);
      }
    }
    expect(violations).toEqual([]);
  });

  it("reaches no Node builtin and no Node-only file from the root entry", () => {
    const seen = new Set<string>();
    const stack = ["index.ts"];
    const reached: string[] = [];
    while (stack.length > 0) {
      const file = stack.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      for (const spec of imports.get(file) ?? []) {
        if (spec.startsWith(".")) stack.push(resolve(file, spec));
        else if (spec.startsWith("node:") || spec === "webgpu") reached.push(`${file} imports ${spec}`);
      }
    }
    expect([...seen].filter((f) => f.startsWith("io/node/") || f === "node.ts")).toEqual([]);
    expect(reached).toEqual([]);
    expect(seen.size).toBeGreaterThan(30);
    // Node globals need no import: Buffer, require, __dirname, and process without a typeof check
    const globals: string[] = [];
    for (const file of seen) {
      const code = stripComments(readFileSync(join(root, file), "utf8"));
      for (const [name, pattern] of NODE_GLOBALS)
        if (pattern.test(code)) globals.push(`${file} uses ${name}`);
      // a file that reads process must check that it exists (browsers have none)
      if (/\bprocess\./.test(code) && !/typeof process\b/.test(code))
        globals.push(`${file} uses process without a typeof guard`);
    }
    expect(globals).toEqual([]);
  });

  it("every top-level folder of the library has a layer (a new folder must be placed)", () => {
    const folders = readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && !e.name.startsWith("."))
      .map((e) => e.name)
      .filter(
        (n) => !["node_modules", "dist", "test", "bench", "examples", "types", "docs", "scripts"].includes(n),
      );
    expect(folders.filter((f) => layerOf(`${f}/x.ts`) === undefined)).toEqual([]);
  });
});

/** Node-only globals that browser bundles lack. */
const NODE_GLOBALS: [string, RegExp][] = [
  ["Buffer", /\bBuffer\.(from|alloc|concat|isBuffer)\b/],
  ["require", /\brequire\(/],
  ["__dirname", /\b__dirname\b/],
  ["__filename", /\b__filename\b/],
];

/** Source without comments, so doc comments that mention Buffer or process do not count. */
function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:])\/\/.*$/gm, "$1");
}
