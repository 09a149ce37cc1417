/**
 * The viewer page: loads the files `thb view` serves (listed at ./files.json) or files dropped on the page,
 * shows the surface with its hierarchy, and refines (click), coarsens (shift-click), undoes and redoes.
 */
import { type InstancedMesh, type Material, Vector3 } from "three/webgpu";
import { type Backend, fieldFromJson, type PointCloud, type THBField } from "../index.js";
import { requestWebGPU, webgpuBackend } from "../webgpu.js";
import { listenForDrags } from "./dragging.js";
import { download, exportGlb, exportJson, exportObj, exportPng } from "./exports.js";
import type { FitMessage, FitRequest } from "./fitWorker.js";
import { History } from "./history.js";
import { errorColor } from "./levelColors.js";
import { type Loaded, loadFile } from "./loaders.js";
import { setReadout, showField, showMessage } from "./panel.js";
import { listenForClicks, type SurfaceClick } from "./picking.js";
import { createStage } from "./scene.js";
import { elementAtParameter, gridLayout } from "./surfaceGeometry.js";
import {
  cpuTessellator,
  createSurfaceView,
  type FieldChange,
  type GridTessellator,
  noteRefinement,
  pointErrors,
  pointSpheres,
  type SurfaceView,
} from "./surfaceView.js";

const container = document.getElementById("view") as HTMLElement;
const query = new URLSearchParams(location.search);
const stage = await createStage(container, query.get("renderer") === "webgl");
setReadout("backend", stage.backend);

/**
 * The grid kernel that tessellates: the library's WebGPU backend where the browser has a WebGPU adapter
 * (`?tessellation=cpu` asks for the CPU one), else the CPU grid kernel.
 */
async function chooseTessellator(): Promise<{ name: string; tessellator: GridTessellator }> {
  if (query.get("tessellation") === "cpu" || !("gpu" in navigator))
    return { name: "cpu", tessellator: cpuTessellator };
  let backend: Backend | undefined;
  try {
    const context = await requestWebGPU();
    backend = context ? webgpuBackend(context) : undefined;
  } catch {
    backend = undefined;
  }
  if (!backend) return { name: "cpu", tessellator: cpuTessellator };
  const gpu = backend;
  let uploaded: THBField["plan"] | undefined;
  return {
    name: "webgpu",
    tessellator: (field, segments) => {
      // one plan on the device at a time: the one of the surface shown
      if (uploaded && uploaded !== field.plan) gpu.tensors?.forgetPlan(uploaded);
      uploaded = field.plan;
      const grid = gridLayout(field, segments);
      return gpu.evaluateGrid(field.plan, field.control, field.dim, grid.lower, grid.spacing, grid.counts);
    },
  };
}
const tessellation = await chooseTessellator();

/** Undo depth: `?history=N` (default 64). */
const historyLimit = Number(query.get("history") ?? 64);
const history = new History<THBField>(
  Number.isInteger(historyLimit) && historyLimit >= 2 ? historyLimit : 64,
);
let view: SurfaceView | undefined;
let cloud: PointCloud | undefined;
let cloudMesh: InstancedMesh | undefined;
let showControl = false;

/** Diagonal of the bounding box of `points  #points by 3`. */
function diagonal(points: ArrayLike<number>): number {
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (let i = 0; i < points.length; i += 3) {
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k], points[i + k]);
      hi[k] = Math.max(hi[k], points[i + k]);
    }
  }
  return Math.hypot(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]) || 1;
}

/** Redraws the point cloud coloured by its distance to the current surface; returns the largest distance. */
function showCloud(): number | undefined {
  if (cloudMesh) {
    stage.scene.remove(cloudMesh);
    cloudMesh.geometry.dispose();
    (cloudMesh.material as Material).dispose();
    cloudMesh.dispose();
    cloudMesh = undefined;
  }
  if (!cloud) return undefined;
  const field = history.current;
  let max: number | undefined;
  const colors = new Float32Array(cloud.points.length).fill(0.8);
  if (field && view) {
    const grid = view.surface.geometry.getAttribute("position").array as Float32Array;
    const errors = pointErrors(field, cloud, grid);
    max = errors.reduce((a, b) => Math.max(a, b), 0);
    for (let i = 0; i < errors.length; i++) errorColor(errors[i], max, colors, 3 * i);
    setReadout("max-error", max.toPrecision(4));
  }
  cloudMesh = pointSpheres(cloud.points, colors, diagonal(cloud.points) * 0.003);
  stage.scene.add(cloudMesh);
  return max;
}

/** Whether two fields are drawn on the same parameter grid (same domain). */
function sameDomain(a: THBField, b: THBField): boolean {
  const la = a.space.lower;
  const ua = a.space.upper;
  const lb = b.space.lower;
  const ub = b.space.upper;
  return la.length === lb.length && la.every((x, k) => x === lb[k] && ua[k] === ub[k]) && a.dim === b.dim;
}

