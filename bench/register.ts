/**
 * `npm run bench:register [-- --runs N --only itk,3d,multimodal,local --timeout S --ours "ARGS"]`: the
 * registration acceptance pairs through native elastix, @itk-wasm/elastix (same parameter map) and ours
 * (`node dist/bin/thb.js register`, the bundled bin; run `npm run build` first), every program judged the same way from the
 * files it writes: MSE on the fixed file's scale, folding (det J ≤ 0), endpoint error against the known
 * displacement of the generated pairs, and wall time (median of N interleaved runs, process start included)
 * with CPU time (user + system, all threads; GNU time) beside it, the steadier number on a shared machine.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeImageFile, readImageFile } from "../io/node/imageFile.js";
import {
  endpointError,
  type KnownPair,
  localPair,
  multimodalPair,
  volumePair,
} from "../test/helpers/registrationPairs.js";
import { median, printTable } from "./harness.js";
import {
  bsplineMeanSquaresMap,
  ensureNativeElastix,
  meanSquaredError,
  type PeerRun,
  runNativeElastix,
  runOurs,
  runWasmElastix,
} from "./registration/peers.js";

const argv = process.argv.slice(2);
function flag(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < argv.length ? argv[i + 1] : fallback;
}
const runs = Number(flag("runs", "3"));
const timeout = Number(flag("timeout", "900"));
const only = new Set(flag("only", "itk,3d,multimodal,local").split(","));
// elastix's parameter map here is a B-spline transform alone (no affine stage): ours likewise by default
const oursArgs = flag("ours", "--initial none").split(" ").filter(Boolean);
if (!Number.isInteger(runs) || runs < 1)
  throw new Error(`--runs ${flag("runs", "")}: expected a positive integer`);

const loud = (line: string) => console.log(`\n*** ${line} ***`);
const work = mkdtempSync(join(tmpdir(), "thb-bench-register-"));
let outputs = 0;
const nextDir = (name: string) => join(work, `${name.replace(/^\W+|\W+$/g, "")}-${outputs++}`);

console.log(
  `thb register benchmark — node ${process.version}, ${process.arch}; wall times are medians of ${runs} interleaved runs, process start included`,
);
const native = ensureNativeElastix(loud);
if (!native) loud("native elastix cannot run here (apt-get failed): its rows are skipped");

/** A program of a comparison: its name and how to run it once into a fresh folder. */
interface Program {
  name: string;
  run: (dir: string) => Promise<PeerRun>;
}

/** Runs each program `runs` times, interleaved; keeps the last output of each and the median time. */
/** A program's last output with the median wall and CPU time of its runs. */
interface Measured {
  run: PeerRun;
  seconds: number;
  cpuSeconds?: number;
}

async function measure(programs: Program[]): Promise<Map<string, Measured | Error>> {
  const times = new Map<string, number[]>();
  const cpuTimes = new Map<string, number[]>();
  const last = new Map<string, PeerRun | Error>();
  for (let r = 0; r < runs; r++) {
    for (const p of programs) {
      if (last.get(p.name) instanceof Error) continue;
      try {
        const result = await p.run(nextDir(p.name.replace(/\W+/g, "-")));
        last.set(p.name, result);
        times.set(p.name, [...(times.get(p.name) ?? []), result.seconds]);
        if (result.cpuSeconds !== undefined)
          cpuTimes.set(p.name, [...(cpuTimes.get(p.name) ?? []), result.cpuSeconds]);
      } catch (error) {
        loud(`${p.name} could not run: ${(error as Error).message.split("\n")[0]}`);
        last.set(p.name, error as Error);
      }
    }
  }
  const out = new Map<string, Measured | Error>();
  for (const p of programs) {
    const result = last.get(p.name);
    if (result === undefined) continue;
    const cpu = cpuTimes.get(p.name);
    out.set(
      p.name,
      result instanceof Error
        ? result
        : {
            run: result,
            seconds: median(times.get(p.name) ?? []),
            cpuSeconds: cpu && cpu.length > 0 ? median(cpu) : undefined,
          },
    );
  }
  return out;
}

const mse = (x: number) => (x >= 10 ? x.toFixed(2) : x.toPrecision(3));
const percent = (x: number | undefined) => (x === undefined ? "n/a" : `${(100 * x).toFixed(3)} %`);

/** Writes a generated pair as float files of `extension`; returns their paths. */
async function writePair(pair: KnownPair, name: string, extension: string): Promise<[string, string]> {
  const fixed = join(work, `${name}-fixed${extension}`);
  const moving = join(work, `${name}-moving${extension}`);
  writeFileSync(fixed, await encodeImageFile(fixed, pair.fixed));
  writeFileSync(moving, await encodeImageFile(moving, pair.moving));
  return [fixed, moving];
}

