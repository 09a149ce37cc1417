/**
 * Debian's Chromium, headed under Xvfb (a WebGPU canvas screenshots blank headless), with WebGPU and WebGL 2
 * on SwiftShader: what the viewer's end-to-end test and `npm run bench:viewer` drive the page with.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Whether this machine has the browser and the X server the page tests need. */
export const hasBrowser = existsSync(CHROMIUM) && existsSync("/usr/bin/Xvfb");

export const FLAGS = [
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-vulkan=swiftshader",
  "--use-angle=swiftshader",
  "--enable-unsafe-swiftshader",
  "--enable-gpu",
  "--ignore-gpu-blocklist",
  "--disable-vulkan-surface",
  "--no-sandbox",
  "--disable-background-networking",
  "--disable-component-update",
  "--js-flags=--expose-gc",
  "--enable-precise-memory-info",
];

/** Starts Xvfb on a free display (it reports the number through -displayfd). */
export async function startXvfb(): Promise<{ xvfb: ChildProcess; display: string }> {
  const xvfb = spawn("Xvfb", ["-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp"], {
    stdio: ["ignore", "ignore", "pipe", "pipe"],
  });
  const display = await new Promise<string>((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error("Xvfb reported no display in 10 s")), 10_000);
    xvfb.stdio[3]?.on("data", (chunk) => {
      text += chunk;
      if (text.includes("\n")) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
  });
  return { xvfb, display };
}

/** Chromium, headed on a fresh Xvfb display; `close()` stops both. */
export async function launchHeaded(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const { xvfb, display } = await startXvfb();
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: FLAGS,
    headless: false,
    env: { ...process.env, DISPLAY: display },
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      xvfb.kill("SIGTERM");
    },
  };
}