/**
 * Shows `field` (the current state), redoing only what `change` can have changed; frames the camera when
 * asked; returns the cloud's largest error. Updates are applied in call order.
 */
async function show(field: THBField, change: FieldChange, frame = false): Promise<number | undefined> {
  showField(field); // the readouts at once; the picture follows
  if (!view || !sameDomain(view.field, field) || (frame && change.kind === "new")) {
    if (view) {
      stage.scene.remove(view.group);
      view.dispose();
    }
    const created = await createSurfaceView(
      field,
      field.dim >= 2 ? diagonal(field.control) : 1,
      tessellation.tessellator,
      tessellation.name,
    );
    view = created;
    view.setControlPointsVisible(showControl);
    stage.scene.add(view.group);
  } else await view.show(field, change);
  setReadout("tessellation", view.tessellatedBy);
  // a refinement carries the surface over exactly: the cloud's distances did not change
  const maxError = change.kind === "refined" && cloudMesh ? undefined : showCloud();
  if (frame) stage.frame(view.group);
  stage.requestRender();
  return maxError;
}

async function apply(loaded: Loaded): Promise<void> {
  if (loaded.kind === "surface") {
    history.push(loaded.field);
    await show(loaded.field, { kind: "new" }, true);
  } else {
    cloud = loaded.cloud;
    showCloud();
    if (!view && cloudMesh) stage.frame(cloudMesh);
    stage.requestRender();
  }
}

