/**
 * `npm run viewer:build`: bundles the viewer page (viewer/) with esbuild into dist/viewer/ (index.html,
 * main.js and the fitting worker fitWorker.js) so `thb view` can serve it. Part of `npm run build`.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build, type Plugin } from "esbuild";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/**
 * three's addons (OrbitControls) import "three"; the page renders with "three/webgpu", a build that contains
 * all of three. Resolving "three" to that build keeps one copy of three in the bundle.
 */
const oneThree: Plugin = {
  name: "one-three",
  setup(b) {
    const path = createRequire(join(root, "package.json")).resolve("three/webgpu");
    b.onResolve({ filter: /^three$/ }, () => ({ path }));
  },
};

/**
 * Builds the viewer into `outDir` (default dist/viewer); returns the folder. `minify: false` keeps the
 * function names (for CPU profiles of the page).
 */
export async function buildViewer(outDir = join(root, "dist", "viewer"), minify = true): Promise<string> {
  mkdirSync(outDir, { recursive: true });
  await build({
    entryPoints: [join(root, "viewer", "main.ts"), join(root, "viewer", "fitWorker.ts")],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outdir: outDir,
    minify,
    logLevel: "warning",
    plugins: [oneThree],
  });
  copyFileSync(join(root, "viewer", "index.html"), join(outDir, "index.html"));
  return outDir;
}

const invokedDirectly = process.argv[1] && /buildViewer\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) console.log(`viewer built into ${await buildViewer()}`);
