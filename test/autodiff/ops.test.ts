import { describe, expect, it } from "vitest";
import * as ad from "../../autodiff/index.js";
import { type Tensor, tensor } from "../../autodiff/index.js";
import { seededRandom } from "../helpers/random.js";

const rand = seededRandom(99);
const randomTensor = (shape: number[], lo = -1, hi = 1) =>
  tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * rand()),
    shape,
  );

/** Every op, with inputs where it is differentiable (positive for log/sqrt, away from kinks). */
const cases: [string, (x: Tensor[]) => Tensor, () => Tensor[]][] = [
  ["add (row broadcast)", ([a, b]) => ad.add(a, b), () => [randomTensor([3, 4]), randomTensor([4])]],
  ["sub (scalar broadcast)", ([a, b]) => ad.sub(a, b), () => [randomTensor([5]), randomTensor([])]],
  ["mul (column broadcast)", ([a, b]) => ad.mul(a, b), () => [randomTensor([3, 4]), randomTensor([3, 1])]],
  ["div", ([a, b]) => ad.div(a, b), () => [randomTensor([6]), randomTensor([6], 1, 2)]],
  ["maximum", ([a, b]) => ad.maximum(a, b), () => [randomTensor([8]), randomTensor([8])]],
  ["minimum", ([a, b]) => ad.minimum(a, b), () => [randomTensor([8]), randomTensor([8])]],
  ["neg", ([a]) => ad.neg(a), () => [randomTensor([4])]],
  ["square", ([a]) => ad.square(a), () => [randomTensor([4])]],
  ["sqrt", ([a]) => ad.sqrt(a), () => [randomTensor([4], 0.5, 2)]],
  ["exp", ([a]) => ad.exp(a), () => [randomTensor([4])]],
  ["log", ([a]) => ad.log(a), () => [randomTensor([4], 0.5, 2)]],
  ["abs", ([a]) => ad.abs(a), () => [randomTensor([4], 0.1, 1)]],
  ["pow", ([a]) => ad.pow(a, 2.5), () => [randomTensor([4], 0.5, 2)]],
  ["where", ([a, b]) => ad.where([1, 0, 1, 0, 0, 1], a, b), () => [randomTensor([6]), randomTensor([6])]],
  ["clamp", ([a]) => ad.clamp(a, -0.5, 0.5), () => [tensor([-0.9, -0.2, 0.1, 0.3, 0.8])]],
  ["sum (all)", ([a]) => ad.sum(a), () => [randomTensor([3, 4])]],
  ["sum (axis 0)", ([a]) => ad.sum(a, 0), () => [randomTensor([3, 4])]],
  ["sum (axis 1)", ([a]) => ad.sum(a, 1), () => [randomTensor([3, 4])]],
  ["mean (all)", ([a]) => ad.mean(a), () => [randomTensor([3, 4])]],
  ["mean (axis 1)", ([a]) => ad.mean(a, 1), () => [randomTensor([3, 4])]],
  ["dot", ([a, b]) => ad.dot(a, b), () => [randomTensor([7]), randomTensor([7])]],
  ["matmul", ([a, b]) => ad.matmul(a, b), () => [randomTensor([3, 4]), randomTensor([4, 2])]],
  ["transpose", ([a]) => ad.transpose(a), () => [randomTensor([3, 4])]],
  ["reshape", ([a]) => ad.reshape(a, [2, 6]), () => [randomTensor([3, 4])]],
  ["slice", ([a]) => ad.slice(a, 1, 1, 3), () => [randomTensor([3, 4])]],
  ["concat", ([a, b]) => ad.concat([a, b], 1), () => [randomTensor([3, 2]), randomTensor([3, 4])]],
  ["gather", ([a]) => ad.gather(a, [2, 0, 2, 1]), () => [randomTensor([3, 2])]],
  ["scatterAdd", ([a]) => ad.scatterAdd(a, [1, 1, 0, 3], 5), () => [randomTensor([4, 2])]],
  ["broadcastTo", ([a]) => ad.broadcastTo(a, [3, 4]), () => [randomTensor([4])]],
  [
    "composite (softplus loss)",
    ([a, b]) => ad.mean(ad.log(ad.add(1, ad.exp(ad.mul(a, b))))),
    () => [randomTensor([5]), randomTensor([5])],
  ],
];

