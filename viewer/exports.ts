/**
 * Exports of what the viewer shows: the field as the project's JSON, the tessellated surface as OBJ (f64
 * positions, the parameters as texture coordinates) and as binary glTF, and the canvas as PNG.
 */
import { GLTFExporter } from "three/addons/exporters/GLTFExporter.js";
import { BufferAttribute, BufferGeometry, Mesh, MeshStandardMaterial } from "three/webgpu";
import { fieldToJson, meshToObj, type THBField } from "../index.js";
import type { Stage } from "./scene.js";
import { tessellate } from "./surfaceGeometry.js";
import { SEGMENTS } from "./surfaceView.js";

/** The field as thbspline-field JSON. */
export function exportJson(field: THBField): Blob {
  return new Blob([fieldToJson(field)], { type: "application/json" });
}

/** The surface tessellated as in the view, as OBJ text. */
export function exportObj(field: THBField): Blob {
  const grid = tessellate(field, SEGMENTS);
  const obj = meshToObj(
    { positions: grid.positions, uvs: grid.params, triangles: grid.indices },
    `thbspline surface: ${field.space.size} functions, ${field.plan.levelCount} levels`,
  );
  return new Blob([obj], { type: "text/plain" });
}

/** The surface tessellated as in the view, as binary glTF (.glb). */
export async function exportGlb(field: THBField): Promise<Blob> {
  const grid = tessellate(field, SEGMENTS);
  const geometry = new BufferGeometry();
  geometry.setAttribute("position", new BufferAttribute(Float32Array.from(grid.positions), 3));
  geometry.setAttribute("uv", new BufferAttribute(Float32Array.from(grid.params), 2));
  geometry.setIndex(new BufferAttribute(grid.indices, 1));
  geometry.computeVertexNormals();
  const mesh = new Mesh(geometry, new MeshStandardMaterial({ color: 0xb9c3cf, roughness: 0.55 }));
  mesh.name = "thbspline surface";
  try {
    const glb = (await new GLTFExporter().parseAsync(mesh, { binary: true })) as ArrayBuffer;
    return new Blob([glb], { type: "model/gltf-binary" });
  } finally {
    geometry.dispose();
    mesh.material.dispose();
  }
}

/** The canvas as PNG, rendered afresh so the drawing buffer holds the current frame. */
export function exportPng(stage: Stage): Promise<Blob> {
  stage.renderer.render(stage.scene, stage.camera);
  return new Promise((resolve, reject) =>
    stage.renderer.domElement.toBlob(
      (blob) => (blob ? resolve(blob) : reject(new Error("PNG export: empty canvas"))),
      "image/png",
    ),
  );
}

/** Offers `blob` as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = name;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
