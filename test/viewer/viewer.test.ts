/**
 * `thb view` end to end: the server (what it serves, what it refuses, where it listens, Ctrl-C) and the page
 * in Debian's Chromium, headed under Xvfb (a WebGPU canvas screenshots blank headless), on SwiftShader:
 * it draws with WebGPU and with WebGL 2, refines and coarsens by clicks as the hierarchy predicts, undoes,
 * rejects bad files, and logs no errors. The WebGPU screenshot is kept as docs/viewer.png for the README.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { connect } from "node:net";
import { networkInterfaces, tmpdir } from "node:os";
import { join } from "node:path";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { THBField } from "../../fields/thbField.js";
import { coarsenElements, refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { fieldFromJson, fieldToJson } from "../../io/serialization.js";
import { buildViewer } from "../../scripts/buildViewer.js";
import { uniformKnotVector } from "../../splines/knotVector.js";
import { BACKGROUND } from "../../viewer/levelColors.js";
import { decodePng, fractionUnlike, type Rgba } from "../helpers/png.js";
import { seededRandom } from "../helpers/random.js";
import { CHROMIUM, FLAGS, hasBrowser, startXvfb } from "./browser.js";
import { root, startView, type ViewProcess } from "./viewServer.js";

/** Raw GET of `path` exactly as written (no URL normalisation), with `host` as the Host header. */
function get(url: string, path: string, host?: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers: host ? { host } : {} }, (response) => {
      let body = "";
      response.on("data", (chunk) => {
        body += chunk;
      });
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

/** Whether a TCP connection to host:port succeeds. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** A small two-level quadratic field in 3D: x = u, y = v, z = a bump. */
function smallField(): THBField {
  const knots = uniformKnotVector(2, 4);
  const space = refineElements(THBSpace.create({ degrees: [2, 2], knots: [knots, knots] }), [
    { level: 0, cell: [1, 1] },
  ]);
  const control = new Float64Array(space.size * 3);
  for (let i = 0; i < space.size; i++) control.set([i % 7, Math.floor(i / 7), Math.sin(i)], 3 * i);
  return new THBField(space, control, 3);
}

beforeAll(async () => {
  await buildViewer();
}, 120_000);

describe("thb view: the server", () => {
  let view: ViewProcess;
  let dir = "";
  const secret = "SECRET-BYTES-0123456789";

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "thb-view-"));
    writeFileSync(join(dir, "surface.json"), fieldToJson(smallField()));
    writeFileSync(join(dir, "cloud.xyz"), "0 0 0\n1 0 0\n0 1 1\n");
    writeFileSync(join(dir, "secret.txt"), secret);
    view = await startView([join(dir, "surface.json"), "--points", join(dir, "cloud.xyz"), "--port", "0"]);
  }, 60_000);

  afterAll(async () => {
    await view?.stop();
  });

  it("serves the page, a listing of exactly the named files, and their bytes", async () => {
    const page = await get(view.url, "/");
    expect(page.status).toBe(200);
    expect(page.body).toContain('src="./main.js"');
    const listing = JSON.parse((await get(view.url, "/files.json")).body) as { name: string; url: string }[];
    expect(listing.map((f) => f.name)).toEqual(["surface.json", "cloud.xyz"]);
    const surface = await get(view.url, listing[0].url.slice(1));
    expect(fieldFromJson(surface.body).space.size).toBe(smallField().space.size);
    expect((await get(view.url, listing[1].url.slice(1))).body).toBe("0 0 0\n1 0 0\n0 1 1\n");
  });

  it("refuses traversal, absolute paths, files it was not given and foreign Host headers, never sending their bytes", async () => {
    const attempts = [
      "/files/0/../secret.txt",
      "/files/%2e%2e/%2e%2e/package.json",
      "/files/0/%2E%2E%2Fsecret.txt",
      "/..%2f..%2fpackage.json",
      "/../package.json",
      "/files/0/..\\secret.txt",
      "//etc/passwd",
      `/${join(dir, "secret.txt")}`,
      `/files/0/secret.txt`,
      `/files/2/secret.txt`,
      "/files/",
      "/package.json",
      "/viewer/main.ts",
      "/dist/viewer/main.js",
    ];
    for (const path of attempts) {
      const response = await get(view.url, path);
      expect([403, 404], path).toContain(response.status);
      expect(response.body, path).not.toContain(secret);
      expect(response.body, path).not.toContain('"name": "thbspline"');
    }
    expect((await get(view.url, "/files/0/../secret.txt")).status).toBe(403);
    expect((await get(view.url, "/files/%2e%2e/%2e%2e/package.json")).status).toBe(403);
    // DNS rebinding: a page on another origin resolving to 127.0.0.1 sends its own Host
    expect((await get(view.url, "/files.json", "evil.example:80")).status).toBe(403);
  });

  it("listens on 127.0.0.1 only", async () => {
    const port = Number(new URL(view.url).port);
    expect(new URL(view.url).hostname).toBe("127.0.0.1");
    expect(await connects("127.0.0.1", port)).toBe(true);
    const others = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && !a.internal)
      .map((a) => a!.address);
    for (const address of ["::1", ...others]) expect(await connects(address, port), address).toBe(false);
  });

  it("--open starts the browser BROWSER names with the page's URL, and says so when it cannot", async () => {
    const record = join(dir, "opened.txt");
    const fake = join(dir, "fake-browser.mjs");
    writeFileSync(
      fake,
      `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(record)}, process.argv.slice(2).join(" "));\n`,
    );
    const args = [join(dir, "surface.json"), "--port", "0", "--open"];
    const opened = await startView(args, 60_000, { ...process.env, BROWSER: `${process.execPath} ${fake}` });
    for (let waited = 0; !existsSync(record) && waited < 20_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(readFileSync(record, "utf8")).toBe(opened.url);
    expect(await opened.stop()).toBe(0);
    const missing = await startView(args, 60_000, { ...process.env, BROWSER: join(dir, "no-such-browser") });
    for (let waited = 0; !missing.output().includes("could not start") && waited < 20_000; waited += 100)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(missing.output()).toContain(
      `could not start ${join(dir, "no-such-browser")}; open ${missing.url} yourself`,
    );
    expect(await missing.stop()).toBe(0);
  });

  it("names a missing file and a bad port, and stops cleanly on SIGINT (Ctrl-C)", async () => {
    await expect(startView([join(dir, "missing.json"), "--port", "0"], 30_000)).rejects.toThrow(
      /missing\.json: cannot read \(no such file\)/,
    );
    await expect(startView(["--port", "70000"], 30_000)).rejects.toThrow(
      /--port must be an integer from 0 to 65535/,
    );
    const second = await startView([join(dir, "surface.json"), "--port", "0"]);
    expect(await second.stop()).toBe(0);
    expect(second.output()).toContain("thb view: stopped");
    expect(await connects("127.0.0.1", Number(new URL(second.url).port))).toBe(false);
  });
});

