/**
 * Browser side of the registration test: bundled by esbuild from the root entry (`index.ts`, the package's
 * browser-safe API) and loaded into headless Chromium, it registers a small 2D pair with the webgpu backend
 * of navigator.gpu and returns the report's numbers for the Node side to compare with the CPU run.
 */
import { registerImages, selectBackend } from "../../index.js";
import { blobs, imageOf } from "../registration/helpers.js";

/** What comes back. */
export interface BrowserRegistration {
  viaNavigator: boolean;
  backend: string;
  description: string;
  metrics: number[];
  levelMetrics: number[];
  metricAfter: number;
  foldingFraction: number;
}

/** The pair of the Node side: 40×40 blobs, the moving one shifted by (1.5, −1) px. */
export const pairOptions = { gridSpacing: 10, levels: 2, iterations: 10, initial: "none" } as const;

async function runRegistration(metric: "ssd" | "ncc"): Promise<BrowserRegistration | { error: string }> {
  const viaNavigator = Boolean((navigator as { gpu?: unknown }).gpu);
  try {
    const backend = await selectBackend({ prefer: "webgpu", log: () => {} });
    const fixed = imageOf([40, 40], blobs);
    const moving = imageOf([40, 40], (x, y) => blobs(x + 1.5, y - 1));
    try {
      const { report } = await registerImages(fixed, moving, { ...pairOptions, metric, backend });
      return {
        viaNavigator,
        backend: report.options.backend,
        description: backend.description,
        metrics: report.iterations.map((i) => i.metric),
        levelMetrics: report.levels.map((l) => l.metric),
        metricAfter: report.metricAfter,
        foldingFraction: report.foldingFraction,
      };
    } finally {
      backend.dispose();
    }
  } catch (error) {
    return { error: String((error as Error).stack ?? error) };
  }
}

(globalThis as { runRegistration?: typeof runRegistration }).runRegistration = runRegistration;
