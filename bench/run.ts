/** `npm run bench`: every CPU benchmark table, peers measured in the same run. */
import { benchAutodiff } from "./autodiffBench.js";
import { benchFitting } from "./fittingBench.js";
import { benchHierarchy } from "./hierarchyBench.js";
import { benchSplines } from "./splinesBench.js";

console.log(`thbspline benchmarks — node ${process.version}, ${process.arch}; medians of repeated runs`);
await benchSplines();
benchHierarchy();
await benchAutodiff();
await benchFitting();
