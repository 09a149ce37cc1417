/**
 * The viewer page: loads the files `thb view` serves (listed at ./files.json) or files dropped on the page,
 * shows the surface with its hierarchy, and refines (click), coarsens (shift-click), undoes and redoes.
 */
import { type InstancedMesh, type Material, Vector3 } from "three/webgpu";
import { fieldFromJson, type PointCloud, THBField } from "../index.js";
import { listenForDrags } from "./dragging.js";
import { download, exportGlb, exportJson, exportObj, exportPng } from "./exports.js";
import type { FitMessage, FitRequest } from "./fitWorker.js";
import { History } from "./history.js";
import { errorColor } from "./levelColors.js";
import { type Loaded, loadFile } from "./loaders.js";
import { setReadout, showField, showMessage } from "./panel.js";
import { listenForClicks, type SurfaceClick } from "./picking.js";
import { createStage } from "./scene.js";
import { elementAtParameter } from "./surfaceGeometry.js";
import { createSurfaceView, pointErrors, pointSpheres, type SurfaceView } from "./surfaceView.js";

const container = document.getElementById("view") as HTMLElement;
const query = new URLSearchParams(location.search);
const stage = await createStage(container, query.get("renderer") === "webgl");
setReadout("backend", stage.backend);

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

/** Shows `field` (the current state); frames the camera when asked; returns the cloud's largest error. */
function show(field: THBField, frame: boolean): number | undefined {
  if (view) {
    stage.scene.remove(view.group);
    view.dispose();
  }
  view = createSurfaceView(field, field.dim >= 2 ? diagonal(field.control) : 1);
  view.controlPoints.visible = showControl;
  stage.scene.add(view.group);
  showField(field);
  const maxError = showCloud();
  if (frame) stage.frame(view.group);
  stage.requestRender();
  return maxError;
}

function apply(loaded: Loaded): void {
  if (loaded.kind === "surface") {
    history.push(loaded.field);
    show(loaded.field, true);
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
      apply(loadFile(file.name, await file.bytes()));
      setReadout("source", file.name);
    } catch (error) {
      errors.push((error as Error).message);
    }
  }
  showMessage(errors.join("\n"));
}

function onClick(click: SurfaceClick): void {
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
      show(result.field, false);
    } else {
      const refined = field.refineElements([element], { admissibility: 2 });
      history.push(refined);
      show(refined, false);
    }
    setReadout("last-action", JSON.stringify({ action: click.shift ? "coarsen" : "refine", ...element }));
    showMessage("");
  } catch (error) {
    showMessage(`cannot ${click.shift ? "coarsen" : "refine"} ${where}: ${(error as Error).message}`);
  }
}

function step(direction: "undo" | "redo"): void {
  const field = direction === "undo" ? history.undo() : history.redo();
  if (field) {
    show(field, false);
    setReadout("last-action", direction);
  }
}

/** A control point being dragged: the field it shows (not yet in the history). */
let dragged: THBField | undefined;
listenForDrags(stage.renderer.domElement, stage.camera, stage.controls, () => view?.controlPoints, {
  move(id, position) {
    const field = dragged ?? history.current;
    if (field?.dim !== 3) return;
    const control = Float64Array.from(field.control);
    control.set([position.x, position.y, position.z], 3 * id);
    dragged = new THBField(field.space, control, 3, field.plan);
    show(dragged, false);
  },
  end(id) {
    if (!dragged) return;
    history.push(dragged);
    dragged = undefined;
    setReadout("last-action", JSON.stringify({ action: "drag", function: id }));
  },
});
listenForClicks(stage.renderer.domElement, stage.camera, () => view?.surface, onClick);

/** One level of a fit: what the worker reported and the largest error the page measured on that surface. */
interface FitLevel {
  levels: number;
  dofs: number;
  maxError: number | undefined;
  reportedMaxError: number;
}
const fitLog: FitLevel[] = [];
let fitWorker: Worker | undefined;

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
  worker.onmessage = (event: MessageEvent<FitMessage>) => {
    const message = event.data;
    if (worker !== fitWorker) return;
    if (message.type === "level") {
      const field = fieldFromJson(message.json, "fit");
      cloud = { points, params: message.params };
      history.push(field);
      const maxError = show(field, fitLog.length === 0);
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
  worker.onerror = (event) => {
    stopFit("failed");
    showMessage(`fit: ${event.message}`);
  };
  const request: FitRequest = { points, params: cloud.params, maxLevels: 5, smoothing: 1e-4 };
  worker.postMessage(request);
}
document.getElementById("fit")?.addEventListener("click", startFit);
document.getElementById("stop")?.addEventListener("click", () => {
  if (fitWorker) stopFit(`stopped after ${fitLog.length} levels`);
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
    step(key === "y" || event.shiftKey ? "redo" : "undo");
  }
});
document.getElementById("undo")?.addEventListener("click", () => step("undo"));
document.getElementById("redo")?.addEventListener("click", () => step("redo"));
document.getElementById("show-control")?.addEventListener("change", (event) => {
  showControl = (event.target as HTMLInputElement).checked;
  if (view) view.controlPoints.visible = showControl;
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
