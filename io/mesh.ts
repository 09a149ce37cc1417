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

/** OBJ text for a mesh (1-based indices; normals and uvs written when present). */
export function meshToObj(mesh: TriangleMesh, comment = "thbspline"): string {
  const lines: string[] = [`# ${comment}`];
  const nv = mesh.positions.length / 3;
  const fmt = (x: number) => (Number.isInteger(x) ? String(x) : x.toPrecision(9));
  for (let i = 0; i < nv; i++) {
    lines.push(
      `v ${fmt(mesh.positions[3 * i])} ${fmt(mesh.positions[3 * i + 1])} ${fmt(mesh.positions[3 * i + 2])}`,
    );
  }
  if (mesh.uvs)
    for (let i = 0; i < nv; i++) lines.push(`vt ${fmt(mesh.uvs[2 * i])} ${fmt(mesh.uvs[2 * i + 1])}`);
  if (mesh.normals) {
    for (let i = 0; i < nv; i++) {
      lines.push(
        `vn ${fmt(mesh.normals[3 * i])} ${fmt(mesh.normals[3 * i + 1])} ${fmt(mesh.normals[3 * i + 2])}`,
      );
    }
  }
  const corner = (v: number) => {
    const k = v + 1;
    if (mesh.normals && mesh.uvs) return `${k}/${k}/${k}`;
    if (mesh.normals) return `${k}//${k}`;
    if (mesh.uvs) return `${k}/${k}`;
    return `${k}`;
  };
  for (let t = 0; t < mesh.triangles.length; t += 3) {
    lines.push(
      `f ${corner(mesh.triangles[t])} ${corner(mesh.triangles[t + 1])} ${corner(mesh.triangles[t + 2])}`,
    );
  }
  return `${lines.join("\n")}\n`;
}
