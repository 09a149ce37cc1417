/** Named errors of the hierarchy layer. */

/** A THB specification or request is invalid: a box outside the domain, a level beyond the limit, NaN, … */
export class HierarchyError extends Error {
  override name = "HierarchyError";
}
