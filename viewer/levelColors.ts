/** The viewer's colours: one per hierarchy level (element mesh, control points, legend), errors, background. */

/** The background colour (tests compare screenshots against it; index.html uses the same). */
export const BACKGROUND = 0x15181d;

const PALETTE = [0x4e79a7, 0xf28e2b, 0x59a14f, 0xe15759, 0xb07aa1, 0x76b7b2, 0xedc948, 0xff9da7, 0x9c755f];

/** The colour of level `l` as 0xRRGGBB (the palette repeats past its end). */
export function levelColor(l: number): number {
  return PALETTE[l % PALETTE.length];
}

/** The colour of level `l` as a CSS hex string. */
export function levelCss(l: number): string {
  return `#${levelColor(l).toString(16).padStart(6, "0")}`;
}

/**
 * A colour for an error in [0, max] (blue → teal → yellow → red), written as RGB in [0, 1] into `out` at
 * `offset`; errors at or above `max` are red.
 */
export function errorColor(error: number, max: number, out: Float32Array, offset: number): void {
  const t = max > 0 ? Math.min(Math.max(error / max, 0), 1) : 0;
  const stops = [
    [0.15, 0.35, 0.85],
    [0.1, 0.75, 0.7],
    [0.95, 0.85, 0.2],
    [0.9, 0.15, 0.1],
  ];
  const x = t * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  const f = x - i;
  for (let k = 0; k < 3; k++) out[offset + k] = stops[i][k] * (1 - f) + stops[i + 1][k] * f;
}