/** Opens files: each one whole or not at all, so a bad file leaves the current surface as it was. */
async function open(files: { name: string; bytes: () => Promise<Uint8Array> }[]): Promise<void> {
  const errors: string[] = [];
  for (const file of files) {
    try {
      await apply(loadFile(file.name, await file.bytes()));
      setReadout("source", file.name);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  showMessage(errors.join("\n"));
}

/**
 * What the last clicks and drag steps cost: `ms` from the input event to the frame that shows it, `readyMs`
 * from the input event to the scene being updated (the page's own work, before the frame is drawn).
 */
const actionTimes: { action: string; ms: number; readyMs: number; dofs: number }[] = [];

async function onClick(click: SurfaceClick): Promise<void> {
  const field = history.current;
  if (!field) return;
  const element = elementAtParameter(field, click.u, click.v);
  if (!element) return;
  const where = `level ${element.level}, cell [${element.cell.join(", ")}]`;
  try {
    if (click.shift) {
      const result = field.coarsen([element], { admissibility: 2 });
      if (result.coarsened === 0) {
        showMessage(`cannot coarsen ${where}: level 0, a refined sibling, or it would break admissibility`);
        return;
      }
      history.push(result.field);
      await show(result.field, { kind: "new" });
    } else {
      const refined = field.refineElements([element], { admissibility: 2 });
      noteRefinement(field, refined);
      history.push(refined);
      await show(refined, { kind: "refined" });
    }
    const ready = performance.now();
    setReadout("last-action", JSON.stringify({ action: click.shift ? "coarsen" : "refine", ...element }));
    showMessage("");
    const dofs = history.current?.space.size ?? 0;
    void stage.rendered().then((drawn) => {
      const action = click.shift ? "coarsen" : "refine";
      actionTimes.push({ action, ms: drawn - click.time, readyMs: ready - click.time, dofs });
      if (actionTimes.length > 1000) actionTimes.shift();
    });
  } catch (error) {
    showMessage(`cannot ${click.shift ? "coarsen" : "refine"} ${where}: ${(error as Error).message}`);
  }
}

async function step(direction: "undo" | "redo"): Promise<void> {
  const field = direction === "undo" ? history.undo() : history.redo();
  if (field) {
    setReadout("last-action", direction);
    await show(field, { kind: "new" });
  }
}

/** A control point being dragged: the field it shows (not yet in the history). */
let dragged: THBField | undefined;
const drag = {
  move(id: number, position: Vector3) {
    const field = dragged ?? history.current;
    if (field?.dim !== 3) return;
    const time = performance.now();
    // coefficients only: the plan stays, the local control points of the elements it acts on are redone
    dragged = field.withControlRows([id], [position.x, position.y, position.z]);
    let ready = 0;
    const shown = show(dragged, { kind: "control", ids: [id] }).then(() => {
      ready = performance.now();
    });
    void shown
      .then(() => stage.rendered())
      .then((drawn) => {
        actionTimes.push({ action: "drag", ms: drawn - time, readyMs: ready - time, dofs: field.space.size });
        if (actionTimes.length > 1000) actionTimes.shift();
      });
    return shown;
  },
  end(id: number) {
    if (!dragged) return;
    history.push(dragged);
    dragged = undefined;
    setReadout("last-action", JSON.stringify({ action: "drag", function: id }));
  },
};
listenForDrags(stage.renderer.domElement, stage.camera, stage.controls, () => view?.controlPoints, drag);
listenForClicks(
  stage.renderer.domElement,
  stage.camera,
  () => view?.surface,
  (click) => void onClick(click),
);

/** One level of a fit: what the worker reported and the largest error the page measured on that surface. */
interface FitLevel {
  levels: number;
  dofs: number;
  maxError: number | undefined;
  reportedMaxError: number;
}
const fitLog: FitLevel[] = [];
let fitWorker: Worker | undefined;
/** The worker's messages, handled one at a time in arrival order (showing a level waits for its tessellation). */
let fitQueue = Promise.resolve();

function stopFit(status: string): void {
  fitWorker?.terminate();
  fitWorker = undefined;
  setReadout("fit-status", status);
}

/** Fits the loaded cloud in a worker, showing each level's surface as it arrives. */
function startFit(): void {
  if (!cloud) {
    showMessage("fit: open a point cloud first");
    return;
  }
  stopFit("fitting…");
  fitLog.length = 0;
  const points = cloud.points;
  const worker = new Worker(new URL("./fitWorker.js", import.meta.url), { type: "module" });
  fitWorker = worker;
  const handle = async (message: FitMessage) => {
    if (worker !== fitWorker) return;
    if (message.type === "level") {
      const field = fieldFromJson(message.json, "fit");
      cloud = { points, params: message.params };
      history.push(field);
      const maxError = await show(field, { kind: "new" }, fitLog.length === 0);
      const { levels, dofs } = message.report;
      fitLog.push({ levels, dofs, maxError, reportedMaxError: message.report.maxError });
      setReadout("fit-status", `level ${levels}: ${dofs} DOFs`);
      setReadout("last-action", "fit");
    } else if (message.type === "done") {
      stopFit(`done after ${fitLog.length} levels (${message.stopReason})`);
    } else {
      stopFit("failed");
      showMessage(`fit: ${message.message}`);
    }
  };
  worker.onmessage = (event: MessageEvent<FitMessage>) => {
    fitQueue = fitQueue.then(() => handle(event.data));
  };
  worker.onerror = (event) => {
    stopFit("failed");
    showMessage(`fit: ${event.message}`);
  };
  const request: FitRequest = { points, params: cloud.params, maxLevels: 5, smoothing: 1e-4 };
  worker.postMessage(request);
}
document.getElementById("fit")?.addEventListener("click", startFit);
document.getElementById("stop")?.addEventListener("click", async () => {
  if (!fitWorker) return;
  fitWorker.terminate();
  // a level already received is shown to the end, then counted
  await fitQueue;
  if (fitWorker) stopFit(`stopped after ${fitLog.length} levels`); // unless it finished meanwhile
});

for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>("[data-export]"))) {
  button.addEventListener("click", async () => {
    const field = history.current;
    if (!field) return;
    const kind = button.dataset.export;
    try {
      if (kind === "json") download(exportJson(field), "surface.json");
      else if (kind === "obj") download(exportObj(field), "surface.obj");
      else if (kind === "glb") download(await exportGlb(field), "surface.glb");
      else download(await exportPng(stage), "thb-view.png");
    } catch (error) {
      showMessage(`export ${kind}: ${(error as Error).message}`);
    }
  });
}

