/** Loads verb-nurbs in Node: its Haxe build reads a global `window`, which Node lacks. */
// biome-ignore lint/suspicious/noExplicitAny: verb-nurbs ships no types
export async function loadVerb(): Promise<any> {
  const g = globalThis as { window?: unknown };
  g.window ??= globalThis;
  const log = console.log;
  console.log = () => {}; // verb prints its version on load
  try {
    return (await import("verb-nurbs")).default;
  } finally {
    console.log = log;
  }
}
