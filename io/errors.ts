/** Named errors of file reading and writing. */

/** A file is malformed: says which file, which field or line, and what was expected. */
export class FormatError extends Error {
  override name = "FormatError";
}