describe("gradcheck on every op (finite differences in random directions, f64)", () => {
  for (const [name, f, make] of cases) {
    it(name, () => {
      const result = ad.gradcheck(f, make(), { directions: 4, eps: 1e-6, tolerance: 1e-7 });
      expect(result.maxError).toBeLessThan(1e-7);
    });
  }

  it("gradcheck catches a wrong gradient (a custom op whose VJP is off by a factor)", () => {
    const wrong = ad.defineOp<Tensor>({
      name: "wrongSquare",
      implementations: {
        cpu: {
          forward: ([x]) => ({ outputs: [ad.square(ad.stopGradient(x))], residuals: x }),
          vjp: (x, [g]) => [ad.mul(g!, ad.mul(x, 3))],
        },
      },
    });
    const result = ad.gradcheck(([x]) => ad.sum(wrong([x])[0]), [randomTensor([4])]);
    expect(result.passed).toBe(false);
  });
});

describe("reverse mode", () => {
  it("valueAndGrad over nested objects, with stopGradient blocking flow", () => {
    const inputs = { w: tensor([1, 2, 3]), nested: [tensor([4])] };
    const { value, grad } = ad.valueAndGrad(
      (p) => ad.add(ad.sum(ad.mul(p.w, p.w)), ad.mul(ad.stopGradient(p.nested[0]), ad.sum(p.w))),
      inputs,
    );
    expect(value.item()).toBe(14 + 4 * 6);
    expect(Array.from(grad.w.values)).toEqual([2 + 4, 4 + 4, 6 + 4]);
    expect(Array.from(grad.nested[0].values)).toEqual([0]);
  });

  it("Hessian-vector products (reverse over reverse) match finite differences of gradients", () => {
    const f = (x: Tensor) =>
      ad.add(ad.sum(ad.pow(x, 4)), ad.mul(ad.sum(ad.mul(x, ad.slice(ad.concat([x, x]), 0, 1, 6))), 0.5));
    const x = randomTensor([5]);
    const v = randomTensor([5]);
    const hv = ad.hessianVectorProduct(f, x, v);
    const h = 1e-5;
    const gPlus = ad.grad(f, tensor(Array.from(x.values, (a, i) => a + h * v.values[i])));
    const gMinus = ad.grad(f, tensor(Array.from(x.values, (a, i) => a - h * v.values[i])));
    for (let i = 0; i < 5; i++)
      expect(hv.values[i]).toBeCloseTo((gPlus.values[i] - gMinus.values[i]) / (2 * h), 6);
  });

  it("scope releases the storage of intermediates but keeps what it returns", () => {
    const released: number[] = [];
    const kept = ad.scope(() => {
      const a = tensor([1, 2]);
      ad.attachStorage(a, { release: () => released.push(1) });
      const b = ad.mul(a, 2);
      ad.attachStorage(b, { release: () => released.push(2) });
      return b;
    });
    expect(released).toEqual([1]);
    expect(Array.from(kept.values)).toEqual([2, 4]);
  });

  it("f32 tensors compute in f32 and mixed inputs promote to f64", () => {
    const a = tensor(new Float32Array([1.1, 2.2]));
    expect(ad.mul(a, a).dtype).toBe("f32");
    expect(ad.mul(a, tensor([1, 1])).dtype).toBe("f64");
  });

  it("names shape errors", () => {
    expect(() => ad.add(tensor([1, 2, 3]), tensor([1, 2]))).toThrow(/do not broadcast/);
    expect(() => ad.matmul(randomTensor([2, 3]), randomTensor([2, 3]))).toThrow(/matmul needs/);
    expect(() => ad.gather(randomTensor([2, 3]), [5])).toThrow(/index 5/);
  });
});
