/**
 * Clicks on the surface: a press and release within a few pixels (not an orbit drag) that hits the surface
 * reports the parameters (u, v) under the pointer — the surface's uv attribute holds them — and whether
 * shift was held.
 */
import { type Camera, type Mesh, Raycaster, Vector2 } from "three/webgpu";

/** A click on the surface at parameters (u, v). */
export interface SurfaceClick {
  u: number;
  v: number;
  shift: boolean;
  /** When the button went up (event.timeStamp, on performance.now()'s clock). */
  time: number;
}

/** Calls `onClick` for clicks on `target()` in `canvas`; returns a function that stops listening. */
export function listenForClicks(
  canvas: HTMLCanvasElement,
  camera: Camera,
  target: () => Mesh | undefined,
  onClick: (click: SurfaceClick) => void,
): () => void {
  const raycaster = new Raycaster();
  const pointer = new Vector2();
  let downX = 0;
  let downY = 0;
  const down = (event: PointerEvent) => {
    downX = event.clientX;
    downY = event.clientY;
  };
  const up = (event: PointerEvent) => {
    if (event.button !== 0 || Math.hypot(event.clientX - downX, event.clientY - downY) > 4) return;
    const mesh = target();
    if (!mesh) return;
    const rect = canvas.getBoundingClientRect();
    pointer.set(
      ((event.clientX - rect.left) / rect.width) * 2 - 1,
      -((event.clientY - rect.top) / rect.height) * 2 + 1,
    );
    raycaster.setFromCamera(pointer, camera);
    const hit = raycaster.intersectObject(mesh, false)[0];
    if (hit?.uv) onClick({ u: hit.uv.x, v: hit.uv.y, shift: event.shiftKey, time: event.timeStamp });
  };
  canvas.addEventListener("pointerdown", down);
  canvas.addEventListener("pointerup", up);
  return () => {
    canvas.removeEventListener("pointerdown", down);
    canvas.removeEventListener("pointerup", up);
  };
}
