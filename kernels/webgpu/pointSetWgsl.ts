/**
 * WGSL kernels of a point set on the device (primitives/thbPointSet.ts): the points' basis values cached in
 * slot order (kernels/cpu/pointSet.ts), so the fused residual loss is one gather-and-dot per slot and its
 * coefficient gradient one reduction per (element, local function) over the element's slots — a fixed
 * summation order, no atomics. Buffers (slot order):
 *   slotElement  #points       the element of slot s
 *   basis        #points by B  b_j at slot s
 *   targets      #points by DIM
 *   terms        #points + #points by DIM: ρ_s · scale, then the adjoints ∂(ρ_s · scale)/∂S_s
 */
import type { ResidualPenalty } from "../cpu/pointSet.js";
import { forComponents, prelude, type Variant } from "./wgslPrelude.js";

/** ρ(r) and the factor f of ∂ρ/∂r_c = f · r_c (times scale) from `squared` = r²; the CPU's pointSetLoss. */
function penaltyCode(penalty: ResidualPenalty): string {
  if (penalty === "squared") return "let rho = squared;\n  let factor = 2.0 * scale;";
  const norm = "let norm = sqrt(squared + 1e-24);";
  if (penalty === "l1") return `${norm}\n  let rho = norm;\n  let factor = scale / norm;`;
  return `${norm}
  var rho = norm * norm / (2.0 * delta);
  var factor = scale / delta;
  if (norm > delta) {
    rho = norm - delta / 2.0;
    factor = scale / norm;
  }`;
}

/** Per slot: the residual r = Σ_j b_j P_e[j] − t, its penalty term and (for a gradient) its adjoint. */
export function pointSetLossShader(v: Variant, penalty: ResidualPenalty): string {
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> slotElement: array<i32>;
@group(0) @binding(4) var<storage, read> basis: array<f32>;
@group(0) @binding(5) var<storage, read> local: array<f32>;
@group(0) @binding(6) var<storage, read> targets: array<f32>;
@group(0) @binding(7) var<storage, read> constants: array<f32>;
@group(0) @binding(8) var<storage, read_write> terms: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = pointIndex(gid);
  if (t >= info.count) { return; }
  let s = i32(t);
  let e = slotElement[s];
  let scale = constants[0];
  let delta = constants[1];
  var r = array<f32, DIM>();
  for (var j = 0; j < B; j++) {
    let b = basis[s * B + j];
    ${forComponents(v.dim, (c) => `r[${c}] += b * local[(e * B + j) * DIM + ${c}];`)}
  }
  var squared = 0.0;
  ${forComponents(v.dim, (c) => `r[${c}] -= targets[s * DIM + ${c}];\n    squared += r[${c}] * r[${c}];`)}
  ${penaltyCode(penalty)}
  terms[s] = rho * scale;
  let adjoint = i32(info.count) + s * DIM;
  ${forComponents(v.dim, (c) => `terms[adjoint + ${c}] = factor * r[${c}];`)}
}
`;
}

/** Per (element, local function): G_e[j] = Σ_{s ∈ e} b_j(s) · adjoint_s, `#elements by B by DIM`. */
export function pointSetReduceShader(v: Variant): string {
  return `${prelude(v)}
@group(0) @binding(3) var<storage, read> pointStart: array<i32>;
@group(0) @binding(4) var<storage, read> basis: array<f32>;
@group(0) @binding(5) var<storage, read> terms: array<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let t = pointIndex(gid);
  if (t >= info.elementCount * u32(B)) { return; }
  let e = i32(t) / B;
  let j = i32(t) % B;
  let adjoints = i32(info.count);
  var acc = array<f32, DIM>();
  for (var s = pointStart[e]; s < pointStart[e + 1]; s++) {
    let b = basis[s * B + j];
    ${forComponents(v.dim, (c) => `acc[${c}] += b * terms[adjoints + s * DIM + ${c}];`)}
  }
  ${forComponents(v.dim, (c) => `out[(e * B + j) * DIM + ${c}] = acc[${c}];`)}
}
`;
}
