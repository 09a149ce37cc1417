/**
 * The shared pieces of the generated WGSL THB kernels (wgsl.ts): the kernel variant, the Meta uniform, the
 * plan's buffers and point location (the prelude), the 1D basis functions of NURBS Book A2.2 unrolled per
 * degree, tensor-product loops, and the element's local control block in registers.
 */
/** A kernel variant. */
export interface Variant {
  d: number;
  degrees: readonly number[];
  dim: number;
}

/** The Meta uniform: every field a u32, in this order. */
export const META_FIELDS = [
  "count",
  "rowStride",
  "knotStart",
  "elementLevel",
  "elementSpan",
  "treeNodes",
  "rootCells",
  "rootBreaks0",
  "rootBreaks1",
  "rootBreaks2",
  "elementCount",
  "functionCount",
  // grid points per direction (the grid forward kernel), then one word that keeps the struct 16 words long
  "gridCount0",
  "gridCount1",
  "gridCount2",
  "padding",
] as const;

export const metaStruct = `struct Meta { ${META_FIELDS.map((f) => `${f}: u32`).join(", ")} };`;

/** Floats in one element's local control block: B × DIM. */
export function blockSize(v: Variant): number {
  return v.degrees.reduce((a, p) => a * (p + 1), 1) * v.dim;
}

/** Common declarations: Meta, plan buffers, 1D basis functions per direction, point location. */
export function prelude(v: Variant): string {
  const { d, degrees } = v;
  const basisFns = degrees.map((p, k) => unrolledBasis(p, k)).join("\n");
  return `${metaStruct}
@group(0) @binding(0) var<uniform> info: Meta;
@group(0) @binding(1) var<storage, read> planInts: array<i32>;
@group(0) @binding(2) var<storage, read> planFloats: array<f32>;

const D = ${d};
const DIM = ${v.dim};
const B = ${degrees.reduce((a, p) => a * (p + 1), 1)};

fn pointIndex(gid: vec3u) -> u32 { return gid.x + gid.y * info.rowStride; }

fn rootBreakBase(k: i32) -> i32 {
  if (k == 0) { return i32(info.rootBreaks0); }
  if (k == 1) { return i32(info.rootBreaks1); }
  return i32(info.rootBreaks2);
}

// Element containing x: the level-0 cell per direction (one multiply for uniform cells, else a binary
// search), then descent by midpoints.
fn locate(x: array<f32, ${d}>) -> i32 {
  var root = 0;
  var stride = 1;
${Array.from(
  { length: d },
  (_, k) => `  let cells${k} = planInts[i32(info.rootCells) + ${k}];
  let base${k} = rootBreakBase(${k});
  var a${k} = 0;
  let inverse${k} = planFloats[${k}];
  if (inverse${k} > 0.0) {
    // uniform level-0 cells: the multiply lands on the cell or a neighbour, one check settles it
    a${k} = clamp(i32(floor((x[${k}] - planFloats[base${k}]) * inverse${k})), 0, cells${k} - 1);
    if (a${k} > 0 && x[${k}] < planFloats[base${k} + a${k}]) { a${k} -= 1; }
    else if (a${k} + 1 < cells${k} && x[${k}] >= planFloats[base${k} + a${k} + 1]) { a${k} += 1; }
  } else {
    var b${k} = cells${k};
    while (b${k} - a${k} > 1) {
      let mid = (a${k} + b${k}) / 2;
      if (x[${k}] < planFloats[base${k} + mid]) { b${k} = mid; } else { a${k} = mid; }
    }
  }
  root += a${k} * stride;
  stride *= cells${k};
  var lo${k} = planFloats[base${k} + a${k}];
  var hi${k} = planFloats[base${k} + a${k} + 1];`,
).join("\n")}
  var node = planInts[i32(info.treeNodes) + root];
  while (node < 0) {
    var bits = 0;
${Array.from(
  { length: d },
  (_, k) => `    let mid${k} = 0.5 * (lo${k} + hi${k});
    if (x[${k}] >= mid${k}) { bits |= ${1 << k}; lo${k} = mid${k}; } else { hi${k} = mid${k}; }`,
).join("\n")}
    node = planInts[i32(info.treeNodes) - node + bits];
  }
  return node;
}

fn safeQuotient(a: f32, b: f32) -> f32 { if (b > 0.0) { return a / b; } return 0.0; }
fn knotBase(level: i32, k: i32) -> i32 { return planInts[i32(info.knotStart) + level * D + k]; }
fn elementSpanOf(e: i32, k: i32) -> i32 { return planInts[i32(info.elementSpan) + e * D + k]; }
fn elementLevelOf(e: i32) -> i32 { return planInts[i32(info.elementLevel) + e]; }
${basisFns}
`;
}

