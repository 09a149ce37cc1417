/**
 * Undo/redo of whole states: every edit pushes the new state; undo and redo walk the list. At most `limit`
 * states are kept (the oldest go first), so memory stays bounded however long a session runs.
 */
export class History<T> {
  private readonly states: T[] = [];
  private index = -1;

  constructor(readonly limit = 64) {}

  /** The current state (undefined before the first push). */
  get current(): T | undefined {
    return this.states[this.index];
  }

  /** The current state's place in the list: how many undos are available. */
  get position(): number {
    return Math.max(this.index, 0);
  }

  /** Makes `state` current and drops the states that redo would have reached. */
  push(state: T): void {
    this.states.length = this.index + 1;
    this.states.push(state);
    if (this.states.length > this.limit) this.states.shift();
    this.index = this.states.length - 1;
  }

  /** Steps back; returns the new current state, or undefined when there is nothing to undo. */
  undo(): T | undefined {
    if (this.index <= 0) return undefined;
    return this.states[--this.index];
  }

  /** Steps forward; returns the new current state, or undefined when there is nothing to redo. */
  redo(): T | undefined {
    if (this.index >= this.states.length - 1) return undefined;
    return this.states[++this.index];
  }
}
