/**
 * Plain descriptions ↔ THB spaces and fields, and the JSON file format of a field.
 *
 * JSON schema (version 1), documented in the README:
 *   { "format": "thbspline-field", "version": 1,
 *     "degree": [p, …], "knots": [[…], …], "truncated": true, "maxLevels": 16,
 *     "boxes": [[level, lo…, hi…], …],      // G+Smo boxes, applied in order
 *     "dim": k, "control": [ … ] }           // #functions × k, global numbering (by level, then tensor index)
 * A space alone omits "dim" and "control" and has "format": "thbspline-space".
 */
import { THBField } from "../fields/thbField.js";
import { HierarchyError } from "../hierarchy/errors.js";
import { refineBoxes } from "../hierarchy/refinement.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import {
  DESCRIPTION_LIMITS,
  type FieldDescription,
  type HierarchyDescription,
  refinementSize,
} from "./hierarchyDescription.js";

/** Current JSON format version. */
export const FORMAT_VERSION = 1;

/** Checks the shape of a description; `where` names the file or argument in messages. */
export function checkHierarchyDescription(value: unknown, where: string): HierarchyDescription {
  const v = value as Record<string, unknown>;
  if (v == null || typeof v !== "object") throw new HierarchyError(`${where}: expected a JSON object`);
  const isIntArray = (x: unknown) => Array.isArray(x) && x.every((n) => Number.isInteger(n));
  if (!isIntArray(v.degree))
    throw new HierarchyError(`${where}: "degree" must be an array of integers, e.g. [2, 2]`);
  const d = (v.degree as number[]).length;
  if (
    !Array.isArray(v.knots) ||
    v.knots.length !== d ||
    !v.knots.every((k) => Array.isArray(k) && k.every((x) => typeof x === "number"))
  ) {
    throw new HierarchyError(`${where}: "knots" must be ${d} arrays of numbers, one per entry of "degree"`);
  }
  if (v.truncated !== undefined && typeof v.truncated !== "boolean") {
    throw new HierarchyError(`${where}: "truncated" must be true or false`);
  }
  const boxes = v.boxes ?? [];
  if (!Array.isArray(boxes) || !boxes.every(isIntArray)) {
    throw new HierarchyError(`${where}: "boxes" must be an array of integer arrays [level, lo…, hi…]`);
  }
  if (v.maxLevels !== undefined && !Number.isInteger(v.maxLevels)) {
    throw new HierarchyError(`${where}: "maxLevels" must be an integer`);
  }
  return {
    degree: v.degree as number[],
    knots: v.knots as number[][],
    truncated: (v.truncated as boolean | undefined) ?? true,
    boxes: boxes as number[][],
    ...(v.maxLevels !== undefined ? { maxLevels: v.maxLevels as number } : {}),
  };
}

/** Builds the space a description names (errors say `where`). */
export function spaceFromDescription(description: HierarchyDescription, where = "description"): THBSpace {
  try {
    const base = THBSpace.create({
      degrees: description.degree,
      knots: description.knots,
      truncated: description.truncated,
      ...(description.maxLevels !== undefined ? { maxLevels: description.maxLevels } : {}),
    });
    checkKnotResolution(base);
    // a spec of a few bytes can name billions of cells: refuse before anything is refined
    const size = refinementSize(base.tree.baseCells, description.boxes, base.maxLevels);
    if (size.elements > DESCRIPTION_LIMITS.elements) {
      throw new HierarchyError(
        `the level-0 grid and boxes ask for up to ${size.elements} active elements; the limit is ${DESCRIPTION_LIMITS.elements}`,
      );
    }
    if (size.finestCells > DESCRIPTION_LIMITS.cellsPerDirection) {
      throw new HierarchyError(
        `level ${size.finestLevel} would have ${size.finestCells} cells in one direction; the limit is ${DESCRIPTION_LIMITS.cellsPerDirection}`,
      );
    }
    return refineBoxes(base, description.boxes);
  } catch (error) {
    const e = error as Error;
    if (["HierarchyError", "KnotVectorError", "DegreeError", "ArgumentError"].includes(e.name)) {
      e.message = `${where}: ${e.message}`;
    }
    throw e;
  }
}

/**
 * Every non-empty level-0 span must survive being halved on each level the space may use: a span within a
 * few ulps of its knots (or subnormal) gives coincident midpoints and a broken level grid.
 */
