/**
 * A test page in headless Chromium with WebGPU on SwiftShader: a TypeScript entry bundled with esbuild and served
 * from 127.0.0.1, for tests that run the library where navigator.gpu exists.
 */
import { existsSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { build } from "esbuild";
import { type Browser, chromium } from "playwright-core";

/** Debian's chromium package: the browser CI installs (Playwright's own downloads are not reachable). */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** Whether Chromium is here; without it a loud notice naming `what` is skipped, and under CI=true it throws. */
export function chromiumOrSkip(what: string): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === "true")
    throw new Error(`CI=true but no Chromium at ${CHROMIUM}: apt-get install chromium`);
  console.warn(`\n!!! ${what} SKIPPED: no Chromium at ${CHROMIUM} (apt-get install chromium)\n`);
  return false;
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

export interface BrowserPage {
  readonly browser: Browser;
  /** The page's address: an HTML page that loads the bundle as a module. */
  readonly origin: string;
  close(): Promise<void>;
}

/** Bundles `entry` (a file URL) for the browser, serves it and launches headless Chromium. */
export async function serveBundledPage(entry: URL): Promise<BrowserPage> {
  const bundle = await build({
    entryPoints: [entry.pathname],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    write: false,
    // Node-only branches of device.ts: never reached where navigator.gpu exists
    external: ["webgpu", "node:fs"],
  });
  const script = bundle.outputFiles[0].text;
  const server = createServer((request, response) => {
    if (request.url === "/page.js") {
      response.writeHead(200, { "content-type": "text/javascript" }).end(script);
    } else {
      response
        .writeHead(200, { "content-type": "text/html" })
        .end('<!doctype html><meta charset="utf-8"><script type="module" src="/page.js"></script>');
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
  return {
    browser,
    origin,
    close: async () => {
      await browser.close();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
