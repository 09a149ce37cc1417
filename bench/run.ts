/** `npm run bench`: every CPU benchmark table, peers measured in the same run. */
import { benchAutodiff } from "./autodiffBench.js";
import { benchFitting } from "./fittingBench.js";
import { benchHierarchy } from "./hierarchyBench.js";
import { benchSplines } from "./splinesBench.js";

// THB_BENCH_ONLY=autodiff (or a comma-separated list of splines, hierarchy, autodiff, fitting) runs only those
const only = process.env.THB_BENCH_ONLY?.split(",").map((name) => name.trim());
const runs = (name: string) => !only || only.includes(name);
console.log(`thbspline benchmarks — node ${process.version}, ${process.arch}; medians of repeated runs`);
if (runs("splines")) await benchSplines();
if (runs("hierarchy")) benchHierarchy();
if (runs("autodiff")) await benchAutodiff();
if (runs("fitting")) await benchFitting();
