/**
 * Files the viewer opens, by name and bytes: a surface (field JSON, G+Smo XML geometry) or a point cloud
 * (XYZ/CSV/TXT, PLY, G+Smo XML points). Failures throw a ViewerFileError naming the file.
 */
import {
  fieldFromDescription,
  fieldFromJson,
  type PointCloud,
  parseGismoHierarchy,
  parseGismoPointCloud,
  parsePly,
  parseXyz,
  type THBField,
} from "../index.js";

/** A file the viewer cannot show, with the file's name and what is wrong. */
export class ViewerFileError extends Error {
  override readonly name = "ViewerFileError";
}

/** What a file held. */
export type Loaded = { kind: "surface"; field: THBField } | { kind: "points"; cloud: PointCloud };

/** Parses a file by its extension (and, for .xml, its content). */
export function loadFile(name: string, bytes: Uint8Array): Loaded {
  const extension = name.toLowerCase().match(/\.[a-z0-9]+$/)?.[0] ?? "";
  const text = () => new TextDecoder().decode(bytes);
  try {
    switch (extension) {
      case ".json":
        return { kind: "surface", field: checkSurface(fieldFromJson(text(), name), name) };
      case ".xyz":
      case ".csv":
      case ".txt":
        return { kind: "points", cloud: parseXyz(text(), name) };
      case ".ply":
        return { kind: "points", cloud: parsePly(bytes, name) };
      case ".xml": {
        const xml = text();
        if (!/<(Geometry|Basis)[\s>]/.test(xml))
          return { kind: "points", cloud: parseGismoPointCloud(xml, name) };
        const description = parseGismoHierarchy(xml, name);
        if (!("control" in description)) {
          throw new ViewerFileError(`${name}: holds a THB basis without control points (no <Geometry>)`);
        }
        return { kind: "surface", field: checkSurface(fieldFromDescription(description, name), name) };
      }
      default:
        throw new ViewerFileError(
          `${name}: unknown file type "${extension}" (expected .json, .xml, .xyz, .csv, .txt or .ply)`,
        );
    }
  } catch (error) {
    if (error instanceof ViewerFileError) throw error;
    const message = (error as Error).message;
    throw new ViewerFileError(message.startsWith(name) ? message : `${name}: ${message}`);
  }
}

function checkSurface(field: THBField, name: string): THBField {
  if (field.space.dimension !== 2) {
    throw new ViewerFileError(
      `${name}: the viewer shows surfaces (2 parametric directions), this field has ${field.space.dimension}`,
    );
  }
  return field;
}
