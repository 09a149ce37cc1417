/**
 * The bending energy: its assembled matrix against an independent quadrature of the field's own second
 * derivatives, and its gradient against finite differences.
 */
import { describe, expect, it } from "vitest";
import { gradcheck } from "../../autodiff/gradcheck.js";
import { Tensor } from "../../autodiff/tensor.js";
import { THBField } from "../../fields/thbField.js";
import { bendingEnergyOp, bendingMatrix } from "../../fitting/registration/bendingEnergy.js";
import { refineElements } from "../../hierarchy/refinement.js";
import { THBSpace } from "../../hierarchy/thbSpace.js";
import { gaussLegendre } from "../../linalg/gaussLegendre.js";
import { grevilleAbscissae, uniformKnotVector } from "../../splines/knotVector.js";
import { randomField } from "./helpers.js";

/** (1/|Ω|) ∫ Σ_k (u_k,xx² + 2 u_k,xy² + u_k,yy²) by a 6-point Gauss rule on each cell of a fine uniform grid. */
function referenceEnergy2D(field: ReturnType<typeof randomField>, extent: number[], cells: number): number {
  const rule = gaussLegendre(6, 0, 1);
  const points: number[] = [];
  const weights: number[] = [];
  const h = extent.map((e) => e / cells);
  for (let cy = 0; cy < cells; cy++)
    for (let cx = 0; cx < cells; cx++)
      for (let a = 0; a < 6; a++)
        for (let b = 0; b < 6; b++) {
          points.push((cx + rule.nodes[a]) * h[0], (cy + rule.nodes[b]) * h[1]);
          weights.push(rule.weights[a] * rule.weights[b] * h[0] * h[1]);
        }
  const values = field.evaluate(points, 2);
  // blocks: value, ∂x, ∂y, ∂xx, ∂yy, ∂xy — each `dim` numbers
  const blocks = 6;
  let sum = 0;
  for (let p = 0; p < weights.length; p++) {
    for (let k = 0; k < 2; k++) {
      const at = (block: number) => values[(p * blocks + block) * 2 + k];
      sum += weights[p] * (at(3) ** 2 + at(4) ** 2 + 2 * at(5) ** 2);
    }
  }
  return sum / (extent[0] * extent[1]);
}

describe("bending energy", () => {
  it("equals the quadrature of the field's second derivatives on a two-level THB space (2D)", () => {
    const extent = [40, 56];
    const field = randomField(extent, 3);
    const K = bendingMatrix(field.plan);
    const energy = bendingEnergyOp(K)(
      new Tensor(Float64Array.from(field.control), [field.space.size, 2]),
    ).item();
    // the fine grid's cells nest in the elements (4 level-0 elements per axis → 16 cells), so the rule is exact
    const reference = referenceEnergy2D(field, extent, 16);
    expect(energy).toBeGreaterThan(0);
    expect(Math.abs(energy - reference) / reference).toBeLessThan(1e-10);
  });

  it("has the gradient of finite differences (gradcheck) in 2D and 3D", () => {
    for (const extent of [
      [40, 56],
      [20, 24, 16],
    ]) {
      const field = randomField(extent, 2, 3, 2);
      const op = bendingEnergyOp(bendingMatrix(field.plan));
      const d = extent.length;
      const result = gradcheck(
        ([c]) => op(c),
        [new Tensor(Float64Array.from(field.control), [field.space.size, d])],
        { eps: 1e-4, tolerance: 1e-7 },
      );
      expect(result.maxError).toBeLessThan(1e-7);
    }
  });

  it("vanishes on an affine displacement (Greville control points), carried over to a refined space", () => {
    const extent = [40, 56];
    const knots = extent.map((e) => uniformKnotVector(3, 4, 0, e));
    const coarse = THBSpace.create({ degrees: [3, 3], knots });
    const [gx, gy] = knots.map((k) => grevilleAbscissae(k, 3));
    const control: number[] = [];
    for (const y of gy) for (const x of gx) control.push(0.3 * x - 0.2 * y + 1, 0.1 * x + 0.4 * y - 2);
    const affine = new THBField(coarse, control, 2).carryOverTo(
      refineElements(coarse, [{ level: 0, cell: [1, 2] }]),
    );
    const energy = bendingEnergyOp(bendingMatrix(affine.plan))(
      new Tensor(Float64Array.from(affine.control), [affine.space.size, 2]),
    ).item();
    // against the energy of a field of the same size that bends: zero up to rounding
    const bent = randomField(extent, 1);
    const scale = bendingEnergyOp(bendingMatrix(bent.plan))(
      new Tensor(Float64Array.from(bent.control), [bent.space.size, 2]),
    ).item();
    expect(Math.abs(energy)).toBeLessThan(1e-12 * scale * 1e4);
  });
});
