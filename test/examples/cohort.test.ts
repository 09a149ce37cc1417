/**
 * The cohort examples (examples/cohort): the scripts are valid bash (bash -n), the Kubernetes manifest is
 * valid YAML for an indexed Job with one completion per pair, the Slurm array covers every pair, and the
 * index → pair mapping really runs: the per-task script, the Slurm script (SLURM_ARRAY_TASK_ID) and the
 * manifest's own command line (JOB_COMPLETION_INDEX, paths mapped to this checkout) each register the
 * bundled pair of their index into its own folder; an index past the list fails with a message.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const root = resolve(".");
const cohort = join(root, "examples", "cohort");
const pairs = readFileSync(join(cohort, "pairs.txt"), "utf8")
  .split("\n")
  .filter((l) => l.trim() !== "" && !l.trim().startsWith("#"))
  .map((l) => l.trim().split(/\s+/));
// cheap runs: the mapping is under test, not the registration
const env = {
  ...process.env,
  THB: "npx tsx cli/thb.ts",
  THB_REGISTER_OPTIONS: "--levels 1 --iterations 2 --initial none",
};
const python = spawnSync("python3", ["-c", "import yaml"]).status === 0;

describe("examples/cohort", () => {
  it("scripts pass bash -n; the Slurm array spans the pairs", () => {
    for (const script of ["run-pair.sh", "slurm-array.sbatch"]) {
      const check = spawnSync("bash", ["-n", join(cohort, script)], { encoding: "utf8" });
      expect(check.stderr, script).toBe("");
      expect(check.status, script).toBe(0);
    }
    expect(pairs.length).toBeGreaterThanOrEqual(2);
    for (const [fixed, moving, name] of pairs) {
      expect(existsSync(join(root, fixed)), fixed).toBe(true);
      expect(existsSync(join(root, moving)), moving).toBe(true);
      expect(name).toMatch(/^[\w.-]+$/);
    }
    expect(new Set(pairs.map((p) => p[2])).size).toBe(pairs.length); // each pair its own folder
    const sbatch = readFileSync(join(cohort, "slurm-array.sbatch"), "utf8");
    expect(sbatch).toMatch(new RegExp(`^#SBATCH --array=0-${pairs.length - 1}$`, "m"));
  });

  it.skipIf(!python)(
    "the manifest is an indexed Job with one completion per pair (YAML parsed by PyYAML)",
    () => {
      const parsed = spawnSync(
        "python3",
        [
          "-c",
          "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
          join(cohort, "k8s-indexed-job.yaml"),
        ],
        { encoding: "utf8" },
      );
      expect(parsed.stderr).toBe("");
      const job = JSON.parse(parsed.stdout);
      expect(job.apiVersion).toBe("batch/v1");
      expect(job.kind).toBe("Job");
      expect(job.spec.completionMode).toBe("Indexed");
      expect(job.spec.completions).toBe(pairs.length);
      expect(job.spec.template.spec.restartPolicy).toBe("Never");
      const command = job.spec.template.spec.containers[0].command;
      expect(command.slice(0, 2)).toEqual(["bash", "-c"]);
      expect(command[2]).toContain('"$JOB_COMPLETION_INDEX"');
    },
  );

  it("each scheduler's index registers its own pair into its own folder; past the list it fails", () => {
    const out = mkdtempSync(join(tmpdir(), "thb-cohort-"));
    // the per-task script, index 0
    const direct = spawnSync(join(cohort, "run-pair.sh"), [join(cohort, "pairs.txt"), "0", out], {
      env,
      encoding: "utf8",
      cwd: root,
    });
    expect(direct.status, direct.stderr).toBe(0);
    // the Slurm script, task 1
    const slurm = spawnSync("bash", [join(cohort, "slurm-array.sbatch")], {
      env: { ...env, SLURM_ARRAY_TASK_ID: "1", SLURM_SUBMIT_DIR: root, OUT_ROOT: join(out, "slurm") },
      encoding: "utf8",
      cwd: root,
    });
    expect(slurm.status, slurm.stderr).toBe(0);
    for (const [folder, index] of [
      [out, 0],
      [join(out, "slurm"), 1],
    ] as const) {
      const summary = JSON.parse(readFileSync(join(folder, pairs[index][2], "summary.json"), "utf8"));
      expect(summary.fixed).toBe(pairs[index][0]);
      expect(summary.moving).toBe(pairs[index][1]);
    }
    // the manifest's command line, with its volumes mapped to this checkout and index 1
    if (python) {
      const manifest = readFileSync(join(cohort, "k8s-indexed-job.yaml"), "utf8");
      const line = manifest.match(/- (exec bash \/scripts\/run-pair\.sh .*)$/m)?.[1];
      expect(line).toBeDefined();
      const local = line!
        .replace("/scripts/", `${cohort}/`)
        .replace("/data/", `${root}/`)
        .replace(/\/results$/, join(out, "k8s"));
      const k8s = spawnSync("bash", ["-c", local], {
        env: { ...env, JOB_COMPLETION_INDEX: "1" },
        encoding: "utf8",
        cwd: root,
      });
      expect(k8s.status, k8s.stderr).toBe(0);
      expect(JSON.parse(readFileSync(join(out, "k8s", pairs[1][2], "summary.json"), "utf8")).fixed).toBe(
        pairs[1][0],
      );
    }
    // a rerun of a finished pair is skipped; an index past the list fails naming the list
    const again = spawnSync(join(cohort, "run-pair.sh"), [join(cohort, "pairs.txt"), "0", out], {
      env,
      encoding: "utf8",
      cwd: root,
    });
    expect(again.status).toBe(0);
    expect(again.stdout).toMatch(/pair 0 \(brain-pd\) already done/);
    const past = spawnSync(
      join(cohort, "run-pair.sh"),
      [join(cohort, "pairs.txt"), String(pairs.length), out],
      { env, encoding: "utf8" },
    );
    expect(past.status).toBe(1);
    expect(past.stderr).toMatch(
      new RegExp(`pairs\\.txt has ${pairs.length} pairs, no pair with index ${pairs.length}`),
    );
  });
});
