/** Evaluates a bicubic surface and its derivatives at a few parameters: the README's API example. */
import { BSpline, uniformKnotVector } from "../index.js";

const knots = uniformKnotVector(3, 2); // degree 3, two elements on [0, 1]: 5 functions per direction
const control = new Float64Array(5 * 5 * 3);
for (let j = 0; j < 5; j++) {
  for (let i = 0; i < 5; i++) control.set([i / 4, j / 4, Math.sin(i + j) / 4], (i + 5 * j) * 3);
}
const surface = BSpline.create({ degrees: [3, 3], knots: [knots, knots], control });
const points = surface.evaluate([0.5, 0.5, 1, 0.25]); // #points × 3
const derivatives = surface.derivatives([0.5, 0.5], 2); // S, Su, Sv, Suu, Svv, Suv
console.log(points, derivatives);