function checkKnotResolution(space: THBSpace): void {
  const halvings = 2 ** -(space.maxLevels - 1);
  space.directions.forEach((direction, k) => {
    const U = direction.level(0).knots;
    for (let i = 0; i + 1 < U.length; i++) {
      const span = U[i + 1] - U[i];
      if (span === 0) continue;
      const ulp = Math.max(Math.abs(U[i]), Math.abs(U[i + 1])) * Number.EPSILON;
      if (!(span * halvings >= 4 * Math.max(ulp, 2 ** -1022))) {
        throw new HierarchyError(
          `knots[${k}]: the span [${U[i]}, ${U[i + 1]}] is too short to halve ${space.maxLevels - 1} times in double precision (maxLevels ${space.maxLevels})`,
        );
      }
    }
  });
}

/**
 * A description that rebuilds exactly this space: one box per run of refined cells along the first
 * direction, each box of level l+1 covering the children of level-l cells (G+Smo semantics).
 */
export function describeSpace(space: THBSpace): HierarchyDescription {
  const d = space.dimension;
  const boxes: number[][] = [];
  const cell = [0, 0, 0];
  for (let l = 0; l + 1 < space.maxLevels; l++) {
    const keys = [...space.tree.refined[l]].sort((a, b) => a - b);
    let run: number[] | undefined;
    for (const key of keys) {
      space.tree.decode(l, key, cell);
      const lo = cell.slice(0, d).map((c) => 2 * c);
      if (run && run[1 + d] === lo[0] && lo.every((x, k) => k === 0 || run![1 + k] === x)) {
        run[1 + d] += 2; // extend along the first direction
        continue;
      }
      if (run) boxes.push(run);
      run = [l + 1, ...lo, ...lo.map((x) => x + 2)];
    }
    if (run) boxes.push(run);
  }
  return {
    degree: space.degrees.slice(),
    knots: space.directions.map((dir) => Array.from(dir.level(0).knots)),
    truncated: space.truncated,
    boxes,
    maxLevels: space.maxLevels,
  };
}

/** A field from its description; checks the control length against the space. */
export function fieldFromDescription(description: FieldDescription, where = "description"): THBField {
  const space = spaceFromDescription(description, where);
  if (!Number.isInteger(description.dim) || description.dim < 1) {
    throw new HierarchyError(`${where}: "dim" must be a positive integer, got ${description.dim}`);
  }
  if (!Array.isArray(description.control) || description.control.length !== space.size * description.dim) {
    throw new HierarchyError(
      `${where}: "control" must hold ${space.size} functions × ${description.dim} = ${space.size * description.dim} numbers, got ${description.control?.length}`,
    );
  }
  const bad = description.control.findIndex((x) => typeof x !== "number" || !Number.isFinite(x));
  if (bad >= 0) {
    throw new HierarchyError(
      `${where}: "control"[${bad}] must be a finite number, got ${JSON.stringify(description.control[bad])}`,
    );
  }
  return new THBField(space, description.control, description.dim);
}

/** The description of a field. */
export function describeField(field: THBField): FieldDescription {
  return { ...describeSpace(field.space), dim: field.dim, control: Array.from(field.control) };
}

/** JSON text of a field (schema above). */
export function fieldToJson(field: THBField): string {
  return `${JSON.stringify({ format: "thbspline-field", version: FORMAT_VERSION, ...describeField(field) })}\n`;
}

/** Parses the JSON text of a field; `where` names the file in messages. */
export function fieldFromJson(text: string, where = "field JSON"): THBField {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new HierarchyError(`${where}: not valid JSON (${(error as Error).message})`);
  }
  if (value?.format !== "thbspline-field") {
    throw new HierarchyError(
      `${where}: "format" must be "thbspline-field", got ${JSON.stringify(value?.format)}`,
    );
  }
  if (value.version !== FORMAT_VERSION) {
    throw new HierarchyError(
      `${where}: "version" ${JSON.stringify(value.version)} is not supported (expected ${FORMAT_VERSION})`,
    );
  }
  const description = checkHierarchyDescription(value, where);
  return fieldFromDescription(
    { ...description, dim: value.dim as number, control: value.control as number[] },
    where,
  );
}
