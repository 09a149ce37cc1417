/** Reading transform.json for the CLI commands that apply a registration (apply, transform-points). */
import type { DisplacementTransform } from "../fields/displacementTransform.js";
import { transformFromJson } from "../io/transformJson.js";
import { readText } from "./readInput.js";

/** Reads and checks a transform.json; errors name the file and what was expected. */
export function readTransformFile(path: string): DisplacementTransform {
  return transformFromJson(readText(path), path);
}
