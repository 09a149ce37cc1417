/** Reading point-cloud files (Node only): the extension picks the parser of io/pointCloud.ts. */
import { readFileSync } from "node:fs";
import { extname } from "node:path";
import { FormatError } from "../errors.js";
import {
  POINT_CLOUD_EXTENSIONS,
  type PointCloud,
  parseGismoPointCloud,
  parsePly,
  parseXyz,
} from "../pointCloud.js";

/** Reads a point cloud; the extension picks the format. Errors name the file, the line or field. */
export function readPointCloud(path: string): PointCloud {
  const extension = extname(path).toLowerCase();
  if (!POINT_CLOUD_EXTENSIONS.includes(extension)) {
    throw new FormatError(
      `${path}: unknown extension "${extension}", expected one of ${POINT_CLOUD_EXTENSIONS.join(", ")}`,
    );
  }
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch (error) {
    throw new FormatError(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const cloud =
    extension === ".ply"
      ? parsePly(data, path)
      : extension === ".xml"
        ? parseGismoPointCloud(data.toString("utf8"), path)
        : parseXyz(data.toString("utf8"), path);
  if (cloud.points.length === 0) throw new FormatError(`${path}: no points`);
  return cloud;
}
