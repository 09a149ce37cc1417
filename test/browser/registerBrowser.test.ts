/**
 * registerImages with the webgpu backend in headless Chromium (navigator.gpu on SwiftShader), bundled from the
 * root entry: the same registration as the CPU run in Node — final metric within 1e-5 of the starting one
 * (ssd and ncc). Skips loudly without Chromium (fails under CI=true).
 */
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { blobs, imageOf } from "../registration/helpers.js";
import { type BrowserRegistration, pairOptions } from "./registerBrowserPage.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  if (process.env.CI === "true")
    throw new Error(`CI=true but no Chromium at ${CHROMIUM}: apt-get install chromium`);
  console.warn(
    `\n!!! browser registration test SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`,
  );
}

/** Flags for WebGPU on SwiftShader in headless Chromium, without network chatter. */
const FLAGS = [
  "--enable-unsafe-webgpu",
  "--use-webgpu-adapter=swiftshader",
  "--enable-features=Vulkan",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
];

let browser: Browser | undefined;
let server: Server | undefined;
let origin = "";

beforeAll(async () => {
  if (!hasChromium) return;
  const bundle = await build({
    entryPoints: [new URL("./registerBrowserPage.ts", import.meta.url).pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    // Node-only branches of device.ts: never reached where navigator.gpu exists
    external: ["webgpu", "node:fs"],
  });
  const script = bundle.outputFiles[0].text;
  server = createServer((request, response) => {
    if (request.url === "/page.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      response
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
});

describe.skipIf(!hasChromium)("registerImages on navigator.gpu in headless Chromium", () => {
  it("webgpu in the browser reaches the CPU run's final metric (ssd, ncc)", async () => {
    const page = await browser!.newPage();
    page.on("console", (message) => {
      if (message.type() === "error") console.error(`[chromium] ${message.text()}`);
    });
    await page.goto(origin);
    await page.waitForFunction(() => "runRegistration" in globalThis);
    const fixed = imageOf([40, 40], blobs);
    const moving = imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1));
    for (const metric of ["ssd", "ncc"] as const) {
      const result = (await page.evaluate(
        (m) =>
          (globalThis as unknown as { runRegistration: (m: string) => Promise<unknown> }).runRegistration(m),
        metric,
      )) as BrowserRegistration | { error: string };
      if ("error" in result) throw new Error(result.error);
      expect(result.viaNavigator).toBe(true);
      expect(result.backend).toBe("webgpu");
      expect(result.description).toMatch(/^WebGPU/);
      const cpu = await registerImages(fixed, moving, { ...pairOptions, metric });
      const start = cpu.report.iterations[0].metric;
      const finalCpu = cpu.report.levels[cpu.report.levels.length - 1].metric;
      const finalGpu = result.levelMetrics[result.levelMetrics.length - 1];
      expect(Math.abs(result.metrics[0] - start) / start, metric).toBeLessThan(1e-5);
      expect(Math.abs(finalGpu - finalCpu), metric).toBeLessThan(1e-5 * start);
      expect(finalCpu, metric).toBeLessThan(0.1 * start);
      expect(result.foldingFraction).toBe(0);
      expect(Math.abs(result.metricAfter - cpu.report.metricAfter)).toBeLessThan(
        1e-3 * cpu.report.metricBefore,
      );
    }
    await page.close();
  }, 120_000);
});
