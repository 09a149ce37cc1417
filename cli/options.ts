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

/** An option's value among `allowed`, or undefined when not given; `--name value: expected one of …` otherwise. */
export function choice<T extends string>(
  value: string | undefined,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new InputError(`--${name} ${value}: expected one of ${allowed.join(", ")}`);
  return value as T;
}
