/**
 * The viewer's fitting worker: adaptive least-squares fits (fitSurface) of a point cloud with one more level
 * allowed each round, posting each round's surface so the page shows the fit converge level after level
 * while it stays responsive. The page stops a fit by terminating the worker.
 */
import { type FitIteration, fieldToJson, fitSurface } from "../index.js";

/** What the page asks for. */
export interface FitRequest {
  points: Float64Array;
  params?: Float64Array;
  maxLevels: number;
  smoothing: number;
}

/** What the worker answers: a surface per level, then done (or an error). */
export type FitMessage =
  | { type: "level"; json: string; params: Float64Array; report: FitIteration }
  | { type: "done"; stopReason: string }
  | { type: "error"; message: string };

const post = (message: FitMessage) => (globalThis as unknown as Worker).postMessage(message);

globalThis.addEventListener("message", (event) => {
  const request = (event as MessageEvent<FitRequest>).data;
  try {
    let stopReason = "maxLevels";
    for (let levels = 1; levels <= request.maxLevels; levels++) {
      const fit = fitSurface(request.points, {
        params: request.params,
        maxLevels: levels,
        smoothing: request.smoothing,
      });
      post({ type: "level", json: fieldToJson(fit.surface), params: fit.params, report: fit.report.final });
      stopReason = fit.report.stopReason;
      if (stopReason !== "maxLevels") break;
    }
    post({ type: "done", stopReason });
  } catch (error) {
    post({ type: "error", message: (error as Error).message });
  }
});
