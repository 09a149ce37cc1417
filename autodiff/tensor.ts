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
    currentScope?.tensors.add(this);
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

/**
 * Values of a dtype, zeroed. Inside a scope they come from the host pool when it holds an array of that
 * length (one that an earlier scope released) and are released at the scope's end unless it returns them,
 * so a loop that runs the same ops in a scope at every step stops allocating after its first step. Outside
 * scopes every array is new (and left to the garbage collector), as before pooling.
 */
export function allocate(dtype: DType, n: number): Values {
  const out = allocateForOverwrite(dtype, n);
  if (!lastWasFresh) out.fill(0);
  return out;
}

/** As allocate, for a caller that writes every value: a pooled array keeps its old contents. */
export function allocateForOverwrite(dtype: DType, n: number): Values {
  const free = currentScope ? (dtype === "f32" ? freeF32 : freeF64).get(n) : undefined;
  let out = free?.pop();
  const bytes = n * (dtype === "f32" ? 4 : 8);
  lastWasFresh = out === undefined;
  if (out) {
    poolStatistics.reusedBytes += bytes;
    pooledBytes -= bytes;
  } else {
    out = dtype === "f32" ? new Float32Array(n) : new Float64Array(n);
    poolStatistics.freshBytes += bytes;
  }
  currentScope?.issued.push(out);
  return out;
}

// ---- the host pool: released host arrays by length, reused by later allocations ---------------------

const freeF64 = new Map<number, Values[]>();
const freeF32 = new Map<number, Values[]>();
/** Whether allocateForOverwrite's last array was new (already zero). */
let lastWasFresh = false;
let pooledBytes = 0;
/** Arrays beyond this many pooled bytes go to the garbage collector. */
const MAX_POOLED_BYTES = 256 * 2 ** 20;
const poolStatistics = { freshBytes: 0, reusedBytes: 0 };

/** Bytes of host values ops allocated fresh and took from the pool since the process started. */
export function hostAllocationStatistics(): { freshBytes: number; reusedBytes: number } {
  return { ...poolStatistics };
}

/** How many times each host array went back to the pool: caches keyed by an array compare it. */
const recycled = new WeakMap<object, number>();

/**
 * The number of times a host array was recycled through the pool: a cache keyed by an array (e.g. a grid's
 * tabulated basis by its points) stores it and treats a changed count as a different array.
 */
export function recycleCount(values: object): number {
  return recycled.get(values) ?? 0;
}

function returnToPool(values: Values): void {
  const bytes = values.byteLength;
  recycled.set(values, (recycled.get(values) ?? 0) + 1);
  if (pooledBytes + bytes > MAX_POOLED_BYTES) return;
  const pool = values instanceof Float32Array ? freeF32 : freeF64;
  let list = pool.get(values.length);
  if (!list) {
    list = [];
    pool.set(values.length, list);
  }
  list.push(values);
  pooledBytes += bytes;
}

/** Empties the host pool (its arrays go to the garbage collector). */
export function clearHostPool(): void {
  freeF64.clear();
  freeF32.clear();
  pooledBytes = 0;
}

/** Storage that must be released explicitly (GPU buffers); host arrays go back to the host pool instead. */
export interface Releasable {
  release(): void;
}

/** What a scope made: its tensors, and the host arrays ops allocated while it ran. */
interface ScopeRecord {
  readonly tensors: Set<Tensor>;
  readonly issued: Values[];
}

let currentScope: ScopeRecord | undefined;
const releasers = new WeakMap<Tensor, Releasable>();

/** Attaches explicitly released storage (a GPU buffer) to a tensor, for scopes to free. */
export function attachStorage(t: Tensor, storage: Releasable): void {
  releasers.set(t, storage);
}

/**
 * Runs fn and releases the storage of every tensor made inside it, except those in its result (a tensor,
 * an array or an object of tensors). GPU buffers never wait for the garbage collector; host arrays that
 * ops allocated inside fn go back to the host pool, for the next scope's ops to reuse (the values of a
 * released tensor must not be read after its scope: copy what you keep, or return its tensor). When the
 * result holds a traced tensor, its graph may still be walked, so no host array is released then.
 */
export function scope<T>(fn: () => T): T {
  const outer = currentScope;
  const made: ScopeRecord = { tensors: new Set(), issued: [] };
  currentScope = made;
  let result: T;
  try {
    result = fn();
  } finally {
    currentScope = outer;
  }
  const kept = new Set<Tensor>();
  // host arrays returned as they are (a tensor's values) are kept too
  const keptValues = new Set<Values | DeviceStorage>();
  const collect = (x: unknown): void => {
    if (x instanceof Tensor) kept.add(x);
    else if (isValues(x as Values)) keptValues.add(x as Values);
    else if (Array.isArray(x)) x.forEach(collect);
    else if (x && typeof x === "object") Object.values(x).forEach(collect);
  };
  collect(result);
  for (const t of made.tensors) {
    if (kept.has(t)) outer?.tensors.add(t);
    else releaseTensor(t);
  }
  let keepAll = false;
  for (const t of kept) {
    keptValues.add(t.backing);
    if (t.traced) keepAll = true;
  }
  for (const values of made.issued) {
    if (keepAll || keptValues.has(values)) outer?.issued.push(values);
    else returnToPool(values);
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
