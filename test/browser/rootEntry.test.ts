/**
 * The root entry is browser-safe: esbuild bundles index.ts for the browser platform (where any Node builtin
 * is an unresolvable import, so the build fails), and headless Chromium loads the bundle and evaluates a
 * THB field and a gradient through the public API, equal to the same calls in Node.
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as thbspline from "../../index.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI === "true")
    throw new Error(`CI=true but no Chromium at ${CHROMIUM}: apt-get install chromium`);
  console.warn(
    `\n!!! browser root-entry test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`,
  );
}

const entry = (name: string) => fileURLToPath(new URL(`../../${name}`, import.meta.url));

/** Bundles one entry for the browser; no externals, so a Node builtin anywhere fails the build. */
const bundleForBrowser = (file: string) =>
  build({
    entryPoints: [file],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    metafile: true,
    logLevel: "silent",
  });

/** What both sides compute: a 2-level biquadratic THB field, its values and first derivatives, a gradient. */
function scenario(api: typeof thbspline) {
  const U = api.uniformKnotVector(2, 4);
  let space = api.THBSpace.create({ degrees: [2, 2], knots: [U, U], truncated: true });
  space = api.refineElements(space, [
    { level: 0, cell: [1, 1] },
    { level: 0, cell: [2, 2] },
  ]);
  const control = Float64Array.from({ length: space.size * 3 }, (_, i) => Math.sin(0.7 * i) + 0.1 * i);
  const field = new api.THBField(space, control, 3);
  const params = Float64Array.from({ length: 2 * 40 }, (_, i) => ((i * 37) % 101) / 100);
  const values = field.evaluate(params, 1);
  const ops = api.thbOps(api.compile(space));
  const X = api.tensor(params, [40, 2]);
  const { value, grad } = api.valueAndGrad(
    (c: thbspline.Tensor) => api.mean(api.square(ops.evaluate(c, X))),
    api.tensor(control, [space.size, 3]),
  );
  // every parser the root exports, on text and bytes made here (Node's Buffer does not exist in a page)
  const encode = (text: string) => new TextEncoder().encode(text);
  const header =
    "ply\nformat FORMAT 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n";
  const binary = new Float32Array([1, 2, 3, 4, 5, 6]);
  const headerBytes = encode(header.replace("FORMAT", "binary_little_endian"));
  const plyBytes = new Uint8Array(headerBytes.length + binary.byteLength);
  plyBytes.set(headerBytes);
  plyBytes.set(new Uint8Array(binary.buffer), headerBytes.length);
  const parsed = [
    api.parseXyz("x y z\n1 2 3\n4 5 6\n").points,
    api.parsePly(encode(`${header.replace("FORMAT", "ascii")}1 2 3\n4 5 6\n`)).points,
    api.parsePly(plyBytes).points,
    api.parseGismoPointCloud(
      '<?xml version="1.0"?><xml><Matrix rows="2" cols="2" id="0">0 1 0 1</Matrix><Matrix rows="3" cols="2" id="1">1 4 2 5 3 6</Matrix></xml>',
    ).points,
    api.fieldFromJson(api.fieldToJson(field)).evaluate(params.subarray(0, 2)),
  ].map((points) => Array.from(points));
  return {
    size: space.size,
    values: Array.from(values),
    loss: value.item(),
    grad: Array.from((grad as thbspline.Tensor).values),
    parsed,
  };
}

let browser: Browser | undefined;
let server: Server | undefined;
let origin = "";
let bundleInputs: string[] = [];

beforeAll(async () => {
  const bundle = await bundleForBrowser(entry("index.ts"));
  bundleInputs = Object.keys(bundle.metafile.inputs);
  if (!hasChromium) return;
  const script = bundle.outputFiles[0].text;
  server = createServer((request, response) => {
    if (request.url === "/thbspline.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      response.writeHead(200, { "content-type": "text/html" }).end('<!doctype html><meta charset="utf-8">');
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"], headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe("the root entry in a browser", () => {
  it("bundles for the browser platform with no Node builtin and no Node-only file", () => {
    expect(bundleInputs.length).toBeGreaterThan(30);
    expect(bundleInputs.filter((f) => f.startsWith("node:") || f.includes("io/node/"))).toEqual([]);
  });

  it("the check bites: the thbspline/node entry does not bundle for the browser", async () => {
    await expect(bundleForBrowser(entry("node.ts"))).rejects.toThrow(/node:/);
  });

  it.skipIf(!hasChromium)(
    "headless Chromium loads the bundle and evaluates a field and a gradient as Node does",
    async () => {
      const page = await browser!.newPage();
      const errors: string[] = [];
      page.on("pageerror", (error) => errors.push(error.message));
      await page.goto(`${origin}/`);
      const scenarioSource = scenario.toString();
      // a string, so that the test runner's module transform leaves the page's own import() alone
      const inBrowser = (await page.evaluate(`(async () => {
        const api = await import("/thbspline.js");
        const backend = await api.selectBackend({ prefer: "cpu", log: () => {} });
        // no process in a page: selecting without a preference must not touch it
        const chosen = await api.selectBackend({ log: () => {} });
        return {
          hasProcess: typeof globalThis.process !== "undefined",
          backends: [backend.name, chosen.name],
          ...(${scenarioSource})(api),
        };
      })()`)) as ReturnType<typeof scenario> & { hasProcess: boolean; backends: string[] };
      await page.close();
      expect(errors).toEqual([]);
      expect(inBrowser.hasProcess).toBe(false);
      expect(inBrowser.backends[0]).toBe("cpu");
      expect(["cpu", "webgpu"]).toContain(inBrowser.backends[1]);
      const inNode = scenario(thbspline);
      expect(inBrowser.size).toBe(inNode.size);
      expect(inBrowser.values.length).toBe(inNode.values.length);
      const close = (a: number[], b: number[]) =>
        Math.max(...a.map((x, i) => Math.abs(x - b[i]) / Math.max(Math.abs(b[i]), 1e-12)));
      expect(close(inBrowser.values, inNode.values)).toBeLessThan(1e-12);
      expect(Math.abs(inBrowser.loss - inNode.loss) / inNode.loss).toBeLessThan(1e-12);
      expect(close(inBrowser.grad, inNode.grad)).toBeLessThan(1e-12);
      // the parsers read the same points in the page as in Node
      expect(inBrowser.parsed).toEqual(inNode.parsed);
      expect(inNode.parsed.slice(0, 4)).toEqual(new Array(4).fill([1, 2, 3, 4, 5, 6]));
    },
  );
});