/**
 * The body for every local function, unrolled: `body(j, [j0, j1, j2])` with constant indices, first
 * direction fastest. Constant indices keep the small per-thread arrays in registers.
 */
export function tensorLoops(v: Variant, body: (j: number, idx: number[]) => string): string {
  const q = v.degrees.map((p) => p + 1);
  const lines: string[] = [];
  const total = q.reduce((a, b) => a * b, 1);
  for (let j = 0; j < total; j++) {
    const idx: number[] = [];
    let rest = j;
    for (let k = 0; k < v.d; k++) {
      idx.push(rest % q[k]);
      rest = Math.floor(rest / q[k]);
    }
    lines.push(body(j, idx));
  }
  return lines.join("\n    ");
}

/** A line per output component c (unrolled). */
export function forComponents(dim: number, line: (c: number) => string): string {
  return Array.from({ length: dim }, (_, c) => line(c)).join(" ");
}

/** WGSL lines of A2.2 unrolled for `degree` into array `name` of length p+1 (constant indices only). */
export function a22Lines(name: string, degree: number, length: number): string[] {
  const lines = [
    `  var ${name}: array<f32, ${length}>;`,
    `  ${name}[0] = 1.0;`,
    "  var saved = 0.0;",
    "  var temp = 0.0;",
  ];
  for (let j = 1; j <= degree; j++) {
    lines.push(
      `  let left${j} = u - planFloats[base + span + ${1 - j}];`,
      `  let right${j} = planFloats[base + span + ${j}] - u;`,
      "  saved = 0.0;",
    );
    for (let r = 0; r < j; r++) {
      lines.push(
        `  temp = ${name}[${r}] / (right${r + 1} + left${j - r});`,
        `  ${name}[${r}] = saved + right${r + 1} * temp;`,
        `  saved = left${j - r} * temp;`,
      );
    }
    lines.push(`  ${name}[${j}] = saved;`);
  }
  return lines;
}

/** A2.2 and its first derivative for direction k, degree p, unrolled in WGSL (constant indices only). */
export function unrolledBasis(p: number, k: number): string {
  const values = a22Lines("N", p, p + 1);
  const low = a22Lines("L", p - 1, p + 1);
  const ders: string[] = [`  var D: array<f32, ${p + 1}>;`];
  for (let j = 0; j <= p; j++) {
    const terms: string[] = [];
    if (j > 0)
      terms.push(
        `safeQuotient(L[${j - 1}], planFloats[base + span + ${j}] - planFloats[base + span + ${j - p}])`,
      );
    if (j < p)
      terms.push(
        `- safeQuotient(L[${j}], planFloats[base + span + ${j + 1}] - planFloats[base + span + ${j + 1 - p}])`,
      );
    ders.push(`  D[${j}] = ${p}.0 * (${terms.join(" ") || "0.0"});`);
  }
  // second derivatives: the first-derivative formula applied to the degree-(p−1) derivatives, which come
  // from the degree-(p−2) values in the same way
  const knot = (offset: number) => `planFloats[base + span + ${offset}]`;
  const seconds: string[] = [`  var S: array<f32, ${p + 1}>;`];
  if (p >= 2) {
    seconds.unshift(...a22Lines("M", p - 2, p + 1), `  var D1: array<f32, ${p + 1}>;`);
    for (let j = 0; j < p; j++) {
      const terms: string[] = [];
      if (j > 0) terms.push(`safeQuotient(M[${j - 1}], ${knot(j)} - ${knot(j - p + 1)})`);
      if (j < p - 1) terms.push(`- safeQuotient(M[${j}], ${knot(j + 1)} - ${knot(j + 2 - p)})`);
      seconds.splice(seconds.length - 1, 0, `  D1[${j}] = ${p - 1}.0 * (${terms.join(" ") || "0.0"});`);
    }
    for (let j = 0; j <= p; j++) {
      const terms: string[] = [];
      if (j > 0) terms.push(`safeQuotient(D1[${j - 1}], ${knot(j)} - ${knot(j - p)})`);
      if (j < p) terms.push(`- safeQuotient(D1[${j}], ${knot(j + 1)} - ${knot(j + 1 - p)})`);
      seconds.push(`  S[${j}] = ${p}.0 * (${terms.join(" ") || "0.0"});`);
    }
  } else {
    for (let j = 0; j <= p; j++) seconds.push(`  S[${j}] = 0.0;`);
  }
  return `
// A2.2 (The NURBS Book) unrolled in f32 for direction ${k}, degree ${p}; knots at planFloats[base + …]
fn basis${k}(base: i32, span: i32, u: f32) -> array<f32, ${p + 1}> {
${values.join("\n")}
  return N;
}
// first derivatives from the degree-${p - 1} functions: N'_{i,p} = p (N_{i,p-1}/(U_{i+p}−U_i) − N_{i+1,p-1}/(U_{i+p+1}−U_{i+1}))
fn basisDerivative${k}(base: i32, span: i32, u: f32) -> array<f32, ${p + 1}> {
${low.join("\n")}
${ders.join("\n")}
  return D;
}
fn basisSecond${k}(base: i32, span: i32, u: f32) -> array<f32, ${p + 1}> {
${seconds.join("\n")}
  return S;
}`;
}

