/**
 * The JSON file of a registration transform (`transform.json`), re-loadable by every tool:
 *   { "format": "thbspline-transform", "version": 1,
 *     "kind": "displacement",            // x ↦ x + u(x), u in the fixed image's axis frame (mm)
 *     "fixed": { "size": […], "spacing": […], "origin": […], "direction": […] },   // direction column-major
 *     "field": { thbspline-field description: degree, knots, truncated, maxLevels, boxes, dim, control } }
 */
import { DisplacementTransform } from "../fields/displacementTransform.js";
import { checkGeometry, type ImageGeometry } from "../fields/image.js";
import { FormatError } from "./errors.js";
import type { FieldDescription } from "./hierarchyDescription.js";
import {
  checkHierarchyDescription,
  describeField,
  FORMAT_VERSION,
  fieldFromDescription,
} from "./serialization.js";

/** JSON text of a transform. */
export function transformToJson(transform: DisplacementTransform): string {
  const { size, spacing, origin, direction } = transform.fixed;
  return `${JSON.stringify({
    format: "thbspline-transform",
    version: FORMAT_VERSION,
    kind: "displacement",
    fixed: { size, spacing, origin, direction },
    field: describeField(transform.field),
  })}\n`;
}

/** Parses the JSON text of a transform; `where` names the file in messages. */
export function transformFromJson(text: string, where = "transform JSON"): DisplacementTransform {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new FormatError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (value?.format !== "thbspline-transform")
    throw new FormatError(
      `${where}: "format" must be "thbspline-transform", got ${JSON.stringify(value?.format)}`,
    );
  if (value.version !== FORMAT_VERSION)
    throw new FormatError(
      `${where}: "version" must be ${FORMAT_VERSION}, got ${JSON.stringify(value.version)}`,
    );
  if (value.kind !== "displacement")
    throw new FormatError(`${where}: "kind" must be "displacement", got ${JSON.stringify(value.kind)}`);
  const fixed = value.fixed as ImageGeometry;
  try {
    checkGeometry(fixed, `${where}: "fixed"`);
    const raw = value.field as FieldDescription;
    const field = fieldFromDescription(
      { ...checkHierarchyDescription(raw, `${where}: "field"`), dim: raw?.dim, control: raw?.control },
      `${where}: "field"`,
    );
    return new DisplacementTransform(fixed, field);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError(
      (error as Error).message.startsWith(where)
        ? (error as Error).message
        : `${where}: ${(error as Error).message}`,
    );
  }
}
