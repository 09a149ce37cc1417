/** io/: file formats (meshes, point clouds, images, JSON, G+Smo XML) and whole-or-nothing file writing. */
export * from "./atomicWrite.js";
export * from "./errors.js";
export * from "./gismoXml.js";
export * from "./gltf.js";
export * from "./hierarchyDescription.js";
export * from "./mesh.js";
export * from "./pointCloud.js";
