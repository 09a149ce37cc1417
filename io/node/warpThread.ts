/**
 * A Node worker thread that shares the 2D warp passes of registerImages (its `helperThread` option, see
 * kernels/cpu/warpThreads.ts). It boots (a fresh V8 isolate and its modules) in the background: a
 * registration hands it levels once it is ready, and runs the levels before that on one thread — the same
 * numbers either way. The thread does not keep the process alive; dispose() stops it.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { WarpHelper } from "../../kernels/cpu/warpThreads.js";

export function startWarpThread(): WarpHelper {
  // set by the thread once it listens (a shared flag: the main thread can look without an event-loop turn)
  const ready = new Int32Array(new SharedArrayBuffer(4));
  // beside this module: dist/io/node/ (tsc), dist/bin/ (the CLI bundle, which builds it as an entry of its
  // own); from the TypeScript sources (tests), through tsx
  const built = new URL("./warpThreadEntry.js", import.meta.url);
  const source = new URL("./warpThreadEntry.ts", import.meta.url).href;
  const worker = existsSync(fileURLToPath(built))
    ? new Worker(built, { workerData: { ready } })
    : new Worker(
        `import("tsx/esm/api").then(({ register }) => { register(); return import(${JSON.stringify(source)}); })`,
        { eval: true, workerData: { ready } },
      );
  worker.unref();
  // a thread that fails to start never becomes ready: the registration stays on one thread
  worker.on("error", () => {});
  return {
    ready: () => Atomics.load(ready, 0) === 1,
    post: (message) => worker.postMessage(message),
    dispose: async () => {
      await worker.terminate();
    },
  };
}
