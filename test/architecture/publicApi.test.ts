/** The curated public API: the root entry names what the README documents, and no internals. */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as root from "../../index.js";
import * as node from "../../node.js";
import * as webgpu from "../../webgpu.js";

const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");

describe("public API", () => {
  it("exports every function and class the README's examples import or call from thbspline", () => {
    // names imported in the README's code blocks, and `ad.name` calls on `import * as ad from "thbspline"`
    const imported = [...readme.matchAll(/import \{([^}]*)\} from "thbspline"/g)].flatMap((m) =>
      m[1].split(",").map((s) => s.trim()),
    );
    const called = [...readme.matchAll(/\bad\.(\w+)\(/g)].map((m) => m[1]);
    const names = [...new Set([...imported, ...called])].filter(Boolean);
    expect(names.length).toBeGreaterThan(15);
    expect(names.filter((n) => !(n in root))).toEqual([]);
  });

  it("names the documented pieces and leaves internals to subpaths", () => {
    const documented = [
      "THBSpace",
      "THBField",
      "compile",
      "refineElements",
      "refineBoxes",
      "refineAtPoints",
      "coarsenElements",
      "thbOps",
      "thbGrid",
      "imageSampler",
      "jointHistogram",
      "mutualInformation",
      "normalizedCrossCorrelation",
      "valueAndGrad",
      "gradcheck",
      "defineOp",
      "minimize",
      "minimizeAsync",
      "scope",
      "dispose",
      "selectBackend",
      "cpuBackend",
      "fitSurface",
      "fitSurfaceAsync",
      "fieldToJson",
      "fieldFromJson",
      "parseGismoHierarchy",
      "writeGismoHierarchy",
      "HierarchyError",
      "FormatError",
      "ArgumentError",
      "OptimizationError",
      "DeviceTensorError",
    ];
    expect(documented.filter((n) => !(n in root))).toEqual([]);
    const internals = [
      "setDeviceExecutor",
      "upload",
      "STORAGE",
      "BufferPool",
      "surfacePlanCache",
      "thbForwardCpu",
      "deviceOf",
      "evaluateLocalField",
      "evaluateSurfaceField",
      "gpuEvaluate",
      "readPointCloud",
      "writeFileAtomic",
      "webgpuBackend",
    ];
    expect(internals.filter((n) => n in root)).toEqual([]);
    expect(Object.keys(root).length).toBeLessThan(120);
    expect(["readPointCloud", "writeFileAtomic", "meshToGlb"].filter((n) => !(n in node))).toEqual([]);
    expect(["webgpuBackend", "WebGpuTensors", "GpuPlan", "BufferPool"].filter((n) => !(n in webgpu))).toEqual(
      [],
    );
  });
});
