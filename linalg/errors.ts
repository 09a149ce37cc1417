/** Named errors of the linear algebra; splines/ and the layers above re-export them. */

/** An argument has the wrong length, shape, type or range. */
export class ArgumentError extends Error {
  override name = "ArgumentError";
}

/**
 * A numerical computation failed although its inputs were valid (a factorisation lost accuracy, a solve came
 * out non-finite): the message says what failed and where. Not the caller's fault, unlike ArgumentError.
 */
export class NumericalError extends Error {
  override name = "NumericalError";
}
