/** Named errors thrown at public boundaries; each message says which argument was wrong and what was expected. */

/** A knot vector is malformed: not finite, decreasing, too short for its degree, or too many repeated knots. */
export class KnotVectorError extends Error {
  override name = "KnotVectorError";
}

/** A degree is not a supported non-negative integer. */
export class DegreeError extends Error {
  override name = "DegreeError";
}

/** An argument has the wrong length, shape, type or range (defined in linalg/, the lowest layer). */
export { ArgumentError, NumericalError } from "../linalg/errors.js";

/** Formats a number list for error messages, shortened when long. */
export function describeList(values: ArrayLike<number>, max = 12): string {
  const shown: string[] = [];
  for (let i = 0; i < Math.min(values.length, max); i++) shown.push(String(values[i]));
  return `[${shown.join(", ")}${values.length > max ? `, … (${values.length} in all)` : ""}]`;
}