/**
 * Pixels in [x0, x1) × [y0, y1) that differ by more than 12 in some channel between two screenshots, and
 * their centroid.
 */
function changedPixels(a: Rgba, b: Rgba, [x0, y0, x1, y1]: readonly number[]) {
  let count = 0;
  let sx = 0;
  let sy = 0;
  for (let y = y0; y < y1; y++) {
    for (let x = x0; x < x1; x++) {
      const i = 4 * (y * a.width + x);
      if ([0, 1, 2].some((k) => Math.abs(a.rgba[i + k] - b.rgba[i + k]) > 12)) {
        count++;
        sx += x;
        sy += y;
      }
    }
  }
  return { count, centroid: [sx / count, sy / count] };
}

if (!hasBrowser) {
  if (process.env.CI === "true")
    throw new Error(`CI=true but no ${CHROMIUM} or /usr/bin/Xvfb: apt-get install chromium xvfb`);
  console.warn(`\n!!! viewer browser tests SKIPPED: need ${CHROMIUM} and /usr/bin/Xvfb\n`);
}

const VIEWPORT = { width: 1000, height: 700 };
/** Rounds of the random-actions memory test: 197 under CI (1,000 clicks and drags), else 20 (105). */
const ROUNDS = process.env.CI === "true" ? 197 : 20;
const MEMORY_TEST_TIMEOUT = 150_000 + ROUNDS * 6_000;
/** Right of the panel: where the surface is drawn. */
const SCENE = [300, 0, VIEWPORT.width, VIEWPORT.height];
/** The bottom-right corner, background by the camera's framing: a control for the statistic. */
const CORNER = [VIEWPORT.width - 60, VIEWPORT.height - 60, VIEWPORT.width, VIEWPORT.height];

