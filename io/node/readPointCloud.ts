/** Reading point-cloud files (Node only): the extension picks the parser of io/pointCloud.ts. */
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { FormatError } from "../errors.js";
import {
  POINT_CLOUD_EXTENSIONS,
  POINT_CLOUD_MAX_BYTES,
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
  const data = readBounded(path);
  const cloud =
    extension === ".ply"
      ? parsePly(data, path)
      : extension === ".xml"
        ? parseGismoPointCloud(data.toString("utf8"), path)
        : parseXyz(data.toString("utf8"), path);
  if (cloud.points.length === 0) throw new FormatError(`${path}: no points`);
  return cloud;
}

/** The file's bytes, refusing a file larger than POINT_CLOUD_MAX_BYTES (or not a file) before reading. */
function readBounded(path: string): Buffer {
  let fd: number | undefined;
  try {
    fd = openSync(path, "r");
    const stat = fstatSync(fd);
    if (stat.isDirectory()) throw new FormatError(`${path}: is a directory, expected a point-cloud file`);
    if (stat.size > POINT_CLOUD_MAX_BYTES) {
      throw new FormatError(
        `${path}: ${stat.size} bytes; point-cloud files are read up to ${POINT_CLOUD_MAX_BYTES} bytes (256 MiB)`,
      );
    }
    const data = Buffer.alloc(stat.size);
    let read = 0;
    while (read < stat.size) {
      const n = readSync(fd, data, read, stat.size - read, read);
      if (n === 0) break;
      read += n;
    }
    return data.subarray(0, read);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError(
      `${path}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
