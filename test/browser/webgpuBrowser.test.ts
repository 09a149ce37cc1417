import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compile, type EvaluationPlan } from "../../hierarchy/plan.js";
import { evaluateLocalField, localControl } from "../../kernels/cpu/planEvaluate.js";
import { thbBackwardControlCpu } from "../../kernels/cpu/thbKernels.js";
import { derivativeCount } from "../../splines/tensorBasis.js";
import { type BrowserPage, chromiumOrSkip, serveBundledPage } from "../helpers/browserPage.js";
import { relativeError } from "../helpers/gpu.js";
import { randomArray, randomParams, seededRandom } from "../helpers/random.js";
import { buildHierarchy } from "../hierarchy/randomHierarchy.js";
import type { ParityInput, ParityOutput, TaggedArray } from "./gpuParityPage.js";

const hasChromium = chromiumOrSkip("browser WebGPU tests");
let served: BrowserPage | undefined;
let browser: Browser | undefined;
let origin = "";

beforeAll(async () => {
  if (!hasChromium) return;
  served = await serveBundledPage(new URL("./gpuParityPage.ts", import.meta.url));
  ({ browser, origin } = served);
}, 120_000);

afterAll(async () => {
  await served?.close();
});

function tag(plan: EvaluationPlan): ParityInput["plan"] {
  const out: ParityInput["plan"] = {};
  // the dense coefficients are an accessor of the plan's class, not an own entry
  const entries = [...Object.entries(plan), ["extractionCoefficients", plan.extractionCoefficients] as const];
  for (const [key, value] of entries) {
    if (value instanceof Int32Array || value instanceof Float64Array) {
      out[key] = {
        type: value instanceof Int32Array ? "Int32Array" : "Float64Array",
        data: Array.from(value),
      } as TaggedArray;
    } else if (typeof value === "number" || typeof value === "boolean") out[key] = value;
  }
  return out;
}

describe.skipIf(!hasChromium)("the WGSL kernels through navigator.gpu in headless Chromium", () => {
  for (const d of [2, 3] as const) {
    it(`${d}D bicubic THB, 3 levels: forward (to second derivatives) and backward agree with the f64 CPU`, async () => {
      const space = buildHierarchy({
        dimension: d,
        degree: 3,
        truncated: true,
        m: 2,
        seed: 40 + d,
        steps: 2,
        nonUniform: true,
      });
      const plan = compile(space);
      const rand = seededRandom(d);
      const dim = 3;
      const count = 2000;
      const control = randomArray(rand, plan.functionCount * dim);
      const lower = new Array(d).fill(0);
      const upper = new Array(d).fill(1);
      const params = randomParams(rand, count, lower, upper);
      const cotangent = randomArray(rand, count * dim);
      const page = await browser!.newPage();
      page.on("console", (message) => {
        if (message.type() === "error") console.error(`[chromium] ${message.text()}`);
      });
      await page.goto(origin);
      await page.waitForFunction(() => "runParity" in globalThis);
      const input: ParityInput = {
        plan: tag(plan),
        control: Array.from(control),
        dim,
        params: Array.from(params),
        cotangent: Array.from(cotangent),
      };
      const result = (await page.evaluate(
        (x) => (globalThis as unknown as { runParity: (i: ParityInput) => Promise<unknown> }).runParity(x),
        input,
      )) as ParityOutput | { error: string };
      await page.close();
      if ("error" in result) throw new Error(result.error);
      expect(result.viaNavigator).toBe(true);
      console.info(`browser WebGPU adapter: ${result.adapter}`);
      const local = localControl(plan, control, dim);
      expect(relativeError(result.values, evaluateLocalField(plan, local, dim, params, 0))).toBeLessThan(
        1e-5,
      );
      // each derivative block against its own scale (second derivatives are 1/h² larger than values)
      const secondsLayout = { blocks: derivativeCount(plan.dimension, 2), dim };
      expect(
        relativeError(
          result.derivatives,
          evaluateLocalField(plan, local, dim, params, 2),
          undefined,
          secondsLayout,
        ),
      ).toBeLessThan(2e-4);
      expect(
        relativeError(result.gradient, thbBackwardControlCpu(plan, params, cotangent, dim)),
      ).toBeLessThan(1e-5);
    });
  }
});
