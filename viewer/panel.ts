/** The side panel: readouts (marked with data-testid for tests and scripts), the level legend, messages. */
import type { THBField } from "../index.js";
import { levelCss } from "./levelColors.js";

function readout(id: string): HTMLElement {
  const element = document.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  if (!element) throw new Error(`viewer page: no element with data-testid="${id}"`);
  return element;
}

/** Sets one readout's text. */
export function setReadout(id: string, text: string): void {
  readout(id).textContent = text;
}

/** The plan whose readouts are shown (they depend on the plan only: a drag step leaves them). */
let shownPlan: THBField["plan"] | undefined;

/** Shows the field's levels, DOFs, elements per level and the legend. */
export function showField(field: THBField): void {
  const plan = field.plan;
  if (plan === shownPlan) return;
  shownPlan = plan;
  const perLevel = new Array<number>(plan.levelCount).fill(0);
  for (let e = 0; e < plan.elementCount; e++) perLevel[plan.elementLevel[e]]++;
  setReadout("levels", String(plan.levelCount));
  setReadout("dofs", String(plan.functionCount));
  setReadout("elements", `${plan.elementCount} (${perLevel.join(" · ")})`);
  const legend = readout("legend");
  legend.replaceChildren(
    ...perLevel.map((count, l) => {
      const item = document.createElement("span");
      item.style.setProperty("--c", levelCss(l));
      item.textContent = `level ${l}: ${count}`;
      return item;
    }),
  );
}

/** Shows an error message (empty clears it). */
export function showMessage(text: string): void {
  readout("message").textContent = text;
}
