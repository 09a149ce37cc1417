/** The body of startWarpThread's worker: serves one registration level after another (warpHelper.ts). */
import { parentPort, workerData } from "node:worker_threads";
import { serveWarpLevel, type WarpLevelMessage } from "../../fitting/registration/warpHelper.js";

parentPort?.on("message", (message: WarpLevelMessage) => serveWarpLevel(message));
// listening: the main thread may hand it levels from now on
Atomics.store(workerData.ready as Int32Array, 0, 1);
