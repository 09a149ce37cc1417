/**
 * The JSON file of a registration transform (`transform.json`), re-loadable by every tool:
 *   { "format": "thbspline-transform", "version": 2,
 *     "kind": "displacement",            // x ↦ A(x + u(x)), u in the fixed image's axis frame (mm)
 *     "fixed": { "size": […], "spacing": […], "origin": […], "direction": […] },   // direction column-major
 *     "affine": [(d+1)² numbers],        // A, physical → physical, column-major (gl-matrix), last row 0 … 0 1
 *     "field": { thbspline-field description: degree, knots, truncated, maxLevels, boxes, dim, control } }
 * Version 1 files (no "affine": A is the identity) still load. Numbers are written with JavaScript's
 * shortest round-trip form, so save → load → save is bit-exact.
 */
import { DisplacementTransform } from "../fields/displacementTransform.js";
import { checkGeometry, type ImageGeometry } from "../fields/image.js";
import { FormatError } from "./errors.js";
import type { FieldDescription } from "./hierarchyDescription.js";
import { checkHierarchyDescription, describeField, fieldFromDescription } from "./serialization.js";

/** The version transformToJson writes (2: with the affine A); versions 1 and 2 are read. */
export const TRANSFORM_FORMAT_VERSION = 2;

/** JSON text of a transform. */
export function transformToJson(transform: DisplacementTransform): string {
  const { size, spacing, origin, direction } = transform.fixed;
  return `${JSON.stringify({
    format: "thbspline-transform",
    version: TRANSFORM_FORMAT_VERSION,
    kind: "displacement",
    fixed: { size, spacing, origin, direction },
    affine: Array.from(transform.affine),
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
  if (value.version !== 1 && value.version !== TRANSFORM_FORMAT_VERSION)
    throw new FormatError(
      `${where}: "version" must be 1 or ${TRANSFORM_FORMAT_VERSION}, got ${JSON.stringify(value.version)}`,
    );
  const affine = value.affine;
  if (value.version === 1 && affine !== undefined)
    throw new FormatError(`${where}: "affine" needs "version" ${TRANSFORM_FORMAT_VERSION}, got version 1`);
  if (value.kind !== "displacement")
    throw new FormatError(`${where}: "kind" must be "displacement", got ${JSON.stringify(value.kind)}`);
  const fixed = value.fixed as ImageGeometry;
  try {
    checkGeometry(fixed, `${where}: "fixed"`);
    const d = fixed.size.length;
    if (
      affine !== undefined &&
      (!Array.isArray(affine) ||
        affine.length !== (d + 1) ** 2 ||
        !affine.every((v) => typeof v === "number" && Number.isFinite(v)))
    )
      throw new FormatError(
        `${where}: "affine" must be an array of ${(d + 1) ** 2} finite numbers ((d+1)² column-major), got ${JSON.stringify(affine)?.slice(0, 80)}`,
      );
    const raw = value.field as FieldDescription;
    const field = fieldFromDescription(
      { ...checkHierarchyDescription(raw, `${where}: "field"`), dim: raw?.dim, control: raw?.control },
      `${where}: "field"`,
    );
    return new DisplacementTransform(fixed, field, affine as number[] | undefined);
  } catch (error) {
    if (error instanceof FormatError) throw error;
    throw new FormatError(
      (error as Error).message.startsWith(where)
        ? (error as Error).message
        : `${where}: ${(error as Error).message}`,
    );
  }
}
