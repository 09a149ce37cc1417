/** Binary glTF (.glb) meshes through glTF-Transform: positions, normals and indices of one triangle mesh. */
import { Document, NodeIO } from "@gltf-transform/core";
import type { TriangleMesh } from "../mesh.js";

/** GLB bytes of a mesh (f32 positions and normals, u32 indices). */
export async function meshToGlb(mesh: TriangleMesh, name = "thbspline"): Promise<Uint8Array> {
  const document = new Document();
  const buffer = document.createBuffer();
  const primitive = document
    .createPrimitive()
    .setAttribute(
      "POSITION",
      document.createAccessor().setType("VEC3").setArray(Float32Array.from(mesh.positions)).setBuffer(buffer),
    )
    .setIndices(
      document
        .createAccessor()
        .setType("SCALAR")
        .setArray(Uint32Array.from(mesh.triangles))
        .setBuffer(buffer),
    );
  if (mesh.normals) {
    primitive.setAttribute(
      "NORMAL",
      document.createAccessor().setType("VEC3").setArray(Float32Array.from(mesh.normals)).setBuffer(buffer),
    );
  }
  const node = document.createNode(name).setMesh(document.createMesh(name).addPrimitive(primitive));
  document.createScene(name).addChild(node);
  return new NodeIO().writeBinary(document);
}
