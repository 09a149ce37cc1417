/**
 * `npm run cli:build`: bundles the `thb` command (cli/thb.ts) with esbuild into dist/bin/ — thb.js plus one
 * chunk per lazily imported command — so a run loads a dozen files instead of a hundred modules (start-up
 * of `thb register` on a PNG pair: about 0.1 s less CPU). Our code and the small pure-JS dependencies on the
 * hot paths are bundled; the others stay external and load from node_modules as before (the wasm image IO,
 * which finds its pipelines beside its own files; glTF, XML, the progress bar, three, webgpu). Part of
 * `npm run build`; dist/cli/ (tsc's output) stays importable.
 */
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Dependencies bundled into dist/bin (bare specifiers; their subpaths too). */
const BUNDLED = ["commander", "gl-matrix", "fast-png", "iobuffer", "fflate"];

/** Leaves every bare import outside BUNDLED to Node's resolution at run time. */
const externalByDefault: Plugin = {
  name: "external-by-default",
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (args) => {
      if (args.path.startsWith("node:")) return { path: args.path, external: true };
      const name = args.path.startsWith("@")
        ? args.path.split("/").slice(0, 2).join("/")
        : args.path.split("/")[0];
      return BUNDLED.includes(name) ? undefined : { path: args.path, external: true };
    });
  },
};

/** Builds the CLI into `outDir` (default dist/bin); returns the entry file. */
export async function buildCli(outDir = join(root, "dist", "bin")): Promise<string> {
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  await build({
    // the warp thread's body is an entry of its own: startWarpThread finds it beside the chunk it is in
    entryPoints: {
      thb: join(root, "cli", "thb.ts"),
      warpThreadEntry: join(root, "io", "node", "warpThreadEntry.ts"),
    },
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    // ESM builds first (gl-matrix's lets the bundle keep only mat3/mat4)
    mainFields: ["module", "main"],
    outdir: outDir,
    // commander is CommonJS: its require("node:…") calls need a require in an ES module
    banner: {
      js: 'import { createRequire as __thbRequire } from "node:module";\nconst require = __thbRequire(import.meta.url);',
    },
    sourcemap: true,
    logLevel: "warning",
    plugins: [externalByDefault],
  });
  return join(outDir, "thb.js");
}

const invokedDirectly = process.argv[1] && /buildCli\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) console.log(`thb built into ${await buildCli()}`);
