/**
 * Run by planShape.test.ts in a child `node --allow-natives-syntax --import tsx`: prints whether plans compiled
 * from scratch and plans compiled reusing a previous plan's row pool share V8's hidden class (map).
 */
import { compile, extractionRows } from "../../hierarchy/plan.js";
import { refineElementRefs } from "../../hierarchy/refinement.js";
import { buildHierarchy } from "./randomHierarchy.js";

// natives syntax cannot pass through the TypeScript transform: parse it at run time
const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

const space0 = buildHierarchy({
  dimension: 2,
  degree: 3,
  truncated: true,
  m: 2,
  seed: 5,
  steps: 3,
  nonUniform: false,
});
const plan0 = compile(space0);
const refineLast = (space: typeof space0) =>
  refineElementRefs(space, [space.elements.filter((e) => e.level + 1 < space.maxLevels).at(-1)!], 2);
const space1 = refineLast(space0);
const plan1 = compile(space1, { space: space0, plan: plan0 });
const space2 = refineLast(space1);
const plan2 = compile(space2, { space: space1, plan: plan1 });
const scratch2 = compile(space2.withTree(space2.tree.clone()));
process.stdout.write(
  JSON.stringify({
    pooled: extractionRows(plan2).values !== plan2.extractionCoefficients,
    scratchPooled: sameMap(plan0, plan1),
    pooledPooled: sameMap(plan1, plan2),
    scratchScratch: sameMap(plan0, scratch2),
  }),
);
