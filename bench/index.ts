/** bench/: `npm run bench` tables — throughput of our kernels against peers measured in the same run. */
export { benchSplines } from "./splinesBench.js";
