import { describe, expect, it } from "vitest";
import { History } from "../../viewer/history.js";

describe("viewer History", () => {
  it("undo and redo walk the pushed states; a push after undo drops the redo branch", () => {
    const h = new History<number>();
    expect(h.current).toBeUndefined();
    expect(h.undo()).toBeUndefined();
    for (const s of [1, 2, 3]) h.push(s);
    expect([h.undo(), h.undo(), h.undo()]).toEqual([2, 1, undefined]);
    expect(h.current).toBe(1);
    expect([h.redo(), h.redo(), h.redo()]).toEqual([2, 3, undefined]);
    h.undo();
    h.push(9);
    expect(h.redo()).toBeUndefined();
    expect([h.current, h.undo(), h.undo()]).toEqual([9, 2, 1]);
  });

  it("keeps at most `limit` states, dropping the oldest", () => {
    const h = new History<number>(3);
    for (let s = 0; s < 10; s++) h.push(s);
    expect(h.current).toBe(9);
    expect([h.undo(), h.undo(), h.undo()]).toEqual([8, 7, undefined]);
    expect([h.redo(), h.redo(), h.redo()]).toEqual([8, 9, undefined]);
  });
});
