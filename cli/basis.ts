/**
 * `thb basis SPEC.json --points POINTS.json`: the non-zero THB (or HB) functions at each point with values,
 * first and second derivatives, as JSON — a probe to compare the basis with other systems.
 */

import { compile } from "../hierarchy/plan.js";
import { checkHierarchyDescription, spaceFromDescription } from "../io/serialization.js";
import { evaluateBasis } from "../kernels/cpu/planEvaluate.js";
import { InputError, readJson } from "./readInput.js";

/** One non-zero function at a point, as the probe prints it. */
export interface ProbeFunction {
  level: number;
  index: number[];
  value: number;
  d1: number[];
  d2: number[];
}

/** The probe's JSON answer. */
export interface ProbeAnswer {
  sizePerLevel: number[];
  size: number;
  points: { x: number[]; functions: ProbeFunction[] }[];
}

/** The probe's JSON answer for a spec and points (both already parsed); `where` names their files. */
export function basisProbe(
  spec: unknown,
  points: unknown,
  where = { spec: "SPEC", points: "POINTS" },
): ProbeAnswer {
  const space = spaceFromDescription(checkHierarchyDescription(spec, where.spec), where.spec);
  const d = space.dimension;
  if (!Array.isArray(points))
    throw new InputError(
      `${where.points}: expected an array of parameter tuples [[u, v${d === 3 ? ", w" : ""}], …]`,
    );
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
  const plan = compile(space);
  const blocks = 1 + d + (d * (d + 1)) / 2;
  const answers = evaluateBasis(plan, flat, 2).map((pb, i) => ({
    x: points[i] as number[],
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
  return { sizePerLevel: space.sizePerLevel, size: space.size, points: answers };
}

/** Runs the command: reads both files and prints the JSON answer. */
export function runBasis(specPath: string, pointsPath: string, write: (text: string) => void): void {
  const answer = basisProbe(readJson(specPath), readJson(pointsPath), { spec: specPath, points: pointsPath });
  write(`${JSON.stringify(answer)}\n`);
}
