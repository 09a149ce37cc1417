/** The surfaces bench:viewer and bench/viewerProfile.ts open: about 1,000 and 10,000 bicubic functions. */
import { THBField } from "../fields/thbField.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { uniformKnotVector } from "../splines/knotVector.js";

/** A bicubic surface z = bump(u, v) over `cells`² level-0 cells, refined by G+Smo boxes (exactly). */
function surface(cells: number, boxes: number[][]): THBField {
  const U = uniformKnotVector(3, cells);
  const space = THBSpace.create({ degrees: [3, 3], knots: [U, U] });
  const n = cells + 3;
  const control = new Float64Array(space.size * 3);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      // Greville abscissae: x = u, y = v reproduced exactly
      const u = (U[i + 1] + U[i + 2] + U[i + 3]) / 3;
      const v = (U[j + 1] + U[j + 2] + U[j + 3]) / 3;
      const z =
        0.15 * Math.sin(3 * u) * Math.cos(4 * v) + 0.1 * Math.exp(-20 * ((u - 0.5) ** 2 + (v - 0.5) ** 2));
      control.set([u, v, z], 3 * (i + n * j));
    }
  }
  return new THBField(space, control, 3).refineBoxes(boxes);
}

/** 1,081 functions. */
export const smallSurface = (): THBField => surface(26, [[1, 16, 16, 36, 36]]);

/** 9,289 functions (3 levels). */
export const largeSurface = (): THBField =>
  surface(40, [
    [1, 8, 8, 72, 72],
    [2, 40, 40, 120, 120],
  ]);
