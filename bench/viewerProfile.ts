/**
 * `tsx bench/viewerProfile.ts [clicks] [query] [--1k] [--drag]`: a Chromium CPU profile (DevTools protocol, sampled every
 * 100 µs) of clicks on the viewer at 9,289 functions, the profiler running only from each click to its
 * scene being updated (thbViewer.act, as bench:viewer clicks; the undo after each click is not profiled).
 * Prints the page's own click → scene updated times, then the profiled time per function: self time, and
 * inclusive time (every sample whose stack holds the function). `--drag` profiles control-point drags
 * (three steps each) instead, `--1k` the 1,081-function surface. Builds the viewer unminified so that the
 * profile names functions; run `npm run viewer:build` afterwards to restore the minified bundle.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fieldToJson } from "../io/serialization.js";
import { buildViewer } from "../scripts/buildViewer.js";
import { seededRandom } from "../test/helpers/random.js";
import { launchHeaded } from "../test/viewer/browser.js";
import { startView } from "../test/viewer/viewServer.js";
import { largeSurface, smallSurface } from "./viewerSurfaces.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
  positionTicks?: { line: number; ticks: number }[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const clicks = Number(process.argv[2] ?? 12);
const query = process.argv[3] ?? "?tessellation=cpu";
const small = process.argv.includes("--1k");
const drag = process.argv.includes("--drag");
await buildViewer(undefined, false);
const dir = mkdtempSync(join(tmpdir(), "thb-profile-"));
const file = join(dir, "surface.json");
writeFileSync(file, fieldToJson(small ? smallSurface() : largeSurface()));
const view = await startView([file, "--port", "0"]);
const { browser, close } = await launchHeaded();
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const lines = new Map<string, number>();
let total = 0;
try {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  page.on("pageerror", (error) => console.error(`page error: ${error.message}`));
  await page.goto(view.url + query);
  await page.waitForSelector("body[data-state=ready]", { timeout: 120_000 });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 100 });
  type Viewer = {
    act(a: unknown[]): Promise<void>;
    historyPosition(): number;
    actionTimes: { action: string; readyMs: number }[];
  };
  const base = await page.evaluate(() =>
    (globalThis as unknown as { thbViewer: Viewer }).thbViewer.historyPosition(),
  );
  const rand = seededRandom(3);
  const ready: number[] = [];
  for (let c = 0; c < clicks + 2; c++) {
    const at = [0.05 + 0.9 * rand(), 0.05 + 0.9 * rand()];
    const profiled = c >= 2; // two warm-up clicks
    if (profiled) await cdp.send("Profiler.start");
    const ms = await page.evaluate(
      async ({ at, drag }) => {
        const viewer = (globalThis as unknown as { thbViewer: Viewer }).thbViewer;
        const n = viewer.actionTimes.length;
        // a drag: three steps of one control point (what bench:viewer times per step)
        const action = drag ? { kind: "drag", which: at[0], by: [0.02, -0.02, 0.05] } : { kind: "click", at };
        await viewer.act([action]);
        while (viewer.actionTimes.length < n + (drag ? 3 : 1)) await new Promise((r) => setTimeout(r, 5));
        return viewer.actionTimes.at(-1)!.readyMs;
      },
      { at, drag },
    );
    if (profiled) {
      const { profile } = (await cdp.send("Profiler.stop")) as unknown as { profile: Profile };
      ready.push(ms);
      const byId = new Map(profile.nodes.map((n) => [n.id, n]));
      const parent = new Map<number, number>();
      for (const n of profile.nodes) for (const k of n.children ?? []) parent.set(k, n.id);
      const name = (n: ProfileNode) =>
        `${n.callFrame.functionName || "(anonymous)"} ${n.callFrame.url.split("/").at(-1)}:${n.callFrame.lineNumber + 1}`;
      const interval = profile.timeDeltas.reduce((a, b) => a + b, 0) / profile.samples.length / 1000;
      for (const n of profile.nodes) {
        for (const t of n.positionTicks ?? []) {
          const key = `${n.callFrame.functionName} ${n.callFrame.url.split("/").at(-1)}:${t.line}`;
          lines.set(key, (lines.get(key) ?? 0) + t.ticks * interval);
        }
      }
      profile.samples.forEach((id, i) => {
        const dt = (profile.timeDeltas[i] ?? 0) / 1000;
        const node = byId.get(id)!;
        if (node.callFrame.functionName === "(idle)" || node.callFrame.functionName === "(program)") return;
        total += dt;
        self.set(name(node), (self.get(name(node)) ?? 0) + dt);
        const seen = new Set<string>();
        for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
          const key = name(byId.get(n)!);
          if (seen.has(key)) continue;
          seen.add(key);
          inclusive.set(key, (inclusive.get(key) ?? 0) + dt);
        }
      });
    }
    await page.evaluate(
      (position) =>
        (globalThis as unknown as { thbViewer: Viewer }).thbViewer.act([{ kind: "undoTo", position }]),
      base,
    );
  }
  const sorted = [...ready].sort((a, b) => a - b);
  console.log(
    `click → scene updated (ms): ${ready.map((t) => t.toFixed(0)).join(" ")}; median ${sorted[sorted.length >> 1].toFixed(1)}`,
  );
  const per = (ms: number) => (ms / clicks).toFixed(2).padStart(7);
  console.log(`profiled busy time per click: ${per(total)} ms (idle and (program) left out)`);
  console.log("\nself ms/click  function");
  for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`${per(v)}  ${k}`);
  console.log("\nself ms/click  line");
  for (const [k, v] of [...lines].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log(`${per(v)}  ${k}`);
  console.log("\ninclusive ms/click  function");
  for (const [k, v] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 45))
    console.log(`${per(v)}  ${k}`);
} finally {
  await close();
  await view.stop();
}
