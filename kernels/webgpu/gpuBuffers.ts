/** GPU buffers: uploads, read-backs and a pool of released buffers reused by size and usage. */

/** A pool of storage buffers keyed by size and usage, so repeated launches do not reallocate. */
export class BufferPool {
  private readonly device: GPUDevice;
  private readonly free = new Map<string, GPUBuffer[]>();
  /** Bytes currently allocated through the pool (in use or free). */
  allocatedBytes = 0;

  constructor(device: GPUDevice) {
    this.device = device;
  }

  /**
   * A buffer of at least `bytes` (rounded up to 256) with `usage`. Beyond the device's limits it throws:
   * WebGPU would otherwise hand back an invalid buffer, and kernels bound to it silently do nothing.
   */
  acquire(bytes: number, usage: number): GPUBuffer {
    const size = Math.max(256, Math.ceil(bytes / 256) * 256);
    const { maxBufferSize, maxStorageBufferBindingSize } = this.device.limits;
    const limit = usage & 0x80 ? Math.min(maxBufferSize, maxStorageBufferBindingSize) : maxBufferSize;
    if (size > limit) {
      throw new RangeError(
        `a GPU buffer of ${mebibytes(size)} exceeds this device's limit of ${mebibytes(limit)} ` +
          `(${usage & 0x80 ? "maxStorageBufferBindingSize / maxBufferSize" : "maxBufferSize"}): ` +
          "split the points into batches",
      );
    }
    const key = `${size}:${usage}`;
    const list = this.free.get(key);
    const reused = list?.pop();
    if (reused) return reused;
    this.allocatedBytes += size;
    return this.device.createBuffer({ size, usage });
  }

  /** Returns a buffer for reuse. */
  release(buffer: GPUBuffer): void {
    const key = `${buffer.size}:${buffer.usage}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(buffer);
  }

  /** Destroys every pooled buffer. */
  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.allocatedBytes = 0;
  }
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}

/** Usage flags of storage buffers that are written by the CPU and read back. */
export const STORAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

/** Uploads a typed array into a pooled storage buffer. */
export function upload(
  device: GPUDevice,
  pool: BufferPool,
  data: Float32Array | Int32Array | Uint32Array,
): GPUBuffer {
  const buffer = pool.acquire(Math.max(4, data.byteLength), STORAGE);
  if (data.byteLength > 0) device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
  return buffer;
}

/** Reads `count` f32 values back from a buffer. */
export async function readFloat32(
  device: GPUDevice,
  buffer: GPUBuffer,
  count: number,
): Promise<Float32Array> {
  const bytes = count * 4;
  const staging = device.createBuffer({
    size: Math.max(4, Math.ceil(bytes / 4) * 4),
    usage: 0x0001 | 0x0008,
  }); // MAP_READ | COPY_DST
  const encoder = device.createCommandEncoder();
  encoder.copyBufferToBuffer(buffer, 0, staging, 0, Math.max(4, bytes));
  device.queue.submit([encoder.finish()]);
  await staging.mapAsync(0x0001);
  const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
  staging.unmap();
  staging.destroy();
  return out;
}
