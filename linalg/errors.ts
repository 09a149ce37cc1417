/** Named errors of the linear algebra; splines/ and the layers above re-export them. */

/** An argument has the wrong length, shape, type or range. */
export class ArgumentError extends Error {
  override name = "ArgumentError";
}
