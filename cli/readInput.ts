/** Reading input files for CLI commands, with errors that name the file. */
import { readFileSync } from "node:fs";

/** A CLI input problem: says which file and what was expected. */
export class InputError extends Error {
  override name = "InputError";
}

/** Reads a UTF-8 text file, or throws InputError naming it. */
export function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(
      `${path}: cannot read (${code === "ENOENT" ? "no such file" : (error as Error).message})`,
    );
  }
}

/** Reads and parses a JSON file, or throws InputError naming it and the position. */
export function readJson(path: string): unknown {
  const text = readText(path);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InputError(`${path}: not valid JSON (${(error as Error).message})`);
  }
}
