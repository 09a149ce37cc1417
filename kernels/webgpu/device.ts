/**
 * Acquiring a WebGPU device: `navigator.gpu` in browsers, the `webgpu` npm package (Dawn) in Node.
 * In Node without a configured Vulkan driver, Dawn is pointed at SwiftShader from Debian's chromium
 * package when it is installed, so CPU-only machines (and CI) still run the real WGSL kernels.
 */

/** Where Debian's chromium package installs SwiftShader's Vulkan driver manifest. */
export const SWIFTSHADER_ICD = "/usr/lib/chromium/vk_swiftshader_icd.json";

/** A device with the adapter facts worth logging. */
export interface WebGPUContext {
  readonly device: GPUDevice;
  readonly adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** True when the adapter is a CPU implementation (SwiftShader). */
  readonly isSoftware: boolean;
  /** True when the device has 'timestamp-query' (GPU time of passes, kernels/webgpu/passTimer.ts). */
  readonly timestamps: boolean;
}

// Dawn aborts the process if the GPU object from create() is collected while a device lives:
// hold every one we make for the life of the process.
const dawnInstances: unknown[] = [];

/** Vendor Vulkan drivers that Dawn should use instead of SwiftShader when present. */
// Node-only modules, named through constants so that bundlers for the browser leave these imports alone
// (they run only in Node, after the check that process.versions.node exists)
const NODE_FS: string = "node:fs";
const DAWN_PACKAGE: string = "webgpu";

const VENDOR_ICD_DIRS = [
  "/etc/vulkan/icd.d",
  "/usr/share/vulkan/icd.d",
  "/usr/local/nvidia/share/vulkan/icd.d",
];

/**
 * Sets VK_ICD_FILENAMES to SwiftShader when no driver is configured (neither VK_ICD_FILENAMES nor
 * VK_DRIVER_FILES, nor an NVIDIA driver manifest) and SwiftShader is installed. Debian's own Mesa
 * drivers are too old for Dawn, so their manifests do not count as a configured driver.
 */
async function preferSwiftShaderWhenNoDriver(): Promise<void> {
  const env = process.env;
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) return;
  const { existsSync, readdirSync } = (await import(
    /* webpackIgnore: true */ /* @vite-ignore */ NODE_FS
  )) as {
    existsSync(path: string): boolean;
    readdirSync(path: string): string[];
  };
  const hasVendorDriver = VENDOR_ICD_DIRS.some((dir) => {
    try {
      return readdirSync(dir).some((f) => /nvidia/i.test(f));
    } catch {
      return false;
    }
  });
  if (!hasVendorDriver && existsSync(SWIFTSHADER_ICD)) env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
}

/** The GPU entry point of this runtime, or undefined when there is none. */
async function gpuEntryPoint(): Promise<GPU | undefined> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (typeof process === "undefined" || !process.versions?.node) return undefined;
  await preferSwiftShaderWhenNoDriver();
  let webgpu: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
  try {
    webgpu = (await import(/* webpackIgnore: true */ /* @vite-ignore */ DAWN_PACKAGE)) as typeof webgpu;
  } catch {
    return undefined; // the optional dependency is not installed
  }
  Object.assign(globalThis, webgpu.globals);
  // Dawn masks the low 16 bits of timestamps (a browser's defence against timing attacks): not needed in
  // Node, and it would hide kernels shorter than 65 µs. Dawn also zeroes workgroup memory before every
  // workgroup (so that a web page cannot read a previous one's): every kernel here writes its workgroup
  // memory before a barrier and reads it only after, and on SwiftShader the zeroing made the per-element
  // reduction 17 times slower (4.5 s instead of 0.26 s for 9,472 elements).
  const gpu = webgpu.create([
    "disable-dawn-features=timestamp_quantization",
    "enable-dawn-features=disable_workgroup_init",
  ]);
  dawnInstances.push(gpu);
  return gpu;
}

/** Why no adapter was found, with what to do about it. */
export function noAdapterAdvice(): string {
  return (
    "no WebGPU adapter: in Node install the optional dependency `webgpu` and a Vulkan driver; " +
    "without a GPU, `apt-get install -y chromium libvulkan1` provides SwiftShader " +
    `(${SWIFTSHADER_ICD}), which this library picks up by itself`
  );
}

/**
 * Requests a WebGPU device, or returns undefined when this runtime has no adapter.
 * Uncaptured device errors are thrown on the next `popErrorScope` by callers that push scopes.
 */
export async function requestWebGPU(): Promise<WebGPUContext | undefined> {
  const gpu = await gpuEntryPoint();
  if (!gpu) return undefined;
  const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!adapter) return undefined;
  const limits = adapter.limits;
  const timestamps = adapter.features.has("timestamp-query");
  const device = await adapter.requestDevice({
    requiredFeatures: timestamps ? ["timestamp-query"] : [],
    requiredLimits: {
      maxStorageBufferBindingSize: limits.maxStorageBufferBindingSize,
      maxBufferSize: limits.maxBufferSize,
      maxStorageBuffersPerShaderStage: limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupsPerDimension: limits.maxComputeWorkgroupsPerDimension,
    },
  });
  const info = adapter.info ?? { vendor: "", architecture: "", device: "", description: "" };
  const adapterInfo = {
    vendor: info.vendor ?? "",
    architecture: info.architecture ?? "",
    device: info.device ?? "",
    description: info.description ?? "",
  };
  const text = `${adapterInfo.vendor} ${adapterInfo.architecture} ${adapterInfo.device} ${adapterInfo.description}`;
  return { device, adapterInfo, isSoftware: /swiftshader|llvmpipe|cpu/i.test(text), timestamps };
}