describe.skipIf(!hasBrowser)("thb view: the page in Chromium (headed, Xvfb, SwiftShader)", () => {
  let view: ViewProcess;
  let xvfb: ChildProcess | undefined;
  let browser: Browser | undefined;
  const problems: string[] = [];

  beforeAll(async () => {
    view = await startView(["--port", "0"]);
    const x = await startXvfb();
    xvfb = x.xvfb;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: FLAGS,
      headless: false,
      env: { ...process.env, DISPLAY: x.display },
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    xvfb?.kill("SIGTERM");
    await view?.stop();
  });

  /** Opens the viewer and waits for its first frame; console errors and page errors are collected. */
  async function open(query = ""): Promise<Page> {
    const page = await browser!.newPage({ viewport: VIEWPORT });
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    await page.goto(view.url + query);
    await page.waitForSelector("body[data-state=ready]", { timeout: 60_000 });
    await page.waitForTimeout(500);
    return page;
  }

  const readout = async (page: Page, id: string) => (await page.getByTestId(id).textContent()) ?? "";
  /** Waits until every update the page was asked for is drawn, then a little longer for the compositor. */
  const settle = async (page: Page) => {
    await page.evaluate(() =>
      (globalThis as unknown as { thbViewer: { settled(): Promise<number> } }).thbViewer.settled(),
    );
    await page.waitForTimeout(300);
  };

  let webgpuCoverage = 0;
  it("draws the surface with WebGPU: the backend readout says webgpu and the canvas is not blank", async () => {
    const page = await open();
    expect(await readout(page, "backend")).toBe("webgpu");
    expect(Number(await readout(page, "dofs"))).toBeGreaterThan(70);
    const png = await page.screenshot();
    const image = decodePng(png);
    webgpuCoverage = fractionUnlike(image, BACKGROUND, SCENE);
    expect(webgpuCoverage).toBeGreaterThan(0.1);
    expect(fractionUnlike(image, BACKGROUND, CORNER)).toBeLessThan(0.02);
    // the README's screenshot stays current, rewritten only when the picture changed visibly (a frame's
    // bytes differ from run to run by a few anti-aliased pixels)
    const kept = join(root, "docs", "viewer.png");
    const old = existsSync(kept) ? decodePng(readFileSync(kept)) : undefined;
    const whole = [0, 0, image.width, image.height];
    if (
      !old ||
      old.width !== image.width ||
      old.height !== image.height ||
      changedPixels(old, image, whole).count > 2000
    ) {
      mkdirSync(join(root, "docs"), { recursive: true });
      writeFileSync(kept, png);
    }
    await page.close();
  });

  it("draws the same scene with WebGL 2 when ?renderer=webgl asks for it", async () => {
    const page = await open("?renderer=webgl");
    expect(await readout(page, "backend")).toBe("webgl");
    const image = decodePng(await page.screenshot());
    const coverage = fractionUnlike(image, BACKGROUND, SCENE);
    expect(coverage).toBeGreaterThan(0.1);
    expect(Math.abs(coverage - webgpuCoverage)).toBeLessThan(0.03);
    await page.close();
  });

  it("a click refines the element under it by as many DOFs as refineElements predicts; shift-click coarsens; undo and redo restore", async () => {
    const page = await open();
    const listing = JSON.parse((await get(view.url, "/files.json")).body) as { url: string }[];
    const original = fieldFromJson((await get(view.url, listing[0].url.slice(1))).body).space;
    expect(Number(await readout(page, "dofs"))).toBe(original.size);
    const before = decodePng(await page.screenshot());
    const canvas = page.locator("canvas");
    const at = { x: 650, y: 360 };

    await canvas.click({ position: at });
    await page.waitForFunction(
      () => document.querySelector('[data-testid="last-action"]')?.textContent !== "—",
    );
    const refined = JSON.parse(await readout(page, "last-action")) as {
      action: string;
      level: number;
      cell: number[];
    };
    expect(refined.action).toBe("refine");
    const refinedSpace = refineElements(original, [refined], { admissibility: 2 });
    expect(refinedSpace.size).toBeGreaterThan(original.size);
    expect(Number(await readout(page, "dofs"))).toBe(refinedSpace.size);
    // the picked element is the one under the pointer: the new element lines appear around the click
    await settle(page);
    const changed = changedPixels(before, decodePng(await page.screenshot()), SCENE);
    expect(changed.count).toBeGreaterThan(50);
    console.info(`refinement changed ${changed.count} pixels around (${changed.centroid.map(Math.round)})`);
    expect(Math.hypot(changed.centroid[0] - at.x, changed.centroid[1] - at.y)).toBeLessThan(60);

    await canvas.click({ position: at, modifiers: ["Shift"] });
    await page.waitForFunction(() =>
      document.querySelector('[data-testid="last-action"]')?.textContent?.includes("coarsen"),
    );
    const coarse = JSON.parse(await readout(page, "last-action")) as { level: number; cell: number[] };
    expect(coarse.level).toBe(refined.level + 1);
    const coarsened = coarsenElements(refinedSpace, [coarse], { admissibility: 2 });
    expect(coarsened.coarsened).toBe(1);
    expect(Number(await readout(page, "dofs"))).toBe(coarsened.space.size);

    await page.keyboard.press("Control+z");
    expect(Number(await readout(page, "dofs"))).toBe(refinedSpace.size);
    await page.keyboard.press("Control+z");
    expect(Number(await readout(page, "dofs"))).toBe(original.size);
    await settle(page);
    const restored = changedPixels(before, decodePng(await page.screenshot()), SCENE);
    expect(restored.count).toBeLessThan(200);
    await page.keyboard.press("Control+Shift+z");
    expect(Number(await readout(page, "dofs"))).toBe(refinedSpace.size);
    await page.close();
  });

  it("dragging a control point moves it under the pointer, the surface follows, and undo restores the picture", async () => {
    const page = await open();
    const dofs = await readout(page, "dofs");
    await page.getByTestId("show-control").check();
    await settle(page);
    const before = decodePng(await page.screenshot());
    const onScreen = (id: number) =>
      page.evaluate(
        (i) =>
          (
            globalThis as unknown as { thbViewer: { controlPointOnScreen(i: number): [number, number] } }
          ).thbViewer.controlPointOnScreen(i),
        id,
      );
    const points = await page.evaluate((n) => {
      const viewer = (
        globalThis as unknown as { thbViewer: { controlPointOnScreen(i: number): [number, number] } }
      ).thbViewer;
      return Array.from({ length: n }, (_, i) => viewer.controlPointOnScreen(i));
    }, Number(dofs));
    // a control point well inside the scene with no other within 15 px, so the press picks it alone
    const isolated = points
      .map((p, id) => ({ p, id }))
      .filter(({ p }) => p[0] > 400 && p[0] < 900 && p[1] > 150 && p[1] < 600)
      .filter(({ p, id }) => points.every((q, j) => j === id || Math.hypot(p[0] - q[0], p[1] - q[1]) > 15));
    expect(isolated.length).toBeGreaterThan(0);
    const { p: start, id } = isolated.reduce((a, b) =>
      Math.hypot(a.p[0] - 650, a.p[1] - 360) <= Math.hypot(b.p[0] - 650, b.p[1] - 360) ? a : b,
    );
    const end = [start[0], start[1] - 40];
    await page.mouse.move(start[0], start[1]);
    await page.mouse.down();
    await page.mouse.move(end[0], end[1], { steps: 6 });
    await page.mouse.up();
    expect(JSON.parse(await readout(page, "last-action"))).toEqual({ action: "drag", function: id });
    const moved = await onScreen(id);
    expect(Math.hypot(moved[0] - end[0], moved[1] - end[1])).toBeLessThan(1.5);
    expect(await readout(page, "dofs")).toBe(dofs);
    await settle(page);
    const changed = changedPixels(before, decodePng(await page.screenshot()), SCENE);
    console.info(`drag changed ${changed.count} pixels around (${changed.centroid.map(Math.round)})`);
    expect(changed.count).toBeGreaterThan(70);
    expect(Math.hypot(changed.centroid[0] - start[0], changed.centroid[1] - (start[1] - 20))).toBeLessThan(
      120,
    );

    await page.keyboard.press("Control+z");
    const back = await onScreen(id);
    expect(Math.hypot(back[0] - start[0], back[1] - start[1])).toBeLessThan(0.01);
    await settle(page);
    expect(changedPixels(before, decodePng(await page.screenshot()), SCENE).count).toBeLessThan(200);
    await page.close();
  });

  it("Fit (in a worker) lowers max-error level after level, as the page measures it; Stop stops it", async () => {
    interface FitLevel {
      levels: number;
      dofs: number;
      maxError: number;
      reportedMaxError: number;
    }
    const fitLog = () =>
      page.evaluate(() => [
        ...(globalThis as unknown as { thbViewer: { fitLog: FitLevel[] } }).thbViewer.fitLog,
      ]);
    const status = () => readout(page, "fit-status");
    const page = await open();
    await page.getByTestId("fit").click();
    await page.waitForFunction(
      () => /done|failed/.test(document.querySelector('[data-testid="fit-status"]')?.textContent ?? ""),
      undefined,
      { timeout: 120_000 },
    );
    expect(await status()).toBe("done after 5 levels (maxLevels)");
    const log = await fitLog();
    expect(log.map((l) => l.levels)).toEqual([1, 2, 3, 4, 5]);
    for (let i = 1; i < log.length; i++)
      expect(log[i].maxError, `level ${i + 1}`).toBeLessThan(log[i - 1].maxError);
    // the page's own distances (its THBField at the fit's parameters) agree with the worker's report
    for (const l of log)
      expect(Math.abs(l.maxError - l.reportedMaxError)).toBeLessThan(1e-9 * l.reportedMaxError);
    expect(Number(await readout(page, "dofs"))).toBe(log[4].dofs);
    expect(await readout(page, "max-error")).toBe(log[4].maxError.toPrecision(4));

    // Stop races the worker: on a loaded machine the page may see all five levels before the click lands,
    // so a run that finished is tried again (at most three times)
    let stopped: RegExpMatchArray | null = null;
    for (let attempt = 0; attempt < 3 && !stopped; attempt++) {
      await page.getByTestId("fit").click();
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { thbViewer: { fitLog: unknown[] } }).thbViewer.fitLog.length >= 1 &&
          /level|done/.test(document.querySelector('[data-testid="fit-status"]')?.textContent ?? ""),
      );
      await page.getByTestId("stop").click();
      // Stop finishes showing a level already received, then says how many levels it kept
      await page.waitForFunction(() =>
        /stopped|done/.test(document.querySelector('[data-testid="fit-status"]')?.textContent ?? ""),
      );
      stopped = (await status()).match(/^stopped after (\d) levels$/);
    }
    expect(stopped).not.toBeNull();
    const levels = Number(stopped![1]);
    expect(levels).toBeLessThan(5);
    await page.waitForTimeout(3000);
    expect((await fitLog()).length).toBe(levels);
    expect(Number(await readout(page, "dofs"))).toBe(log[levels - 1].dofs);
    await page.close();
  });

  it("exports the field as JSON, the surface as OBJ and GLB (vertices on the surface), the canvas as PNG", async () => {
    const page = await open();
    const listing = JSON.parse((await get(view.url, "/files.json")).body) as { url: string }[];
    const served = fieldFromJson((await get(view.url, listing[0].url.slice(1))).body);
    const save = async (id: string) => {
      const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(id).click()]);
      return readFileSync((await download.path()) as string);
    };
    const json = fieldFromJson((await save("export-json")).toString("utf8"));
    expect(json.space.size).toBe(served.space.size);
    expect(Array.from(json.control)).toEqual(Array.from(served.control));

    const obj = (await save("export-obj")).toString("utf8").split("\n");
    const vertices = obj.filter((l) => l.startsWith("v ")).map((l) => l.slice(2).split(" ").map(Number));
    const uvs = obj.filter((l) => l.startsWith("vt ")).map((l) => l.slice(3).split(" ").map(Number));
    expect(vertices.length).toBe(161 * 161);
    expect(uvs.length).toBe(vertices.length);
    expect(obj.filter((l) => l.startsWith("f ")).length).toBe(2 * 160 * 160);
    const size = Math.hypot(
      ...[0, 1, 2].map(
        (k) => Math.max(...vertices.map((v) => v[k])) - Math.min(...vertices.map((v) => v[k])),
      ),
    );
    for (const i of [0, 4321, 12_345, vertices.length - 1]) {
      // vt carries 9 digits: clamp the rounding back into the domain
      const uv = uvs[i].map((t, k) => Math.min(Math.max(t, served.space.lower[k]), served.space.upper[k]));
      const expected = served.evaluate(uv, 0);
      for (let k = 0; k < 3; k++) expect(Math.abs(vertices[i][k] - expected[k])).toBeLessThan(1e-7 * size);
    }

    const glb = await save("export-glb");
    expect(glb.readUInt32LE(0)).toBe(0x46546c67); // "glTF"
    expect(glb.readUInt32LE(4)).toBe(2);
    expect(glb.readUInt32LE(8)).toBe(glb.length);
    const gltf = JSON.parse(glb.subarray(20, 20 + glb.readUInt32LE(12)).toString("utf8"));
    const primitive = gltf.meshes[0].primitives[0];
    expect(gltf.accessors[primitive.attributes.POSITION].count).toBe(161 * 161);
    expect(gltf.accessors[primitive.indices].count).toBe(6 * 160 * 160);

    const png = decodePng(await save("export-png"));
    expect([png.width, png.height]).toEqual([VIEWPORT.width, VIEWPORT.height]);
    expect(fractionUnlike(png, BACKGROUND, SCENE)).toBeGreaterThan(0.1);
    await page.close();
  });

  it("bad files show a message naming the file and leave the surface as it was", async () => {
    const page = await open();
    const dofs = await readout(page, "dofs");
    const cases: [string, string, RegExp][] = [
      ["broken.json", "{ not json", /broken\.json: not valid JSON/],
      ["shape.stl", "solid x", /shape\.stl: unknown file type "\.stl"/],
      [
        "short.json",
        JSON.stringify({ ...JSON.parse(fieldToJson(smallField())), control: [1, 2, 3] }),
        /short\.json: "control" must hold/,
      ],
    ];
    for (const [name, text, message] of cases) {
      await page
        .getByTestId("file")
        .setInputFiles({ name, mimeType: "application/octet-stream", buffer: Buffer.from(text) });
      await page.waitForFunction(
        () => (document.querySelector('[data-testid="message"]')?.textContent ?? "") !== "",
      );
      expect(await readout(page, "message")).toMatch(message);
      expect(await readout(page, "dofs")).toBe(dofs);
      await page.evaluate(() => {
        (document.querySelector('[data-testid="message"]') as HTMLElement).textContent = "";
      });
    }
    await page.close();
  });

  it("random clicks, shift-clicks, undos and redos leave GPU objects and the JS heap flat (history of 8)", async () => {
    const page = await open("?history=8");
    const rand = seededRandom(15);
    const memory = () =>
      page.evaluate(async () => {
        return (
          globalThis as unknown as {
            thbViewer: { memory(): Promise<{ geometries: number; textures: number; heap: number }> };
          }
        ).thbViewer.memory();
      });
    for (let step = 1; step <= 40; step++) {
      const r = rand();
      if (r < 0.6) {
        const position = { x: 420 + Math.floor(rand() * 460), y: 150 + Math.floor(rand() * 400) };
        await page.locator("canvas").click({ position, modifiers: r < 0.15 ? ["Shift"] : [] });
      } else await page.keyboard.press(r < 0.8 ? "Control+z" : "Control+Shift+z");
    }
    // then cycles that end where they began (refine at one spot, undo): the surface and the history are the
    // same after every cycle, so whatever the heap holds beyond noise after more cycles is a leak (comparing
    // two points of the random walk compared surfaces of different sizes)
    const samples: { geometries: number; textures: number; heap: number }[] = [];
    for (let cycle = 1; cycle <= 12; cycle++) {
      await page.locator("canvas").click({ position: { x: 640, y: 350 } });
      await page.keyboard.press("Control+z");
      if (cycle === 2 || cycle === 12) {
        // the least of three readings: a reading can catch work in flight, never less than what is kept
        const readings = [];
        for (let r = 0; r < 3; r++) {
          readings.push(await memory());
          await page.waitForTimeout(200);
        }
        samples.push(readings.reduce((a, b) => (b.heap < a.heap ? b : a)));
      }
    }
    console.info(`memory after cycles 2 and 12: ${JSON.stringify(samples)}`);
    const [middle, end] = samples;
    expect(end.geometries).toBe(middle.geometries);
    expect(end.textures).toBe(middle.textures);
    expect(end.heap).toBeLessThan(middle.heap * 1.15 + 8e6);
    await page.close();
  }, 200_000);

  // Power: the leak this test found (issue 15: a new LineSegments per edit on a shared material; three's
  // WebGPU renderer kept a render object, and through it the object's edge arrays, for every one drawn) held
  // 0.5–0.9 MB per round here: with the old code this test read 36.5 → 43.0 → 52.6 MB, 6.6 and 9.6 MB in the
  // two seven-round spans compared, against a bound of 2 MB + 3 % on the smaller of the two (a leak
  // grows both; a one-time step, such as a shared row pool of the plans filling up and the next refinement
  // compacting into a new one, grows one). The states reachable by redo are pinned before each reading (one
  // fixed refinement, undone), so the readings compare the same page state. Under CI the count:
  // 1,000 clicks and drags (197 rounds, about 6 minutes on this 2-core machine); a local run does 20 rounds (105).
  it(
    "random clicks and drags (with shift-clicks, undos, redos) leave GPU objects and the JS heap flat (history of 32)",
    async () => {
      // CPU tessellation: on SwiftShader a WebGPU tessellation per drag step makes each action slower (the
      // WebGPU path draws in every other test)
      const page = await open("?history=32&tessellation=cpu");
      const cdp = await page.context().newCDPSession(page);
      const rand = seededRandom(15);
      type Reading = { geometries: number; textures: number; heap: number };
      const thbViewer = <T>(call: string, arg?: unknown) =>
        page.evaluate(
          ([c, a]) =>
            (
              globalThis as unknown as { thbViewer: Record<string, (x?: unknown) => Promise<unknown>> }
            ).thbViewer[c as string](a) as Promise<T>,
          [call, arg] as const,
        );
      // a few through the pointer: real clicks and keys
      for (let step = 1; step <= 8; step++) {
        const r = rand();
        if (r < 0.6) {
          const position = { x: 420 + Math.floor(rand() * 460), y: 150 + Math.floor(rand() * 400) };
          await page.locator("canvas").click({ position, modifiers: r < 0.15 ? ["Shift"] : [] });
        } else await page.keyboard.press(r < 0.8 ? "Control+z" : "Control+Shift+z");
      }
      await thbViewer("settled");
      const dofs = await readout(page, "dofs");
      const base = await page.evaluate(() =>
        (globalThis as unknown as { thbViewer: { historyPosition(): number } }).thbViewer.historyPosition(),
      );
      /**
       * GPU objects (three's count) and the JS heap after a full collection (V8's heap plus array buffers'
       * backing stores, where typed arrays live), in the same page state every time: the least of three.
       */
      const memory = async (): Promise<Reading> => {
        // pin what redo can reach: one fixed refinement, undone
        await thbViewer("act", [
          { kind: "click", at: [0.5, 0.5] },
          { kind: "undoTo", position: base },
        ]);
        const readings: Reading[] = [];
        for (let r = 0; r < 3; r++) {
          const { geometries, textures } = await thbViewer<Reading>("memory");
          await cdp.send("HeapProfiler.collectGarbage");
          const usage = (await cdp.send("Runtime.getHeapUsage")) as {
            usedSize: number;
            backingStorageSize?: number;
          };
          readings.push({ geometries, textures, heap: usage.usedSize + (usage.backingStorageSize ?? 0) });
          await page.waitForTimeout(100);
        }
        return readings.reduce((a, b) => (b.heap < a.heap ? b : a));
      };
      // then clicks and drags through the page's handlers (thbViewer.act: the code the pointer events call), in
      // rounds of six random clicks, shift-clicks, drags and redos followed by undos back to where the round
      // began: the surface is the same after every round and the history bounded, so what the heap holds
      // beyond noise after more rounds is a leak (a random walk would compare surfaces of different sizes)
      const samples: Reading[] = [];
      let clicksAndDrags = 0;
      const checkpoints = [Math.round(0.3 * ROUNDS), Math.round(0.65 * ROUNDS), ROUNDS];
      for (let round = 1; round <= ROUNDS; round++) {
        const actions: unknown[] = [];
        for (let a = 0; a < 6; a++) {
          const r = rand();
          if (r < 0.45) actions.push({ kind: "click", at: [rand(), rand()], shift: r < 0.12 });
          else if (r < 0.85)
            actions.push({ kind: "drag", which: rand(), by: [rand() - 0.5, rand() - 0.5, rand() - 0.5] });
          else actions.push({ kind: "redo" });
          if (r < 0.85) clicksAndDrags++;
        }
        actions.push({ kind: "undoTo", position: base });
        await thbViewer("act", actions);
        expect(await readout(page, "dofs"), `round ${round}`).toBe(dofs);
        if (checkpoints.includes(round)) samples.push(await memory());
      }
      console.info(
        `memory after rounds ${checkpoints.join(", ")} (${clicksAndDrags} clicks and drags): ${JSON.stringify(samples)}`,
      );
      if (ROUNDS >= 197) expect(clicksAndDrags).toBeGreaterThanOrEqual(1000);
      const [first, middle, end] = samples;
      for (const sample of [middle, end]) {
        expect(sample.geometries).toBe(first.geometries);
        expect(sample.textures).toBe(first.textures);
      }
      const growth = Math.min(middle.heap - first.heap, end.heap - middle.heap);
      expect(growth).toBeLessThan(2e6 + 0.03 * first.heap);
      expect(end.heap).toBeLessThan(first.heap * 1.1 + 8e6);
      const times = await page.evaluate(
        () =>
          (globalThis as unknown as { thbViewer: { actionTimes: { action: string; ms: number }[] } })
            .thbViewer.actionTimes,
      );
      expect(times.filter((t) => t.action === "refine").length).toBeGreaterThan(15);
      expect(times.filter((t) => t.action === "drag").length).toBeGreaterThan(70);
      await page.close();
    },
    MEMORY_TEST_TIMEOUT,
  );

  it("a surface dropped on the page replaces the one shown; a bad one dropped leaves it as it was", async () => {
    const page = await open();
    const drop = async (name: string, text: string) => {
      const dataTransfer = await page.evaluateHandle(
        ([n, t]) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([t], n));
          return transfer;
        },
        [name, text],
      );
      await page.dispatchEvent("#view", "drop", { dataTransfer });
    };
    const small = smallField();
    await drop("dropped.json", fieldToJson(small));
    await page.waitForFunction(
      () => document.querySelector('[data-testid="source"]')?.textContent === "dropped.json",
    );
    expect(Number(await readout(page, "dofs"))).toBe(small.space.size);
    expect(await readout(page, "message")).toBe("");
    const before = decodePng(await page.screenshot());
    await drop("nan.json", fieldToJson(small).replace(/"control":\s*\[\s*[-0-9.e]+/, '"control":[NaN'));
    await page.waitForFunction(
      () => (document.querySelector('[data-testid="message"]')?.textContent ?? "") !== "",
    );
    expect(await readout(page, "message")).toMatch(/nan\.json: /);
    expect(await readout(page, "source")).toBe("dropped.json");
    expect(Number(await readout(page, "dofs"))).toBe(small.space.size);
    await page.waitForTimeout(300);
    expect(changedPixels(before, decodePng(await page.screenshot()), SCENE).count).toBeLessThan(200);
    await page.close();
  });

  it("logs no console errors and no unhandled rejections during the whole session", () => {
    expect(problems).toEqual([]);
  });
});