/**
 * Basis of every direction at x on element e: N0, N1(, N2), with order ≥ 1 the derivatives D0, D1(, D2),
 * with order 2 the second derivatives S0, S1(, S2).
 */
export function basesAt(v: Variant, derivatives: boolean | number): string {
  const order = derivatives === true ? 1 : derivatives === false ? 0 : derivatives;
  const lines: string[] = ["let level = elementLevelOf(e);"];
  for (let k = 0; k < v.d; k++) {
    const args = `knotBase(level, ${k}), elementSpanOf(e, ${k}), x[${k}]`;
    lines.push(`let N${k} = basis${k}(${args});`);
    if (order >= 1) lines.push(`let D${k} = basisDerivative${k}(${args});`);
    if (order >= 2) lines.push(`let S${k} = basisSecond${k}(${args});`);
  }
  return lines.join("\n    ");
}

/**
 * Product of the 1D factors for local function idx = (j0, j1, j2): values N in every direction except those
 * `derivative` names (D first, S second derivative).
 */
export function product(v: Variant, idx: number[], derivative: Record<number, "D" | "S"> = {}): string {
  return Array.from({ length: v.d }, (_, k) => `${derivative[k] ?? "N"}${k}[${idx[k]}]`).join(" * ");
}

/** Reads point i's parameters. */
export function readPoint(v: Variant): string {
  return `var x: array<f32, ${v.d}>;\n    ${forComponents(v.d, (k) => `x[${k}] = params[i * D + ${k}];`)}`;
}

/**
 * A kernel with one thread per point: `bindings` from binding 3 on, then `body` with i (the point) and x (its
 * parameters) in scope.
 */
export function pointKernel(v: Variant, bindings: string, body: string): string {
  return `${prelude(v)}
${bindings}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let p = pointIndex(gid);
  if (p >= info.count) { return; }
  let i = i32(p);
  ${readPoint(v)}
  ${body}
}
`;
}

/**
 * Element e's local control block P_e (B × DIM floats at local[e·B·DIM]). When the block is a whole number
 * of vec4s, at most 16, it is bound as array<vec4f> and loaded into registers once (`load`, with e in scope):
 * a quarter of the load instructions where every thread reads a different block (points in any order), and
 * in the per-element kernels no load at all inside the point loop. Otherwise `vectorised` is false and the
 * floats are read where they are used.
 */
export function localBlock(
  v: Variant,
  binding: number,
): { declaration: string; load: string; row: (j: number, c: number) => string; vectorised: boolean } {
  const size = blockSize(v);
  if (size % 4 !== 0 || size / 4 > 16) {
    return {
      vectorised: false,
      declaration: `@group(0) @binding(${binding}) var<storage, read> local: array<f32>;`,
      load: "",
      row: (j, c) => `local[(e * B + ${j}) * DIM + ${c}]`,
    };
  }
  const vectors = size / 4;
  return {
    vectorised: true,
    declaration: `@group(0) @binding(${binding}) var<storage, read> local: array<vec4f>;`,
    load: Array.from({ length: vectors }, (_, q) => `let P${q} = local[e * ${vectors} + ${q}];`).join(" "),
    row: (j, c) => {
      const f = j * v.dim + c;
      return `P${f >> 2}[${f & 3}]`;
    },
  };
}
