/** Benchmark helpers: medians over repeated runs and plain-text tables. */

/** Median of a list of numbers. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
}

/** Runs `run` once to warm up, then `repeats` times; returns the median seconds per run. */
export function medianSeconds(run: () => void, repeats = 5): number {
  run();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    run();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** Async variant of medianSeconds. */
export async function medianSecondsAsync(run: () => Promise<void>, repeats = 5): Promise<number> {
  await run();
  const times: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    await run();
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

/** Formats a rate with an SI suffix (1.23 M). */
export function si(x: number): string {
  const units: [number, string][] = [
    [1e9, "G"],
    [1e6, "M"],
    [1e3, "k"],
  ];
  for (const [scale, suffix] of units) if (Math.abs(x) >= scale) return `${(x / scale).toFixed(2)} ${suffix}`;
  return x.toFixed(2);
}

/** Prints a table with a title; columns padded to their widest cell. */
export function printTable(title: string, header: string[], rows: string[][]): void {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c].length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c])).join(" | ")} |`;
  console.log(`\n${title}`);
  console.log(line(header));
  console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
  for (const r of rows) console.log(line(r));
}

/**
 * Runs each of `runs` once to warm up, then `repeats` rounds of all of them in turn; returns the median
 * seconds of each. Interleaving puts every implementation under the same load on a shared, noisy machine,
 * so ratios of these medians compare like with like.
 */
export function interleavedMedianSeconds<K extends string>(
  runs: Record<K, () => void>,
  repeats = 15,
): Record<K, number> {
  const times = interleavedSeconds(runs, repeats).wall;
  const out = {} as Record<K, number>;
  for (const name of Object.keys(runs) as K[]) out[name] = median(times[name]);
  return out;
}

/**
 * As interleavedMedianSeconds, returning every round's seconds (for spreads) on two clocks: wall time, and
 * the process's CPU time (user + system, all its threads: garbage collection included), which other
 * processes on a shared machine disturb far less.
 */
export function interleavedSeconds<K extends string>(
  runs: Record<K, () => void>,
  repeats = 15,
): { wall: Record<K, number[]>; cpu: Record<K, number[]> } {
  const names = Object.keys(runs) as K[];
  const wall = {} as Record<K, number[]>;
  const cpu = {} as Record<K, number[]>;
  for (const name of names) {
    runs[name]();
    wall[name] = [];
    cpu[name] = [];
  }
  for (let r = 0; r < repeats; r++) {
    for (const name of names) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      runs[name]();
      wall[name].push((performance.now() - t0) / 1000);
      const c = process.cpuUsage(c0);
      cpu[name].push((c.user + c.system) / 1e6);
    }
  }
  return { wall, cpu };
}
