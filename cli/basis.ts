/**
 * `thb basis SPEC.json --points POINTS.json`: the non-zero THB (or HB) functions at each point with values,
 * first and second derivatives, as JSON — a probe to compare the basis with other systems. The command
 * streams its answer point block by point block, so memory stays bounded however many points are asked.
 */

import { compile, type EvaluationPlan } from "../hierarchy/plan.js";
import type { THBSpace } from "../hierarchy/thbSpace.js";
import { checkHierarchyDescription, spaceFromDescription } from "../io/serialization.js";
import { evaluateBasis } from "../kernels/cpu/planEvaluate.js";
import { InputError, readJson } from "./readInput.js";

/**
 * Bounds of the probe, checked before the work starts:
 * - `points`: points one command may ask (its answer is some 3 KB of JSON per point for bicubics);
 * - `answerPoints`: points `basisProbe` answers in memory (the command streams instead);
 * - `extractionEntries`: active elements × ((p+1)^d)², what compiling the space costs (2^24 entries is some
 *   300 MB and seconds; the spec's own limits are in io/hierarchyDescription.ts).
 */
export const PROBE_LIMITS = { points: 2 ** 20, answerPoints: 2 ** 16, extractionEntries: 2 ** 24 } as const;

/** One non-zero function at a point, as the probe prints it. */
export interface ProbeFunction {
  level: number;
  index: number[];
  value: number;
  d1: number[];
  d2: number[];
}

/** The probe's answer at one point. */
export interface ProbePoint {
  x: number[];
  functions: ProbeFunction[];
}

/** The probe's JSON answer. */
export interface ProbeAnswer {
  sizePerLevel: number[];
  size: number;
  points: ProbePoint[];
}

/** A checked spec and points, with the compiled plan. */
interface Probe {
  space: THBSpace;
  plan: EvaluationPlan;
  points: number[][];
  flat: Float64Array;
}

/** Checks the spec and the points (bounds first), then compiles the space. */
function prepareProbe(
  spec: unknown,
  points: unknown,
  where: { spec: string; points: string },
  maxPoints: number,
): Probe {
  const space = spaceFromDescription(checkHierarchyDescription(spec, where.spec), where.spec);
  const d = space.dimension;
  if (!Array.isArray(points))
    throw new InputError(
      `${where.points}: expected an array of parameter tuples [[u, v${d === 3 ? ", w" : ""}], …]`,
    );
  if (points.length > maxPoints) {
    throw new InputError(
      `${where.points}: ${points.length} points asked; the limit is ${maxPoints}${maxPoints < PROBE_LIMITS.points ? ` in memory (the thb basis command streams up to ${PROBE_LIMITS.points})` : ""}`,
    );
  }
  const entries = space.elements.length * space.localSize ** 2;
  if (entries > PROBE_LIMITS.extractionEntries) {
    throw new InputError(
      `${where.spec}: ${space.elements.length} active elements × (${space.localSize} local functions)² = ${entries} extraction entries to compile; the limit is ${PROBE_LIMITS.extractionEntries}`,
    );
  }
  const lower = space.lower;
  const upper = space.upper;
  const flat = new Float64Array(points.length * d);
  points.forEach((x, i) => {
    if (!Array.isArray(x) || x.length !== d) {
      throw new InputError(
        `${where.points}: point ${i} must be an array of ${d} numbers, got ${JSON.stringify(x)}`,
      );
    }
    x.forEach((value, k) => {
      if (typeof value !== "number" || !(value >= lower[k] && value <= upper[k])) {
        throw new InputError(
          `${where.points}: point ${i}, coordinate ${k} is ${JSON.stringify(value)}, expected a number in [${lower[k]}, ${upper[k]}]`,
        );
      }
      flat[i * d + k] = value;
    });
  });
  return { space, plan: compile(space), points: points as number[][], flat };
}

/** The answers for points [start, end) of a prepared probe. */
function probeRange(probe: Probe, start: number, end: number): ProbePoint[] {
  const { plan, flat, points } = probe;
  const d = plan.dimension;
  const blocks = 1 + d + (d * (d + 1)) / 2;
  return evaluateBasis(plan, flat.subarray(start * d, end * d), 2).map((pb, i) => ({
    x: points[start + i],
    functions: Array.from(pb.functions, (id, a) => {
      const v = pb.values.subarray(a * blocks, (a + 1) * blocks);
      return {
        level: plan.functionLevel[id],
        index: Array.from(plan.functionIndex.subarray(id * d, (id + 1) * d)),
        value: v[0],
        d1: Array.from(v.subarray(1, 1 + d)),
        d2: Array.from(v.subarray(1 + d)),
      };
    }),
  }));
}

/**
 * The probe's JSON answer for a spec and points (both already parsed); `where` names their files. Held in
 * memory, so at most PROBE_LIMITS.answerPoints points.
 */
export function basisProbe(
  spec: unknown,
  points: unknown,
  where = { spec: "SPEC", points: "POINTS" },
): ProbeAnswer {
  const probe = prepareProbe(spec, points, where, PROBE_LIMITS.answerPoints);
  return {
    sizePerLevel: probe.space.sizePerLevel,
    size: probe.space.size,
    points: probeRange(probe, 0, probe.points.length),
  };
}

/** Points answered per block of the streamed answer. */
const BLOCK = 1024;

/**
 * Runs the command: reads both files and writes the JSON answer (the text JSON.stringify would give for
 * `basisProbe`'s answer, plus a newline) block by block through `write`.
 */
export function runBasis(specPath: string, pointsPath: string, write: (text: string) => void): void {
  const probe = prepareProbe(
    readJson(specPath),
    readJson(pointsPath),
    { spec: specPath, points: pointsPath },
    PROBE_LIMITS.points,
  );
  const n = probe.points.length;
  write(`{"sizePerLevel":${JSON.stringify(probe.space.sizePerLevel)},"size":${probe.space.size},"points":[`);
  for (let start = 0; start < n; start += BLOCK) {
    const block = probeRange(probe, start, Math.min(n, start + BLOCK)).map((p) => JSON.stringify(p));
    write(`${start > 0 ? "," : ""}${block.join(",")}`);
  }
  write("]}\n");
}
