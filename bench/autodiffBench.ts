/**
 * One gradient of L(C) = mean ‖S(u_k, v_k; C) − p_k‖² for a 64×64 bicubic surface at 100,000 points:
 * ours (THB primitive + tape) against TF.js on its cpu (pure JS) and wasm (WebAssembly SIMD) backends,
 * written the way a TF.js user would (dense basis matrices precomputed as constants, one matMul inside
 * tf.variableGrads).
 */
import * as tf from "@tensorflow/tfjs";
import * as ad from "../autodiff/index.js";
import { compile } from "../hierarchy/plan.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { thbOps } from "../primitives/thbPrimitive.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { medianSeconds, printTable } from "./harness.js";
import { denseBasis, useTfBackend } from "./tfjs.js";

/** Runs the autodiff benchmark and prints its table. */
export async function benchAutodiff(points = 100_000): Promise<void> {
  const n = 64;
  const U = uniformKnotVector(3, n - 3);
  const space = THBSpace.create({ degrees: [3, 3], knots: [U, U] });
  const plan = compile(space);
  const ops = thbOps(plan);
  const rand = seededRandom(5);
  const control = new Float64Array(n * n * 3).map(() => rand());
  const params = new Float64Array(points * 2).map(() => rand());
  const targets = new Float64Array(points * 3).map(() => rand());
  const C = ad.tensor(control, [n * n, 3]);
  const X = ad.tensor(params, [points, 2]);
  const P = ad.tensor(targets, [points, 3]);
  const loss = (c: ad.Tensor) => ad.mean(ad.square(ad.sub(ops.evaluate(c, X), P)));
  const oursForward = medianSeconds(() => loss(C), 21);
  let ourGrad = new Float64Array(0);
  const oursBoth = medianSeconds(() => {
    ourGrad = Float64Array.from(ad.valueAndGrad(loss, C).grad.values);
  }, 21);

  // TF.js: dense per-direction basis matrices (constants, f32 as TF.js computes), then
  // S_c = Σ_j (B_u C_c)[k, j] B_v[k, j] with one matMul. (The gather formulation is unusable: TF.js's gather
  // gradient is an unsorted segment sum costing O(#points × #control points), about 22 ms per point here.)
  const { bu, bv } = denseBasis(U, 3, n, params, points);
  // TF.js control layout [i, j·3 + c] from ours (i + 64 j)·3 + c
  const tfControlValues = new Float32Array(n * n * 3);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 3; c++) tfControlValues[i * n * 3 + j * 3 + c] = control[(i + n * j) * 3 + c];
  }
  const tfRows: { backend: string; forward: number; both: number; grad: Float32Array }[] = [];
  for (const backend of ["cpu", "wasm"] as const) {
    await useTfBackend(backend);
    const Bu = tf.tensor2d(bu, [points, n]);
    const Bv = tf.tensor3d(bv, [points, n, 1]);
    const tfTargets = tf.tensor2d(Float32Array.from(targets), [points, 3]);
    const tfControl = tf.variable(tf.tensor2d(tfControlValues, [n, n * 3]));
    const tfLoss = (c: tf.Tensor2D) => {
      const surface = tf.sum(tf.mul(tf.reshape(tf.matMul(Bu, c), [points, n, 3]), Bv), 1);
      return tf.mean(tf.square(tf.sub(surface, tfTargets))) as tf.Scalar;
    };
    const runs = backend === "cpu" ? 1 : 3; // the cpu backend takes seconds per call
    const tfForward = medianSeconds(() => tf.tidy(() => tfLoss(tfControl).dataSync()), runs);
    const tfGrad = new Float32Array(n * n * 3);
    const tfBoth = medianSeconds(() => {
      tf.tidy(() => {
        const { grads } = tf.variableGrads(() => tfLoss(tfControl), [tfControl]);
        const g = grads[tfControl.name].dataSync();
        for (let j = 0; j < n; j++) {
          for (let i = 0; i < n; i++)
            for (let c = 0; c < 3; c++) tfGrad[(i + n * j) * 3 + c] = g[i * n * 3 + j * 3 + c];
        }
      });
    }, runs);
    tf.dispose([Bu, Bv, tfTargets, tfControl]);
    tfRows.push({ backend, forward: tfForward, both: tfBoth, grad: tfGrad });
  }
  // parity: the gradients agree to f32 precision
  let maxDiff = 0;
  let scale = 0;
  for (const { grad } of tfRows) {
    for (let i = 0; i < ourGrad.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ourGrad[i] - grad[i]));
      scale = Math.max(scale, Math.abs(ourGrad[i]));
    }
  }
  if (maxDiff > 1e-4 * scale)
    throw new Error(`bench parity failed: gradients differ by ${maxDiff} (scale ${scale})`);
  printTable(
    `One gradient of mean ‖S(u,v;C) − p‖², bicubic 64×64 control points, ${points / 1000}k points (one core; max |Δgrad| ${(maxDiff / scale).toExponential(1)} relative)`,
    ["implementation", "forward", "forward + backward", "backward ÷ forward"],
    [
      [
        "thbspline (THB primitive, f64)",
        `${(oursForward * 1e3).toFixed(1)} ms`,
        `${(oursBoth * 1e3).toFixed(1)} ms`,
        ((oursBoth - oursForward) / oursForward).toFixed(2),
      ],
      ...tfRows.flatMap(({ backend, forward, both }) => [
        [
          `TF.js 4.22 ${backend} (dense basis matMul, f32)`,
          `${(forward * 1e3).toFixed(1)} ms`,
          `${(both * 1e3).toFixed(1)} ms`,
          ((both - forward) / forward).toFixed(2),
        ],
        [
          `TF.js ${backend} ÷ ours`,
          `${(forward / oursForward).toFixed(1)}×`,
          `${(both / oursBoth).toFixed(1)}×`,
          "target ≥ 20× (gradient)",
        ],
      ]),
    ],
  );
}
