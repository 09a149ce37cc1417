/**
 * Tensors: an n-d array of f32 or f64 values, row-major, plus the recorded operation that produced it.
 * A tensor is immutable once made; ops make new tensors. `node` links it into the graph that reverse mode
 * walks backwards (a tape of array operations, never one node per scalar).
 */

/** Element types. WebGPU has no f64: GPU work is f32, reference work f64. */
export type DType = "f32" | "f64";

/** Storage of a tensor's values. */
export type Values = Float32Array | Float64Array;

/**
 * Values that live on a device (a GPU buffer of f32). Reading them back is asynchronous, so a device
 * tensor has no `values`: ops on it run on the device, and `await t.read()` fetches the numbers. Several
 * tensors may share one storage (reshape views, traced leaves); each holds a reference, and the buffer
 * goes back to its pool when the last scope that made one of them ends.
 */
export interface DeviceStorage {
  readonly device: "webgpu";
  /** The first `count` values. */
  read(count: number): Promise<Float32Array>;
  retain(): void;
  release(): void;
}

/** A device tensor's `values` (or another synchronous read) was asked for. */
export class DeviceTensorError extends Error {
  override name = "DeviceTensorError";
}

/** A recorded operation: its inputs and how to pull a cotangent of the output back to each of them. */
export interface Node {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  /** Cotangent of the output ↦ one cotangent per input (undefined: no gradient flows to that input). */
  readonly vjp: (cotangent: Tensor) => (Tensor | undefined)[];
}

/** Throws when a shape is not a list of non-negative integers. */
function checkShape(shape: readonly number[]): void {
  for (const n of shape) {
    if (!Number.isInteger(n) || n < 0)
      throw new RangeError(`shape entries must be non-negative integers, got [${shape}]`);
  }
}

/** Number of elements of a shape. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const s of shape) n *= s;
  return n;
}

let nextId = 1;

const isValues = (x: Values | DeviceStorage): x is Values =>
  x instanceof Float64Array || x instanceof Float32Array;

/** An immutable n-d array with an optional place in the autodiff graph. */
export class Tensor {
  readonly id = nextId++;
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Host values or device storage. */
  readonly backing: Values | DeviceStorage;
  /** The host values (undefined on a device): a plain field, so `values` stays cheap in hot loops. */
  readonly #host: Values | undefined;
  /** The op that made this tensor, when it depends on a traced input. */
  readonly node: Node | undefined;

  constructor(backing: Values | DeviceStorage, shape: readonly number[], node?: Node) {
    checkShape(shape);
    const size = sizeOf(shape);
    if (isValues(backing)) {
      if (backing.length !== size) {
        throw new RangeError(`values hold ${backing.length} numbers but shape [${shape}] needs ${size}`);
      }
      this.dtype = backing instanceof Float32Array ? "f32" : "f64";
      this.#host = backing;
    } else {
      backing.retain();
      this.dtype = "f32";
      this.#host = undefined;
    }
    this.backing = backing;
    this.shape = shape.slice();
    this.size = size;
    this.node = node;
    currentScope?.add(this);
  }

  /** The values of a host tensor; a device tensor throws (use `await read()`). */
  get values(): Values {
    const host = this.#host;
    if (host !== undefined) return host;
    throw new DeviceTensorError(
      `tensor of shape [${this.shape}] lives on the GPU (${(this.backing as DeviceStorage).device}): read it with \`await t.read()\``,
    );
  }

  /** The device storage, when the values live on a device. */
  get storage(): DeviceStorage | undefined {
    return this.#host === undefined ? (this.backing as DeviceStorage) : undefined;
  }

  /** True when the values live on a device. */
  get onDevice(): boolean {
    return this.#host === undefined;
  }

  /** Number of axes. */
  get rank(): number {
    return this.shape.length;
  }

  /** The value of a one-element host tensor. */
  item(): number {
    if (this.size !== 1) throw new RangeError(`item() needs a one-element tensor, shape is [${this.shape}]`);
    return this.values[0];
  }

  /** A copy of the values (host storage: synchronous). */
  toArray(): Values {
    return this.values.slice();
  }

  /** The values, asynchronously: the same call for host and device storage. */
  async read(): Promise<Values> {
    const storage = this.storage;
    return storage ? storage.read(this.size) : this.toArray();
  }

  /** True when the tensor depends on a traced input. */
  get traced(): boolean {
    return this.node !== undefined;
  }
}

/** A tensor from values (copied) and a shape (default: 1-D). f64 unless the values are a Float32Array. */
export function tensor(values: ArrayLike<number>, shape?: readonly number[], dtype?: DType): Tensor {
  const type = dtype ?? (values instanceof Float32Array ? "f32" : "f64");
  const data = type === "f32" ? Float32Array.from(values) : Float64Array.from(values);
  return new Tensor(data, shape ?? [data.length]);
}

/** A scalar tensor. */
export function scalar(value: number, dtype: DType = "f64"): Tensor {
  return tensor([value], [], dtype);
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = "f64"): Tensor {
  const n = sizeOf(shape);
  return new Tensor(dtype === "f32" ? new Float32Array(n) : new Float64Array(n), shape);
}

/** Allocates values of a dtype. */
export function allocate(dtype: DType, n: number): Values {
  return dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
}

// ---- explicit memory scopes -------------------------------------------------------------------------

/** Storage that must be released explicitly (GPU buffers); CPU values are left to the garbage collector. */
export interface Releasable {
  release(): void;
}

let currentScope: Set<Tensor> | undefined;
const releasers = new WeakMap<Tensor, Releasable>();

/** Attaches explicitly released storage (a GPU buffer) to a tensor, for scopes to free. */
export function attachStorage(t: Tensor, storage: Releasable): void {
  releasers.set(t, storage);
}

/**
 * Runs fn and releases the storage of every tensor made inside it, except those in its result (a tensor,
 * an array or an object of tensors). GPU buffers never wait for the garbage collector.
 */
export function scope<T>(fn: () => T): T {
  const outer = currentScope;
  const made = new Set<Tensor>();
  currentScope = made;
  let result: T;
  try {
    result = fn();
  } finally {
    currentScope = outer;
  }
  const kept = new Set<Tensor>();
  const collect = (x: unknown): void => {
    if (x instanceof Tensor) kept.add(x);
    else if (Array.isArray(x)) x.forEach(collect);
    else if (x && typeof x === "object") Object.values(x).forEach(collect);
  };
  collect(result);
  for (const t of made) {
    if (kept.has(t)) outer?.add(t);
    else releaseTensor(t);
  }
  return result;
}

const released = new WeakSet<Tensor>();

function releaseTensor(t: Tensor): void {
  if (released.has(t)) return;
  released.add(t);
  releasers.get(t)?.release();
  releasers.delete(t);
  t.storage?.release();
}

/**
 * Releases the storage of tensors now (device buffers go back to their pool); for results kept out of a
 * scope once they have been read. A released device tensor must not be used again.
 */
export function dispose(...tensors: readonly Tensor[]): void {
  for (const t of tensors) releaseTensor(t);
}
