/** Command-line option values, checked before any work: a bad value is an InputError naming the option. */
import { InputError } from "./readInput.js";

/**
 * The number an option holds, or undefined when it was not given; refuses blanks and values that fail
 * `check`, saying `--name value: expected …`.
 */
export function numberOption(
  value: string | undefined,
  name: string,
  check: (x: number) => boolean,
  expected: string,
): number | undefined {
  if (value === undefined) return undefined;
  const x = Number(value);
  if (value.trim() === "" || !check(x)) throw new InputError(`--${name} ${value}: expected ${expected}`);
  return x;
}
