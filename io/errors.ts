/** Named errors of file reading and writing. */

/** A file is malformed: says which file, which field or line, and what was expected. */
export class FormatError extends Error {
  override name = "FormatError";
}

/** An output file cannot be written: says which option (or path) and why. */
export class OutputError extends Error {
  override name = "OutputError";
}
