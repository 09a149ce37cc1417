/** The body of startWarpThread's worker: serves one registration level after another (kernels/cpu/warpThreads.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { serveWarpLevel, type WarpLevelMessage } from "../../kernels/cpu/warpThreads.js";

parentPort?.on("message", (message: WarpLevelMessage) => serveWarpLevel(message));
// listening: the main thread may hand it levels from now on
Atomics.store(workerData.ready as Int32Array, 0, 1);
