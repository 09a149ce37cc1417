/**
 * Triangle meshes as flat arrays, and the Wavefront OBJ text format.
 * `positions  #vertices by 3`, `normals  #vertices by 3` (optional), `triangles  #triangles by 3`.
 */

/** An indexed triangle mesh. */
export interface TriangleMesh {
  positions: Float64Array;
  normals?: Float64Array;
  /** Texture coordinates `#vertices by 2`, e.g. the surface parameters. */
  uvs?: Float64Array;
  triangles: Uint32Array;
}

/**
 * Text of `count` lines made block by block: a million-vertex mesh would otherwise hold millions of short
 * strings at once (3 GB and most of a minute for an OBJ at 1025² vertices).
 */
function linesText(count: number, line: (i: number) => string): string {
  const blocks: string[] = [];
  const block: string[] = [];
  for (let i = 0; i < count; i++) {
    block.push(line(i));
    if (block.length === 4096) {
      blocks.push(block.join("\n"));
      block.length = 0;
    }
  }
  if (block.length > 0) blocks.push(block.join("\n"));
  return blocks.join("\n");
}

/** OBJ text for a mesh (1-based indices; normals and uvs written when present). */
export function meshToObj(mesh: TriangleMesh, comment = "thbspline"): string {
  const nv = mesh.positions.length / 3;
  const P = mesh.positions;
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(9));
  const parts = [
    `# ${comment}`,
    linesText(nv, (i) => `v ${fmt(P[3 * i])} ${fmt(P[3 * i + 1])} ${fmt(P[3 * i + 2])}`),
  ];
  const uvs = mesh.uvs;
  if (uvs) parts.push(linesText(nv, (i) => `vt ${fmt(uvs[2 * i])} ${fmt(uvs[2 * i + 1])}`));
  const N = mesh.normals;
  if (N) parts.push(linesText(nv, (i) => `vn ${fmt(N[3 * i])} ${fmt(N[3 * i + 1])} ${fmt(N[3 * i + 2])}`));
  const corner = (v: number) => {
    const k = v + 1;
    if (N && uvs) return `${k}/${k}/${k}`;
    if (N) return `${k}//${k}`;
    if (uvs) return `${k}/${k}`;
    return `${k}`;
  };
  const T = mesh.triangles;
  parts.push(
    linesText(T.length / 3, (t) => `f ${corner(T[3 * t])} ${corner(T[3 * t + 1])} ${corner(T[3 * t + 2])}`),
  );
  return `${parts.filter((p) => p !== "").join("\n")}\n`;
}

/** Binary STL: 80-byte header, triangle count, then per triangle a facet normal and three vertices (f32). */
export function meshToStl(mesh: TriangleMesh, comment = "thbspline"): Uint8Array {
  const count = mesh.triangles.length / 3;
  const bytes = new Uint8Array(84 + 50 * count);
  const view = new DataView(bytes.buffer);
  bytes.set(new TextEncoder().encode(comment.slice(0, 79)));
  view.setUint32(80, count, true);
  const P = mesh.positions;
  for (let t = 0; t < count; t++) {
    const [a, b, c] = [mesh.triangles[3 * t], mesh.triangles[3 * t + 1], mesh.triangles[3 * t + 2]];
    const e1 = [P[3 * b] - P[3 * a], P[3 * b + 1] - P[3 * a + 1], P[3 * b + 2] - P[3 * a + 2]];
    const e2 = [P[3 * c] - P[3 * a], P[3 * c + 1] - P[3 * a + 1], P[3 * c + 2] - P[3 * a + 2]];
    const n = [e1[1] * e2[2] - e1[2] * e2[1], e1[2] * e2[0] - e1[0] * e2[2], e1[0] * e2[1] - e1[1] * e2[0]];
    const length = Math.hypot(n[0], n[1], n[2]) || 1;
    const o = 84 + 50 * t;
    for (let k = 0; k < 3; k++) view.setFloat32(o + 4 * k, n[k] / length, true);
    [a, b, c].forEach((v, corner) => {
      for (let k = 0; k < 3; k++) view.setFloat32(o + 12 + 12 * corner + 4 * k, P[3 * v + k], true);
    });
  }
  return bytes;
}

/** ASCII PLY with vertex positions (and normals when present) and triangle faces. */
export function meshToPly(mesh: TriangleMesh, comment = "thbspline"): string {
  const nv = mesh.positions.length / 3;
  const nf = mesh.triangles.length / 3;
  const lines = [
    "ply",
    "format ascii 1.0",
    `comment ${comment}`,
    `element vertex ${nv}`,
    "property double x",
    "property double y",
    "property double z",
  ];
  if (mesh.normals) lines.push("property double nx", "property double ny", "property double nz");
  lines.push(`element face ${nf}`, "property list uchar int vertex_indices", "end_header");
  const vertexLine = (i: number) => {
    const row = [mesh.positions[3 * i], mesh.positions[3 * i + 1], mesh.positions[3 * i + 2]];
    if (mesh.normals) row.push(mesh.normals[3 * i], mesh.normals[3 * i + 1], mesh.normals[3 * i + 2]);
    return row.map((x) => x.toPrecision(10)).join(" ");
  };
  const T = mesh.triangles;
  lines.push(
    linesText(nv, vertexLine),
    linesText(nf, (t) => `3 ${T[3 * t]} ${T[3 * t + 1]} ${T[3 * t + 2]}`),
  );
  return `${lines.filter((l) => l !== "").join("\n")}\n`;
}
