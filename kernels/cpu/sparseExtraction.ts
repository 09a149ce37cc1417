/**
 * The extraction operator without its zeros. The plan stores E_e dense (`k_e by B` per element); most of it
 * is zero (a level-l B-spline block of a uniform spline is a permutation: 16 non-zeros of 256 in bicubic
 * 2D), and the loops that apply it once per optimisation step (local control blocks, the transposed
 * gather) spent most of their time testing zeros. Entries keep the dense loops' order (element, function
 * row, local index), so every sum is formed in the same order as before: results are bit-identical.
 *   entryStart  #elements+1     element e owns entries entryStart[e] … entryStart[e+1]−1
 *   entryFunction, entryLocal, entryCoefficient  #entries: E_e[a, j] with a = entryFunction, j = entryLocal
 */
import type { EvaluationPlan } from "../../hierarchy/plan.js";

/** The non-zero extraction entries of a plan, per element. */
export interface SparseExtraction {
  readonly entryStart: Int32Array;
  readonly entryFunction: Int32Array;
  readonly entryLocal: Int32Array;
  readonly entryCoefficient: Float64Array;
}

const cache = new WeakMap<EvaluationPlan, SparseExtraction>();

/** The plan's non-zero extraction entries, built on first use and kept with the plan. */
export function sparseExtraction(plan: EvaluationPlan): SparseExtraction {
  let sparse = cache.get(plan);
  if (sparse) return sparse;
  const B = plan.localSize;
  const E = plan.extractionCoefficients;
  let total = 0;
  for (let i = 0; i < E.length; i++) if (E[i] !== 0) total++;
  const entryStart = new Int32Array(plan.elementCount + 1);
  const entryFunction = new Int32Array(total);
  const entryLocal = new Int32Array(total);
  const entryCoefficient = new Float64Array(total);
  let n = 0;
  for (let e = 0; e < plan.elementCount; e++) {
    entryStart[e] = n;
    for (let r = plan.extractionStart[e]; r < plan.extractionStart[e + 1]; r++) {
      for (let j = 0; j < B; j++) {
        const a = E[r * B + j];
        if (a === 0) continue;
        entryFunction[n] = plan.extractionFunctions[r];
        entryLocal[n] = j;
        entryCoefficient[n++] = a;
      }
    }
  }
  entryStart[plan.elementCount] = n;
  sparse = { entryStart, entryFunction, entryLocal, entryCoefficient };
  cache.set(plan, sparse);
  return sparse;
}