/** native elastix, @itk-wasm/elastix and ours on one pair; one table. */
async function threeWay(
  title: string,
  fixedPath: string,
  movingPath: string,
  eightBit: boolean,
  pair: KnownPair | undefined,
): Promise<void> {
  const fixed = (await readImageFile(fixedPath)).image;
  const d = fixed.size.length;
  const map = bsplineMeanSquaresMap(d);
  const programs: Program[] = [];
  if (native)
    programs.push({
      name: "native elastix 5 (2 threads)",
      run: (dir) => runNativeElastix(fixedPath, movingPath, map, dir, timeout, true),
    });
  programs.push({
    name: "@itk-wasm/elastix",
    run: (dir) => runWasmElastix(fixedPath, movingPath, map, dir, timeout),
  });
  programs.push({
    name: `thb register ${oursArgs.join(" ")}`.trim(),
    run: (dir) => runOurs(fixedPath, movingPath, dir, oursArgs, timeout),
  });
  const results = await measure(programs);
  const reference = results.get(programs[0].name);
  const referenceSeconds =
    native && reference && !(reference instanceof Error) ? reference.seconds : undefined;
  const rows: string[][] = [];
  const before = meanSquaredError(fixed, (await readImageFile(movingPath)).image, eightBit);
  for (const p of programs) {
    const r = results.get(p.name);
    if (!r || r instanceof Error) {
      rows.push([p.name, "failed", "", "", "", "", ""]);
      continue;
    }
    const epe = pair && r.run.map ? endpointError(pair, r.run.map, d === 3 ? 2 : 1) : undefined;
    rows.push([
      p.name,
      mse(meanSquaredError(fixed, r.run.warped, eightBit)),
      percent(r.run.folding),
      epe ? `${epe.mm.toFixed(2)} mm / ${epe.voxels.toFixed(2)} vx` : "n/a",
      `${r.seconds.toFixed(2)} s`,
      referenceSeconds ? `${(r.seconds / referenceSeconds).toFixed(2)}×` : "n/a",
      r.cpuSeconds === undefined ? "n/a" : `${r.cpuSeconds.toFixed(2)} s`,
    ]);
  }
  printTable(
    `${title} — MSE before ${before.toFixed(1)}`,
    ["program", "MSE", "folding", "endpoint error (inside)", "wall", "vs native", "CPU (user+sys)"],
    rows,
  );
}

if (only.has("itk")) {
  await threeWay(
    "ITK pair (BrainProtonDensitySliceBorder20 ← BSplined10, 221×257 PNG, 0–255): B-spline, mean squares, 3 resolutions, 16 mm grid",
    "examples/data/BrainProtonDensitySliceBorder20.png",
    "examples/data/BrainProtonDensitySliceBSplined10.png",
    true,
    undefined,
  );
}

if (only.has("3d")) {
  const pair = volumePair();
  const [fixed, moving] = await writePair(pair, "volume", ".nii.gz");
  const epe = endpointError(pair, (p) => p, 2);
  await threeWay(
    `3D phantom ${pair.fixed.size.join("×")} voxels of ${pair.fixed.spacing.join("×")} mm (.nii.gz), known displacement (mean ${epe.mm.toFixed(2)} mm inside the object)`,
    fixed,
    moving,
    false,
    pair,
  );
}

/** Ours with several argument lists on one generated pair: MSE, endpoint error, DOFs and time. */
async function oursVariants(
  title: string,
  pair: KnownPair,
  name: string,
  variants: { label: string; args: string[] }[],
  peers: (fixed: string, moving: string) => Program[] = () => [],
): Promise<void> {
  const [fixed, moving] = await writePair(pair, name, ".mha");
  const programs: Program[] = [
    ...variants.map((v) => ({
      name: v.label,
      run: (dir: string) => runOurs(fixed, moving, dir, v.args, timeout),
    })),
    ...peers(fixed, moving),
  ];
  const results = await measure(programs);
  const rows: string[][] = [];
  for (const p of programs) {
    const r = results.get(p.name);
    if (!r || r instanceof Error) {
      rows.push([p.name, "failed", "", "", "", ""]);
      continue;
    }
    const epe = r.run.map ? endpointError(pair, r.run.map) : undefined;
    rows.push([
      p.name,
      meanSquaredError(pair.fixed, r.run.warped, false).toExponential(3),
      epe ? `${epe.mm.toFixed(3)} px` : "n/a",
      String(r.run.notes.dofs ?? "n/a"),
      percent(r.run.folding),
      `${r.seconds.toFixed(2)} s`,
    ]);
  }
  const before = endpointError(pair, (p) => p);
  printTable(
    `${title} — MSE before ${meanSquaredError(pair.fixed, pair.moving, false).toExponential(3)}, endpoint error before ${before.mm.toFixed(3)} px`,
    ["run", "MSE", "endpoint error (inside)", "final DOFs", "folding", "wall"],
    rows,
  );
}

/** Native elastix with the reference map but another metric. */
function elastixWith(metric: string, fixed: string, moving: string): Program {
  return {
    name: `native elastix, ${metric}`,
    run: (dir) => runNativeElastix(fixed, moving, bsplineMeanSquaresMap(2, metric), dir, timeout, true),
  };
}

if (only.has("multimodal")) {
  await oursVariants(
    "Multimodal 2D phantom 128² (non-monotone intensity map + smooth warp)",
    multimodalPair(),
    "multimodal",
    [
      { label: "thb register --metric mi", args: ["--metric", "mi"] },
      { label: "thb register --metric ssd", args: ["--metric", "ssd"] },
    ],
    (fixed, moving) =>
      native
        ? [
            elastixWith("AdvancedMattesMutualInformation", fixed, moving),
            elastixWith("AdvancedMeanSquares", fixed, moving),
          ]
        : [],
  );
}

if (only.has("local")) {
  const pair = localPair(3, [256, 256], 16);
  await oursVariants(
    "Local 2D phantom 256² (deformation confined to a disc of radius 16 px)",
    pair,
    "local",
    [
      {
        label: "--refine uniform --levels 4 --grid 8",
        args: ["--refine", "uniform", "--levels", "4", "--grid", "8"],
      },
      {
        label: "--refine adaptive --levels 4 --grid 8",
        args: ["--refine", "adaptive", "--levels", "4", "--grid", "8"],
      },
      {
        label: "--refine adaptive --levels 5 --grid 4",
        args: ["--refine", "adaptive", "--levels", "5", "--grid", "4"],
      },
    ],
  );
}

rmSync(work, { recursive: true, force: true });
