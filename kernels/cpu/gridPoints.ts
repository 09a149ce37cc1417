/** Points of a regular grid in the parametric domain. */

/** Grid points origin + spacing · i, first direction fastest. */
export function gridPoints(origin: number[], spacing: number[], counts: number[]): Float64Array {
  const d = counts.length;
  const total = counts.reduce((a, n) => a * n, 1);
  const points = new Float64Array(total * d);
  for (let t = 0; t < total; t++) {
    let rest = t;
    for (let k = 0; k < d; k++) {
      const i = rest % counts[k];
      rest = (rest - i) / counts[k];
      points[t * d + k] = origin[k] + spacing[k] * i;
    }
  }
  return points;
}
