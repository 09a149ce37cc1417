/**
 * The three.js stage: a WebGPURenderer (WebGL 2 when WebGPU is absent or `?renderer=webgl` asks for it),
 * a perspective camera with orbit controls, lights, and a render-on-demand loop.
 */
import { OrbitControls } from "three/addons/controls/OrbitControls.js";
import {
  AmbientLight,
  Box3,
  Color,
  DirectionalLight,
  type Object3D,
  PerspectiveCamera,
  Scene,
  Vector3,
  WebGPURenderer,
} from "three/webgpu";
import { BACKGROUND } from "./levelColors.js";

/** Which graphics API drew the page. */
export type RendererBackend = "webgpu" | "webgl";

/** The renderer, camera, controls and scene of the page. */
export interface Stage {
  readonly renderer: WebGPURenderer;
  readonly camera: PerspectiveCamera;
  readonly controls: OrbitControls;
  readonly scene: Scene;
  readonly backend: RendererBackend;
  /** Schedules one frame (render on demand). */
  requestRender(): void;
  /**
   * Schedules a frame and resolves once it is drawn (for WebGPU: once the GPU finished the work it was
   * given), with performance.now() then: how the page times what a click or a drag costs.
   */
  rendered(): Promise<number>;
  /** Points the camera at an object's bounding box. */
  frame(object: Object3D): void;
}

/** Creates the stage inside `container`; `forceWebGL` skips WebGPU. */
export async function createStage(container: HTMLElement, forceWebGL: boolean): Promise<Stage> {
  const renderer = new WebGPURenderer({ antialias: true, forceWebGL });
  renderer.setPixelRatio(window.devicePixelRatio);
  renderer.setSize(container.clientWidth, container.clientHeight);
  renderer.setClearColor(new Color(BACKGROUND));
  await renderer.init();
  container.appendChild(renderer.domElement);
  const backend: RendererBackend =
    (renderer.backend as { isWebGPUBackend?: boolean }).isWebGPUBackend === true ? "webgpu" : "webgl";

  const scene = new Scene();
  scene.background = new Color(BACKGROUND);
  scene.add(new AmbientLight(0xffffff, 0.5));
  const key = new DirectionalLight(0xffffff, 2.2);
  key.position.set(1, 2, 3);
  scene.add(key);
  const fill = new DirectionalLight(0x9fb8ff, 0.8);
  fill.position.set(-2, -1, -1);
  scene.add(fill);

  const camera = new PerspectiveCamera(40, container.clientWidth / container.clientHeight, 0.01, 1000);
  camera.up.set(0, 0, 1);
  camera.position.set(2, -3, 2);
  const controls = new OrbitControls(camera, renderer.domElement);

  let pending = false;
  let waiting: (() => void)[] = [];
  const draw = () => {
    pending = false;
    renderer.render(scene, camera);
    const done = waiting;
    waiting = [];
    for (const f of done) f();
  };
  const requestRender = () => {
    if (!pending) {
      pending = true;
      requestAnimationFrame(draw);
    }
  };
  const rendered = async () => {
    await new Promise<void>((resolve) => {
      waiting.push(resolve);
      requestRender();
    });
    await (renderer.backend as { device?: GPUDevice }).device?.queue.onSubmittedWorkDone();
    return performance.now();
  };
  controls.addEventListener("change", requestRender);
  window.addEventListener("resize", () => {
    camera.aspect = container.clientWidth / container.clientHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(container.clientWidth, container.clientHeight);
    requestRender();
  });

  const frame = (object: Object3D) => {
    const box = new Box3().setFromObject(object);
    const center = box.getCenter(new Vector3());
    const radius = Math.max(box.getSize(new Vector3()).length() / 2, 1e-6);
    const direction = new Vector3(0.45, -0.75, 0.6).normalize();
    camera.position.copy(center).addScaledVector(direction, radius / Math.sin((camera.fov * Math.PI) / 360));
    camera.near = radius / 100;
    camera.far = radius * 100;
    camera.updateProjectionMatrix();
    controls.target.copy(center);
    controls.update();
    requestRender();
  };
  return { renderer, camera, controls, scene, backend, requestRender, rendered, frame };
}
