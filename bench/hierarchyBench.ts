/**
 * THB hierarchy benchmarks: compile time; CPU evaluation of a 3-level bicubic THB surface with about
 * 10,000 functions against the tensor-product path at the same number of points; refining one element in a
 * 10-level hierarchy; a viewer click at 10,000 functions (refine one element and carry the field over).
 */
import { THBField } from "../fields/thbField.js";
import { compile } from "../hierarchy/plan.js";
import { refineBoxes, refineElements } from "../hierarchy/refinement.js";
import { THBSpace } from "../hierarchy/thbSpace.js";
import { localControl } from "../kernels/cpu/planEvaluate.js";
import { evaluateSurfaceField } from "../kernels/cpu/surfaceEvaluate.js";
import { BSpline } from "../splines/bspline.js";
import { uniformKnotVector } from "../splines/knotVector.js";
import { seededRandom } from "../test/helpers/random.js";
import { median, medianSeconds, printTable, si } from "./harness.js";

/** Runs the hierarchy benchmarks and prints their tables. */
export function benchHierarchy(points = 1_000_000): void {
  const rand = seededRandom(7);
  const cells = 40;
  const U = uniformKnotVector(3, cells);
  let space = THBSpace.create({ degrees: [3, 3], knots: [U, U] });
  // level 1 over the middle 60 %, level 2 over a central band: three levels, about 10k functions
  space = refineBoxes(space, [
    [1, 8, 8, 72, 72],
    [2, 40, 40, 120, 120],
  ]);
  const compileTimes: number[] = [];
  let plan = compile(space);
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    plan = compile(space.withTree(space.tree.clone()));
    compileTimes.push(performance.now() - t0);
  }
  const control = new Float64Array(space.size * 3);
  for (let i = 0; i < control.length; i++) control[i] = rand();
  const local = localControl(plan, control, 3);
  const params = new Float64Array(points * 2);
  for (let i = 0; i < params.length; i++) params[i] = rand();
  const out = new Float64Array(points * 3);
  const thb = medianSeconds(() => evaluateSurfaceField(plan, local, 3, params, out), 5);
  const tensorKnots = uniformKnotVector(3, 97); // a tensor surface with about as many functions (100²)
  const tensor = BSpline.create({
    degrees: [3, 3],
    knots: [tensorKnots, tensorKnots],
    control: new Float64Array(100 * 100 * 3).map(() => rand()),
  });
  const tensorOut = new Float64Array(points * 3);
  const tensorTime = medianSeconds(() => tensor.evaluate(params, tensorOut), 5);
  const localTime = medianSeconds(() => localControl(plan, control, 3, local), 5);

  // one element refined in a 10-level hierarchy: a corner refined down to level 9, then one more element
  let deep = THBSpace.create({ degrees: [3, 3], knots: [U, U], maxLevels: 12 });
  deep = refineBoxes(
    deep,
    Array.from({ length: 9 }, (_, l) => [l + 1, 0, 0, (8 * 2 ** (l + 1)) >> l, (8 * 2 ** (l + 1)) >> l]),
  );
  const refineTimes: number[] = [];
  const target = deep.elements.filter((e) => e.level === 9)[0];
  const cell = [0, 0];
  deep.tree.decode(9, target.key, cell);
  let refined = deep;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    refined = refineElements(deep, [{ level: 9, cell }], { admissibility: 2 });
    if (refined.size <= 0) throw new Error("refinement lost every function"); // active functions recomputed
    refineTimes.push(performance.now() - t0);
  }
  const t0 = performance.now();
  compile(refined);
  const recompile = performance.now() - t0;

  // the ~10k-function hierarchy with one of its finest elements refined: full compile against the compile
  // that reuses the previous plan's extraction away from the change (what the viewer and the fitting loop do)
  const finest = space.elements.filter((e) => e.level === space.levelCount - 1);
  const middle = finest[finest.length >> 1];
  const middleCell = [0, 0];
  space.tree.decode(middle.level, middle.key, middleCell);
  const refinedOnce = refineElements(space, [{ level: middle.level, cell: middleCell }], {
    admissibility: 2,
  });
  void refinedOnce.size; // active functions computed outside the timings
  const fullTimes: number[] = [];
  const reuseTimes: number[] = [];
  for (let r = 0; r < 5; r++) {
    const fresh = refinedOnce.withTree(refinedOnce.tree.clone());
    void fresh.size;
    let t = performance.now();
    compile(fresh);
    fullTimes.push(performance.now() - t);
    t = performance.now();
    compile(fresh, { space, plan });
    reuseTimes.push(performance.now() - t);
  }

  // viewer clicks: random elements refined one after another from a field (every fourth from the first
  // field again, as an undo would), each carrying the field over; CPU time, the first refinement (from the
  // dense plan of a file) apart
  const clickTimes: number[] = [];
  const first = new THBField(space, control, 3);
  void first.localControl;
  let field = first;
  for (let c = 0; c < 25; c++) {
    if (c % 4 === 0) field = first;
    const e = field.space.elements[Math.floor(rand() * field.space.elements.length)];
    const at = [0, 0];
    field.space.tree.decode(e.level, e.key, at);
    const before = process.cpuUsage();
    field = field.refineElements([{ level: e.level, cell: at }], { admissibility: 2 });
    const used = process.cpuUsage(before);
    if (c % 4 !== 0) clickTimes.push((used.user + used.system) / 1000);
  }

  printTable(
    `THB hierarchy: bicubic, ${plan.levelCount} levels, ${space.size} functions (${space.sizePerLevel.join(" / ")}), ${plan.elementCount} elements; ${si(points)} random points`,
    ["measure", "value", "note"],
    [
      ["compile()", `${median(compileTimes).toFixed(1)} ms`, "extraction of every element + location tree"],
      ["local control P_e = E_eᵀ C", `${(localTime * 1e3).toFixed(2)} ms`, "once per optimisation step"],
      ["THB evaluation", `${si(points / thb)} points/s`, `${((thb / points) * 1e9).toFixed(1)} ns/point`],
      [
        "tensor-product (100×100) evaluation",
        `${si(points / tensorTime)} points/s`,
        `${((tensorTime / points) * 1e9).toFixed(1)} ns/point`,
      ],
      ["THB ÷ tensor time", `${(thb / tensorTime).toFixed(2)}×`, "target < 1.5×"],
      [
        `refine one element, 10 levels (${deep.size} functions)`,
        `${median(refineTimes).toFixed(2)} ms`,
        "admissible (class 2) + active functions recomputed",
      ],
      ["compile() after that refinement", `${recompile.toFixed(1)} ms`, `${refined.size} functions`],
      [
        `one element refined in the ${space.size}-function hierarchy: compile()`,
        `${median(fullTimes).toFixed(1)} ms`,
        `${refinedOnce.size} functions, every element extracted`,
      ],
      [
        "… compile(space, previous plan)",
        `${median(reuseTimes).toFixed(1)} ms`,
        `${(median(fullTimes) / median(reuseTimes)).toFixed(1)}× faster: rows reused away from the change`,
      ],
      [
        `a click at ${space.size} functions: THBField.refineElements`,
        `${median(clickTimes).toFixed(1)} ms CPU`,
        "refine, tables, compile, carry-over, local control; median of 18",
      ],
    ],
  );
}
