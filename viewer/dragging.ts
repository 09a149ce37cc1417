/**
 * Dragging control points: a press on a visible control point (an instance of the control-point mesh) takes
 * the pointer from the orbit controls; moves slide the point in the plane through it facing the camera.
 */
import { type Camera, type InstancedMesh, Matrix4, Plane, Raycaster, Vector2, Vector3 } from "three/webgpu";

/** What a drag reports: the function id and its control point's new position. */
export interface DragHandlers {
  move(id: number, position: Vector3): void;
  end(id: number): void;
}

/** Listens for control-point drags on `canvas`; `controls` is paused during a drag. Returns an unsubscribe. */
export function listenForDrags(
  canvas: HTMLCanvasElement,
  camera: Camera,
  controls: { enabled: boolean },
  target: () => InstancedMesh | undefined,
  handlers: DragHandlers,
): () => void {
  const raycaster = new Raycaster();
  const pointer = new Vector2();
  const plane = new Plane();
  const point = new Vector3();
  const normal = new Vector3();
  const matrix = new Matrix4();
  let dragging: number | undefined;

  const aim = (event: PointerEvent) => {
    const rect = canvas.getBoundingClientRect();
    pointer.set(
      ((event.clientX - rect.left) / rect.width) * 2 - 1,
      -((event.clientY - rect.top) / rect.height) * 2 + 1,
    );
    raycaster.setFromCamera(pointer, camera);
  };
  const down = (event: PointerEvent) => {
    const mesh = target();
    if (event.button !== 0 || !mesh?.visible || mesh.count === 0) return;
    aim(event);
    const hit = raycaster.intersectObject(mesh, false)[0];
    if (hit?.instanceId === undefined) return;
    event.stopImmediatePropagation();
    dragging = hit.instanceId;
    mesh.getMatrixAt(dragging, matrix);
    point.setFromMatrixPosition(matrix);
    camera.getWorldDirection(normal);
    plane.setFromNormalAndCoplanarPoint(normal, point);
    controls.enabled = false;
    canvas.setPointerCapture(event.pointerId);
  };
  const move = (event: PointerEvent) => {
    if (dragging === undefined) return;
    event.stopImmediatePropagation();
    aim(event);
    if (raycaster.ray.intersectPlane(plane, point)) handlers.move(dragging, point);
  };
  const up = (event: PointerEvent) => {
    if (dragging === undefined) return;
    event.stopImmediatePropagation();
    const id = dragging;
    dragging = undefined;
    controls.enabled = true;
    canvas.releasePointerCapture(event.pointerId);
    handlers.end(id);
  };
  canvas.addEventListener("pointerdown", down, { capture: true });
  canvas.addEventListener("pointermove", move, { capture: true });
  canvas.addEventListener("pointerup", up, { capture: true });
  return () => {
    canvas.removeEventListener("pointerdown", down, { capture: true });
    canvas.removeEventListener("pointermove", move, { capture: true });
    canvas.removeEventListener("pointerup", up, { capture: true });
  };
}
