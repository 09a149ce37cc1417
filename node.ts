/**
 * thbspline/node: file access for Node — reading point-cloud and image files (PNG; NIfTI, MetaImage, NRRD
 * through @itk-wasm/image-io, loaded on use), writing files whole or not at all, and binary glTF
 * (glTF-Transform's NodeIO). Everything else comes from the root `thbspline` entry.
 */
export { writeFileAtomic } from "./io/node/atomicWrite.js";
export { meshToGlb } from "./io/node/gltf.js";
export {
  encodeImageFile,
  encodeVectorImageFile,
  IMAGE_EXTENSIONS,
  type ImageFile,
  imageExtension,
  readImageFile,
} from "./io/node/imageFile.js";
export { readPointCloud } from "./io/node/readPointCloud.js";
export { startWarpThread } from "./io/node/warpThread.js";
export { POINT_CLOUD_EXTENSIONS } from "./io/pointCloud.js";
