/**
 * GPU time of compute passes from timestamp queries (the adapter's optional 'timestamp-query' feature):
 * what the device spent in the kernels, without the host's submission overhead. For benchmarks; a context
 * with a timer writes a begin/end timestamp pair around every pass it submits.
 */

/** Records the passes submitted while it is attached to a GpuContext. */
export class PassTimer {
  private readonly device: GPUDevice;
  private readonly querySet: GPUQuerySet;
  private readonly resolved: GPUBuffer;
  private readonly capacity: number;
  private recorded = 0;
  private overflowed = false;

  /** `capacity` passes between two collect() calls. */
  constructor(device: GPUDevice, capacity = 1024) {
    this.device = device;
    this.capacity = capacity;
    this.querySet = device.createQuerySet({ type: "timestamp", count: 2 * capacity });
    this.resolved = device.createBuffer({
      size: 16 * capacity,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
  }

  /** The timestamp writes for the next pass (undefined once full: collect() then reports the overflow). */
  nextPass(): GPUComputePassTimestampWrites | undefined {
    if (this.recorded === this.capacity) {
      this.overflowed = true;
      return undefined;
    }
    const index = 2 * this.recorded++;
    return { querySet: this.querySet, beginningOfPassWriteIndex: index, endOfPassWriteIndex: index + 1 };
  }

  /** Seconds the recorded passes took on the device, summed; starts a new recording. */
  async collect(): Promise<{ seconds: number; passes: number }> {
    if (this.overflowed) throw new Error(`PassTimer: more than ${this.capacity} passes between collects`);
    const passes = this.recorded;
    this.recorded = 0;
    if (passes === 0) return { seconds: 0, passes };
    const readback = this.device.createBuffer({
      size: 16 * passes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = this.device.createCommandEncoder();
    encoder.resolveQuerySet(this.querySet, 0, 2 * passes, this.resolved, 0);
    encoder.copyBufferToBuffer(this.resolved, 0, readback, 0, 16 * passes);
    this.device.queue.submit([encoder.finish()]);
    await readback.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(readback.getMappedRange().slice(0));
    readback.unmap();
    readback.destroy();
    let nanoseconds = 0n;
    // a pair out of order (the spec allows it after a clock change) counts as zero
    for (let p = 0; p < passes; p++)
      if (stamps[2 * p + 1] > stamps[2 * p]) nanoseconds += stamps[2 * p + 1] - stamps[2 * p];
    return { seconds: Number(nanoseconds) * 1e-9, passes };
  }

  destroy(): void {
    this.querySet.destroy();
    this.resolved.destroy();
  }
}
