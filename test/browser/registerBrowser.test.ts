/**
 * registerImages with the webgpu backend in headless Chromium (navigator.gpu on SwiftShader), bundled from the
 * root entry: the same registration as the CPU run in Node — final metric within 1e-5 of the starting one
 * (ssd and ncc). Skips loudly without Chromium (fails under CI=true).
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerImages } from "../../fitting/registration/registerImages.js";
import { type BrowserPage, chromiumOrSkip, serveBundledPage } from "../helpers/browserPage.js";
import { blobs, imageOf } from "../registration/helpers.js";
import { type BrowserRegistration, pairOptions } from "./registerBrowserPage.js";

const hasChromium = chromiumOrSkip("browser registration test");
let served: BrowserPage | undefined;
let browser: Browser | undefined;
let origin = "";

beforeAll(async () => {
  if (!hasChromium) return;
  served = await serveBundledPage(new URL("./registerBrowserPage.ts", import.meta.url));
  ({ browser, origin } = served);
}, 120_000);

afterAll(async () => {
  await served?.close();
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
