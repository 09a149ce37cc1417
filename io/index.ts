/** io/: file formats (meshes, point clouds, JSON, G+Smo XML); Node-only file access lives in io/node/. */
export * from "./errors.js";
export * from "./gismoXml.js";
export * from "./hierarchyDescription.js";
export * from "./mesh.js";
export * from "./png.js";
export * from "./pointCloud.js";
export * from "./serialization.js";
export * from "./transformJson.js";
