/**
 * `npm run bench:viewer`: the viewer in Chromium (headed under Xvfb, WebGPU on SwiftShader unless the
 * machine has a GPU Chromium uses), at about 1,000 and 10,000 functions, tessellating with the CPU grid
 * kernel (`?tessellation=cpu`) and with the WebGPU one: the time from a click to the scene updated (the
 * page's own work) and to the frame that shows the refinement, the same for a control-point drag step, and
 * of one frame while orbiting; medians. Clicks and drags go through the page's handlers (thbViewer.act).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { fieldToJson } from "../io/serialization.js";
import { buildViewer } from "../scripts/buildViewer.js";
import { seededRandom } from "../test/helpers/random.js";
import { hasBrowser, launchHeaded } from "../test/viewer/browser.js";
import { startView } from "../test/viewer/viewServer.js";
import { median, printTable } from "./harness.js";
import { largeSurface, smallSurface } from "./viewerSurfaces.js";

const readout = async (page: Page, id: string) => (await page.getByTestId(id).textContent()) ?? "";
type Times = { action: string; ms: number; readyMs: number }[];
const actionTimes = (page: Page) =>
  page.evaluate(() => [
    ...(globalThis as unknown as { thbViewer: { actionTimes: Times } }).thbViewer.actionTimes,
  ]);

type Action = Record<string, unknown>;
const act = (page: Page, actions: Action[]) =>
  page.evaluate(
    (list) =>
      (globalThis as unknown as { thbViewer: { act(a: unknown[]): Promise<void> } }).thbViewer.act(list),
    actions,
  );

/**
 * Medians (ms) of click → frame, drag step → frame and orbit frames on one page. Clicks and drags go through
 * the page's handlers (thbViewer.act: what the pointer events call, less the ray cast), each click at a
 * random interior point and undone before the next (the surface stays at its nominal size); a click on an
 * element that cannot be refined further records nothing and is not counted.
 */
async function measure(page: Page, clicks: number, drags: number, frames: number) {
  const rand = seededRandom(3);
  const base = await page.evaluate(() =>
    (globalThis as unknown as { thbViewer: { historyPosition(): number } }).thbViewer.historyPosition(),
  );
  const refine: number[] = [];
  const refineReady: number[] = [];
  for (let c = 0; c < clicks; c++) {
    const before = (await actionTimes(page)).length;
    await act(page, [{ kind: "click", at: [0.05 + 0.9 * rand(), 0.05 + 0.9 * rand()] }]);
    // the click's time is recorded once its frame is drawn, right after act() returns
    const arrived = await page
      .waitForFunction(
        (n) =>
          (globalThis as unknown as { thbViewer: { actionTimes: Times } }).thbViewer.actionTimes.length > n,
        before,
        { timeout: 5_000 },
      )
      .then(() => true)
      .catch(() => false);
    if (arrived) {
      const last = (await actionTimes(page)).at(-1)!;
      if (last.action === "refine") {
        refine.push(last.ms);
        refineReady.push(last.readyMs);
      }
    }
    await act(page, [{ kind: "undoTo", position: base }]);
  }
  const before = (await actionTimes(page)).length;
  await act(
    page,
    Array.from({ length: drags }, () => ({
      kind: "drag",
      which: rand(),
      by: [0.05 * (rand() - 0.5), 0.05 * (rand() - 0.5), 0.1 * (rand() - 0.5)],
    })),
  );
  await page.waitForTimeout(200);
  const dragTimes = (await actionTimes(page)).slice(before).filter((t) => t.action === "drag");
  const drag = dragTimes.map((t) => t.ms);
  const orbit = await page.evaluate(
    (n) =>
      (globalThis as unknown as { thbViewer: { orbit(n: number): Promise<number[]> } }).thbViewer.orbit(n),
    frames,
  );
  return {
    refine: median(refine),
    refineReady: median(refineReady),
    refineCount: refine.length,
    drag: median(drag),
    dragReady: median(dragTimes.map((t) => t.readyMs)),
    dragCount: drag.length,
    orbit: median(orbit.slice(3)),
  };
}

/** Runs the viewer benchmark and prints its table. */
export async function benchViewer(): Promise<void> {
  if (!hasBrowser) {
    console.log("bench:viewer needs /usr/bin/chromium and /usr/bin/Xvfb");
    return;
  }
  await buildViewer();
  const dir = mkdtempSync(join(tmpdir(), "thb-bench-viewer-"));
  const cases = [
    { name: "1k", field: smallSurface() },
    { name: "10k", field: largeSurface() },
  ];
  // THB_BENCH_VIEWER_CASES=10k (or 1k): one size only
  const only = process.env.THB_BENCH_VIEWER_CASES?.split(",");
  const selected = only ? cases.filter((c) => only.includes(c.name)) : cases;
  const { browser, close } = await launchHeaded();
  const rows: string[][] = [];
  try {
    for (const { name, field } of selected) {
      const file = join(dir, `surface-${name}.json`);
      writeFileSync(file, fieldToJson(field));
      const view = await startView([file, "--port", "0"]);
      try {
        for (const query of ["?tessellation=cpu", ""]) {
          const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
          page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
          await page.goto(view.url + query);
          await page.waitForSelector("body[data-state=ready]", { timeout: 120_000 });
          const tessellation = await readout(page, "tessellation");
          const renderer = await readout(page, "backend");
          const started = performance.now();
          const m = await measure(page, 9, 6, 33);
          console.log(
            `bench:viewer ${name}${query || " (webgpu)"}: ${JSON.stringify(m)} in ${((performance.now() - started) / 1000).toFixed(0)} s`,
          );
          rows.push([
            (await readout(page, "dofs")).replace(/\B(?=(\d{3})+$)/g, ","),
            `${renderer} / ${tessellation}`,
            `${m.refineReady.toFixed(0)} ms`,
            `${m.refine.toFixed(0)} ms (${m.refineCount} clicks)`,
            `${m.dragReady.toFixed(0)} ms`,
            `${m.drag.toFixed(0)} ms (${m.dragCount} steps)`,
            `${m.orbit.toFixed(1)} ms`,
          ]);
          await page.close();
        }
      } finally {
        await view.stop();
      }
    }
  } finally {
    await close();
  }
  printTable(
    "Viewer (Chromium, headed under Xvfb; WebGPU and the WebGPU tessellation run on SwiftShader here), medians",
    [
      "functions",
      "renderer / tessellation",
      "click → scene updated",
      "click → refined frame",
      "drag step → updated",
      "drag step → frame",
      "orbit frame",
    ],
    rows,
  );
}

const invokedDirectly = process.argv[1] && /viewerBench\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) await benchViewer();
