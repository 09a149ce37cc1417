/**
 * A second thread for the 2D warp passes of a registration level (fitting/registration/fusedLevelLoss.ts): the main thread and the
 * helper each run warpForwardElements / warpAdjointElements on their own range of elements, on arrays in
 * shared memory, and meet at two points per evaluation (after the forward pass: the metric needs every pixel;
 * after the adjoint pass: the gather needs every element). Elements own disjoint pixels and disjoint gradient
 * rows, so the result is the one-thread result bit for bit. Elastix runs its metric on two threads too.
 *
 * The handshake is two Int32 slots in a SharedArrayBuffer, `control = [pass, done]`: the main thread writes
 * done = 0 then the pass and wakes the helper; the helper runs it, writes pass = IDLE then done = 1 (or FAILED)
 * and wakes the main thread. Atomics order the plain array writes on either side of them. This file is
 * browser-safe (a Web Worker can serve levels the same way, on a cross-origin-isolated page); the Node thread
 * is io/node/warpThread.ts.
 */
import {
  type WarpBlocks,
  type WarpImage,
  type WarpPlan,
  warpAdjointElements,
  warpForwardElements,
} from "./warpKernel.js";

const IDLE = 0;
/** Passes, in control[0]. */
export const FORWARD_PASS = 1;
export const ADJOINT_PASS = 2;
const RELEASE = 3;
/** control[1] after a pass the helper could not run. */
const FAILED = 2;
/** A pass takes milliseconds; a helper silent this long is gone. */
const JOIN_TIMEOUT_MS = 60_000;

/** What the helper gets per level: the passes' inputs, and the shared arrays they read and write. */
export interface WarpLevelMessage {
  readonly control: Int32Array;
  readonly plan: WarpPlan;
  readonly blocks: WarpBlocks;
  readonly image: WarpImage;
  /** Shared: `#elements by B by 2`, written by the main thread before each forward pass. */
  readonly local: Float64Array;
  /** Shared outputs of the forward pass (`#pixels`, `#pixels by 2`); du is the adjoint pass's input. */
  readonly values: Float64Array;
  readonly du: Float64Array;
  /** Shared output of the adjoint pass, `#elements by B by 2`. */
  readonly out: Float64Array;
  /** The helper's elements: [first, end). */
  readonly first: number;
  readonly end: number;
}

/** The main thread's handle on a helper thread. */
export interface WarpHelper {
  /** Whether the thread has started and listens (levels before that run on one thread). */
  ready(): boolean;
  /** Hands the helper a level; it serves passes on it until the level is released. */
  post(message: WarpLevelMessage): void;
  /** Stops the thread. */
  dispose(): Promise<void> | void;
}

/** A fresh control pair for a level. */
export function warpControl(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

/** Main thread: starts `pass` on the helper and returns at once. */
export function startPass(control: Int32Array, pass: number): void {
  Atomics.store(control, 1, 0);
  Atomics.store(control, 0, pass);
  Atomics.notify(control, 0);
}

/** Main thread: blocks until the started pass is done; throws if the helper failed or went silent. */
export function joinPass(control: Int32Array): void {
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  while (Atomics.load(control, 1) === 0) {
    if (Atomics.wait(control, 1, 0, 1000) === "timed-out" && performance.now() > deadline)
      throw new Error(`the warp helper thread did not finish a pass in ${JOIN_TIMEOUT_MS / 1000} s`);
  }
  if (Atomics.load(control, 1) === FAILED)
    throw new Error("the warp helper thread failed (see its error above)");
}

/** Main thread: ends the level (the helper returns to its message loop). */
export function releaseLevel(control: Int32Array): void {
  startPass(control, RELEASE);
  joinPass(control);
}

/**
 * Helper thread: serves the passes of one level until it is released. The objects the kernels read are
 * rebuilt here in fixed shapes, so this thread's compiled kernels stay monomorphic too.
 */
export function serveWarpLevel(m: WarpLevelMessage): void {
  const { control } = m;
  const plan: WarpPlan = {
    degrees: m.plan.degrees,
    localSize: m.plan.localSize,
    elementCount: m.plan.elementCount,
    elementLevel: m.plan.elementLevel,
  };
  const blocks: WarpBlocks = {
    dimension: m.blocks.dimension,
    counts: m.blocks.counts,
    coordinates: m.blocks.coordinates,
    weights: m.blocks.weights,
    boxes: m.blocks.boxes,
  };
  const image: WarpImage = {
    size: m.image.size,
    values: m.image.values,
    interpolation: m.image.interpolation,
    frameToMoving: m.image.frameToMoving,
  };
  for (;;) {
    Atomics.wait(control, 0, IDLE);
    const pass = Atomics.load(control, 0);
    if (pass === IDLE) continue;
    let done = 1;
    try {
      if (pass === FORWARD_PASS)
        warpForwardElements(plan, blocks, m.local, image, m.values, m.du, m.first, m.end);
      else if (pass === ADJOINT_PASS) warpAdjointElements(plan, blocks, m.du, m.out, m.first, m.end);
    } catch (error) {
      console.error(error);
      done = FAILED;
    }
    Atomics.store(control, 0, IDLE);
    Atomics.store(control, 1, done);
    Atomics.notify(control, 1);
    if (pass === RELEASE || done === FAILED) return;
  }
}
