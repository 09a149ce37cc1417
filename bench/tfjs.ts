/**
 * TF.js as a peer in the benchmarks: backend selection (the pure-JS cpu backend and the faster WebAssembly
 * backend with SIMD, whose binaries ship inside its npm package) and the dense per-direction basis matrices
 * a TF.js user builds for a tensor-product B-spline.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { basisFunctions, createBasisWorkspace } from "../splines/basis.js";
import { findSpan } from "../splines/knotVector.js";

let wasmPathSet = false;

/** Switches TF.js to a backend and waits until it is ready; returns its name as TF.js reports it. */
export async function useTfBackend(name: "cpu" | "wasm"): Promise<string> {
  if (name === "wasm" && !wasmPathSet) {
    // in Node the .wasm files are read from the package's dist folder
    const root = dirname(
      createRequire(import.meta.url).resolve("@tensorflow/tfjs-backend-wasm/package.json"),
    );
    setWasmPaths(`${join(root, "dist")}/`);
    wasmPathSet = true;
  }
  if (!(await tf.setBackend(name))) throw new Error(`TF.js backend ${name} failed to initialise`);
  await tf.ready();
  return tf.getBackend();
}

/**
 * Dense basis matrices of a degree-p spline with `n` functions per direction over knots U at `count`
 * parameter pairs: bu[k, i] = N_i(u_k), bv[k, j] = N_j(v_k) (f32, as TF.js computes).
 */
export function denseBasis(
  U: Float64Array,
  degree: number,
  n: number,
  params: Float64Array,
  count: number,
): { bu: Float32Array; bv: Float32Array } {
  const work = createBasisWorkspace(degree);
  const Nu = new Float64Array(degree + 1);
  const Nv = new Float64Array(degree + 1);
  const bu = new Float32Array(count * n);
  const bv = new Float32Array(count * n);
  for (let k = 0; k < count; k++) {
    const su = findSpan(U, degree, params[2 * k]);
    const sv = findSpan(U, degree, params[2 * k + 1]);
    basisFunctions(U, degree, su, params[2 * k], Nu, 0, work);
    basisFunctions(U, degree, sv, params[2 * k + 1], Nv, 0, work);
    for (let i = 0; i <= degree; i++) {
      bu[k * n + su - degree + i] = Nu[i];
      bv[k * n + sv - degree + i] = Nv[i];
    }
  }
  return { bu, bv };
}
