/**
 * THB evaluation as autodiff primitives over one compiled plan:
 *   thbEvaluate(control #functions×dim, params #points×d) → values #points×dim
 * with VJPs to the coefficients (per-element reduction, then the transposed extraction product — no
 * scatter races, deterministic) and to the parameters (first derivatives of the field). The coefficient
 * VJP is itself a primitive (thbTranspose), linear in its input, whose VJP is thbEvaluate again, so
 * second derivatives with respect to the coefficients (Hessian-vector products) work too.
 */
import { defineOp } from "../autodiff/customOp.js";
import { Tensor } from "../autodiff/tensor.js";
import type { EvaluationPlan } from "../hierarchy/plan.js";
import { thbBackwardControlCpu, thbBackwardParamsCpu, thbForwardCpu } from "../kernels/cpu/thbKernels.js";

/** The THB primitives of one plan. */
export interface ThbOps {
  /** Field values at the parameters. */
  evaluate(control: Tensor, params: Tensor): Tensor;
}

function checkInputs(plan: EvaluationPlan, control: Tensor, params: Tensor): number {
  if (control.rank !== 2 || control.shape[0] !== plan.functionCount) {
    throw new RangeError(`control must have shape [${plan.functionCount}, dim], got [${control.shape}]`);
  }
  if (params.rank !== 2 || params.shape[1] !== plan.dimension) {
    throw new RangeError(`params must have shape [#points, ${plan.dimension}], got [${params.shape}]`);
  }
  return control.shape[1];
}

/** Builds the THB primitives for a plan. */
export function thbOps(plan: EvaluationPlan): ThbOps {
  type Op = (inputs: readonly Tensor[]) => Tensor[];
  const transpose: Op = defineOp<Tensor>({
    name: "thbTranspose",
    implementations: {
      cpu: {
        forward: ([g, params]) => {
          const dim = g.shape[1];
          const out = thbBackwardControlCpu(plan, params.values, g.values, dim);
          return { outputs: [new Tensor(out, [plan.functionCount, dim])], residuals: params };
        },
        vjp: (params, [h]) => [h ? evaluate([h, params])[0] : undefined, undefined],
      },
    },
  });
  const evaluate: Op = defineOp<{ local: Float64Array }>({
    name: "thbEvaluate",
    implementations: {
      cpu: {
        forward: ([control, params]) => {
          const dim = checkInputs(plan, control, params);
          const { values, local } = thbForwardCpu(plan, control.values, dim, params.values, 0);
          return { outputs: [new Tensor(values, [params.shape[0], dim])], residuals: { local } };
        },
        vjp: ({ local }, [g], [control, params]) => {
          if (!g) return [undefined, undefined];
          const dim = control.shape[1];
          const toControl = control.traced ? transpose([g, params])[0] : undefined;
          const toParams = params.traced
            ? new Tensor(thbBackwardParamsCpu(plan, local, dim, params.values, g.values), params.shape)
            : undefined;
          return [toControl, toParams];
        },
      },
    },
  });
  return { evaluate: (control, params) => evaluate([control, params])[0] };
}