/** For scripts and tests: where control point `id` of the shown field is on screen (CSS pixels). */
const scripting = {
  /** Live GPU objects (three's renderer.info) and, where the browser reports it, the JS heap in bytes. */
  async memory() {
    // after a frame: three counts a geometry once it has been drawn
    stage.requestRender();
    await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
    // let the GPU finish what it was given: on a software GPU under load, frames still in flight hold their
    // temporaries, which would count as heap here
    const device = (stage.renderer.backend as { device?: GPUDevice }).device;
    await device?.queue.onSubmittedWorkDone();
    // a full collection first where the browser exposes one (Chromium with --js-flags=--expose-gc)
    (globalThis as { gc?: () => void }).gc?.();
    const { geometries, textures } = stage.renderer.info.memory;
    const heap = (performance as unknown as { memory?: { usedJSHeapSize: number } }).memory?.usedJSHeapSize;
    return { geometries, textures, heap };
  },
  /** The levels of the last fit, in arrival order. */
  fitLog,
  /** Click and drag-step times to the scene updated and to the frame drawn (ms), latest last (1,000 kept). */
  actionTimes,
  /**
   * Turns the camera once around its target in `frames` steps, drawing each: the time of every frame (ms,
   * from the camera move to the GPU having finished the frame).
   */
  async orbit(frames: number) {
    const times: number[] = [];
    const target = stage.controls.target;
    const axis = stage.camera.up.clone().normalize();
    for (let f = 0; f < frames; f++) {
      const start = performance.now();
      stage.camera.position
        .sub(target)
        .applyAxisAngle(axis, (2 * Math.PI) / frames)
        .add(target);
      stage.camera.lookAt(target);
      times.push((await stage.rendered()) - start);
    }
    return times;
  },
  /** The number of undos available (the current state's place in the history). */
  historyPosition: () => history.position,
  /** Resolves when every update asked for so far is on screen. */
  async settled() {
    if (view) await view.show(view.field, { kind: "control", ids: [] });
    return stage.rendered();
  },
  /**
   * Runs actions through the handlers that clicks, drags and keys call (the page's own code paths, without
   * the pointer events and the ray cast that find their target): a click at parameters (u, v), a drag of
   * control point `id` by `by` in three steps (each after the one before is shown, as pointer moves come),
   * an undo or a redo. For tests that need many actions.
   */
  async act(
    actions: (
      | { kind: "click"; at: [number, number]; shift?: boolean }
      | { kind: "drag"; which: number; by: [number, number, number] }
      | { kind: "undo" | "redo" }
      | { kind: "undoTo"; position: number }
    )[],
  ) {
    for (const action of actions) {
      const field = history.current;
      if (!field) return;
      if (action.kind === "click") {
        // `at`: where in the domain, as fractions of its sides
        const lo = field.space.lower;
        const hi = field.space.upper;
        const [u, v] = action.at.map((t, k) => lo[k] + Math.min(Math.max(t, 0), 1) * (hi[k] - lo[k]));
        await onClick({ u, v, shift: action.shift ?? false, time: performance.now() });
      } else if (action.kind === "drag") {
        // `which`: the control point, as a fraction of their count
        const id = Math.min(field.space.size - 1, Math.floor(action.which * field.space.size));
        if (field.dim !== 3 || !(id >= 0)) continue;
        // one step after another's scene update, as pointer moves come (at most one per frame): a step's
        // time is then its own work, not also that of the steps queued behind it
        const start = new Vector3().fromArray(field.control, 3 * id);
        for (let s = 1; s <= 3; s++)
          await drag.move(id, start.clone().addScaledVector(new Vector3(...action.by), s / 3));
        drag.end(id);
      } else if (action.kind === "undoTo") {
        while (history.position > action.position) await step("undo");
      } else await step(action.kind);
    }
    await scripting.settled();
  },
  controlPointOnScreen(id: number): [number, number] | undefined {
    const field = dragged ?? history.current;
    if (field?.dim !== 3 || id < 0 || id >= field.space.size) return undefined;
    const p = new Vector3().fromArray(field.control, 3 * id).project(stage.camera);
    const rect = stage.renderer.domElement.getBoundingClientRect();
    return [rect.left + ((p.x + 1) / 2) * rect.width, rect.top + ((1 - p.y) / 2) * rect.height];
  },
};
Object.assign(globalThis, { thbViewer: scripting });
window.addEventListener("keydown", (event) => {
  if (!(event.ctrlKey || event.metaKey)) return;
  const key = event.key.toLowerCase();
  if (key === "z" || key === "y") {
    event.preventDefault();
    void step(key === "y" || event.shiftKey ? "redo" : "undo");
  }
});
document.getElementById("undo")?.addEventListener("click", () => void step("undo"));
document.getElementById("redo")?.addEventListener("click", () => void step("redo"));
document.getElementById("show-control")?.addEventListener("change", (event) => {
  showControl = (event.target as HTMLInputElement).checked;
  view?.setControlPointsVisible(showControl);
  stage.requestRender();
});
const fromFiles = (list: FileList | null | undefined) =>
  Array.from(list ?? []).map((f) => ({
    name: f.name,
    bytes: async () => new Uint8Array(await f.arrayBuffer()),
  }));
document.getElementById("file")?.addEventListener("change", (event) => {
  void open(fromFiles((event.target as HTMLInputElement).files));
});
window.addEventListener("dragover", (event) => event.preventDefault());
window.addEventListener("drop", (event) => {
  event.preventDefault();
  void open(fromFiles(event.dataTransfer?.files));
});

// the files `thb view` was given (absent when the page is served statically)
const listing = await fetch("./files.json").catch(() => undefined);
if (listing?.ok) {
  const entries = (await listing.json()) as { name: string; url: string }[];
  await open(
    entries.map((entry) => ({
      name: entry.name,
      bytes: async () => new Uint8Array(await (await fetch(entry.url)).arrayBuffer()),
    })),
  );
}
stage.requestRender();
requestAnimationFrame(() => requestAnimationFrame(() => document.body.setAttribute("data-state", "ready")));
