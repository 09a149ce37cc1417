/**
 * One gradient of L(C) = mean ‖S(u_k, v_k; C) − p_k‖² for a 64×64 bicubic surface at 100,000 points:
 * ours (a point set with the fused loss, and the general path: THB primitive + tape) against the loop a
 * person would write by hand (bench/handAdjoint.ts) and TF.js on its cpu (pure JS) and wasm (WebAssembly SIMD) backends,
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
import { HandAdjoint } from "./handAdjoint.js";
import { interleavedSeconds, median, medianSeconds, printTable } from "./harness.js";
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
  // the general path: THB primitive, then sub/square/mean as separate tensors
  const loss = (c: ad.Tensor) => ad.mean(ad.square(ad.sub(ops.evaluate(c, X), P)));
  // fixed points: basis cached once (a point set), the loss fused into one pass (its mean over points of
  // ‖r‖², divided by the dimension: the same mean over entries)
  const set = ops.pointSet(X);
  const fused = (c: ad.Tensor) => ad.div(ops.residualLoss(c, set, P), 3);
  // the reference: the loop a person would write, basis precomputed
  const hand = new HandAdjoint(U, n, params);
  const handGrad = new Float64Array(n * n * 3);
  let ourGrad = new Float64Array(0);
  let fusedGrad = new Float64Array(0);
  // a step of an optimisation loop over the general path: the gradient in a scope, so the host arrays of
  // its ops come from the pool (autodiff/tensor.ts) after the first step
  let scopedGrad = new Float64Array(0);
  const scopedStep = () =>
    ad.scope(() => {
      scopedGrad = Float64Array.from(ad.valueAndGrad(loss, C).grad.values);
    });
  const freshBytes = (run: () => void) => {
    run();
    const before = ad.hostAllocationStatistics().freshBytes;
    run();
    return ad.hostAllocationStatistics().freshBytes - before;
  };
  const generalFresh = freshBytes(() => ad.valueAndGrad(loss, C));
  const scopedFresh = freshBytes(scopedStep);
  // interleaved rounds, so that every row sees the same load; forward and forward + backward of each
  // implementation are timed alike (the same call, with and without a gradient)
  const rounds = interleavedSeconds(
    {
      generalForward: () => loss(C),
      generalBoth: () => {
        ourGrad = Float64Array.from(ad.valueAndGrad(loss, C).grad.values);
      },
      generalScoped: scopedStep,
      fusedForward: () => fused(C),
      fusedBoth: () => {
        fusedGrad = Float64Array.from(ad.valueAndGrad(fused, C).grad.values);
      },
      handForward: () => hand.loss(control, targets, 3),
      handBoth: () => hand.loss(control, targets, 3, handGrad),
    },
    21,
  );
  type Row = keyof typeof rounds.wall;
  const t = {} as Record<Row, number>;
  const cpu = {} as Record<Row, number>;
  for (const name of Object.keys(rounds.wall) as Row[]) {
    t[name] = median(rounds.wall[name]);
    cpu[name] = median(rounds.cpu[name]);
  }
  // parity in f64: the three gradients agree to 1e-12 (relative to the largest component)
  const relative = (a: Float64Array, b: Float64Array) => {
    let diff = 0;
    let size = 0;
    for (let i = 0; i < a.length; i++) {
      diff = Math.max(diff, Math.abs(a[i] - b[i]));
      size = Math.max(size, Math.abs(b[i]));
    }
    return diff / size;
  };
  const fusedParity = relative(fusedGrad, ourGrad);
  const handParity = relative(handGrad, ourGrad);
  if (relative(scopedGrad, ourGrad) !== 0)
    throw new Error(
      "bench parity failed: the general path's gradient in a scope differs from the one outside",
    );
  if (!(fusedParity <= 1e-12 && handParity <= 1e-12))
    throw new Error(
      `bench parity failed: fused ${fusedParity}, hand-written ${handParity} relative to the general path`,
    );

  const ms = (x: number) => `${(x * 1e3).toFixed(1)} ms`;
  const spread = (times: number[]) => {
    const sorted = [...times].sort((a, b) => a - b);
    return [sorted[0], median(sorted), sorted[sorted.length - 1]]
      .map((x) => (x * 1e3).toFixed(1))
      .join(" / ");
  };
  const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  printTable(
    `The general path (THB primitive + sub/square/mean, f64), one gradient at ${points / 1000}k points: host arrays allocated fresh per gradient, and the spread of its time over the same 21 interleaved rounds`,
    [
      "general path gradient",
      "fresh host arrays",
      "wall ms: min / median / max",
      "CPU ms: min / median / max",
    ],
    [
      [
        "plain valueAndGrad (a fresh array per op)",
        mib(generalFresh),
        spread(rounds.wall.generalBoth),
        spread(rounds.cpu.generalBoth),
      ],
      [
        "in a scope (host pool, as minimize runs it)",
        mib(scopedFresh),
        spread(rounds.wall.generalScoped),
        spread(rounds.cpu.generalScoped),
      ],
    ],
  );

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
  const backwardRatio = (forward: number, both: number) => ((both - forward) / forward).toFixed(2);
  printTable(
    `One gradient of mean ‖S(u,v;C) − p‖², bicubic 64×64 control points, ${points / 1000}k points (one core; medians of 21 interleaved rounds, wall time and the process's CPU time; max |Δgrad| vs TF.js ${(maxDiff / scale).toExponential(1)}, fused and hand-written vs general ${Math.max(fusedParity, handParity).toExponential(1)} relative)`,
    ["implementation", "forward", "forward + backward", "backward ÷ forward", "on CPU time"],
    [
      [
        "thbspline point set + fused loss (f64)",
        ms(t.fusedForward),
        ms(t.fusedBoth),
        `${backwardRatio(t.fusedForward, t.fusedBoth)} (target ≤ 1)`,
        backwardRatio(cpu.fusedForward, cpu.fusedBoth),
      ],
      [
        "thbspline general path (THB primitive + sub/square/mean, f64)",
        ms(t.generalForward),
        ms(t.generalBoth),
        backwardRatio(t.generalForward, t.generalBoth),
        backwardRatio(cpu.generalForward, cpu.generalBoth),
      ],
      [
        "hand-written adjoint (typed arrays, basis precomputed, f64)",
        ms(t.handForward),
        ms(t.handBoth),
        backwardRatio(t.handForward, t.handBoth),
        backwardRatio(cpu.handForward, cpu.handBoth),
      ],
      [
        "point set + fused ÷ hand-written",
        `${(t.fusedForward / t.handForward).toFixed(2)}×`,
        `${(t.fusedBoth / t.handBoth).toFixed(2)}×`,
        "target ≤ 1.5× (gradient)",
        `${(cpu.fusedBoth / cpu.handBoth).toFixed(2)}× (gradient)`,
      ],
      [
        "general path ÷ hand-written",
        `${(t.generalForward / t.handForward).toFixed(2)}×`,
        `${(t.generalBoth / t.handBoth).toFixed(2)}×`,
        "",
        `${(cpu.generalBoth / cpu.handBoth).toFixed(2)}× (gradient)`,
      ],
      ...tfRows.flatMap(({ backend, forward, both }) => [
        [
          `TF.js 4.22 ${backend} (dense basis matMul, f32)`,
          ms(forward),
          ms(both),
          backwardRatio(forward, both),
          "",
        ],
        [
          `TF.js ${backend} ÷ ours (point set + fused)`,
          `${(forward / t.fusedForward).toFixed(1)}×`,
          `${(both / t.fusedBoth).toFixed(1)}×`,
          "target ≥ 20× (gradient)",
          "",
        ],
      ]),
    ],
  );
}
