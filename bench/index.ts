/** bench/: `npm run bench` tables — throughput of our kernels against peers measured in the same run. */

export { benchFitting } from "./fittingBench.js";
export { benchSplines } from "./splinesBench.js";
