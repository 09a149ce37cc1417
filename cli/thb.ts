#!/usr/bin/env node
/** The `thb` command: demo, and later basis probes, fitting and registration. */
import { Command } from "commander";
import { runBasis } from "./basis.js";
import { runDemo } from "./demo.js";

/** Builds the command-line program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command();
  program
    .name("thb")
    .description("THB-spline geometry engine: fitting, registration, basis probes")
    .version("0.1.0");
  program
    .command("demo")
    .description("evaluate bundled sample geometry and write meshes to an output folder")
    .option("--out <dir>", "output folder", "demo-out")
    .action((options: { out: string }) => {
      runDemo(options.out);
    });
  program
    .command("basis")
    .description("print the non-zero THB functions (values, first and second derivatives) at points, as JSON")
    .argument("<spec>", "SPEC.json: { degree, knots, truncated, boxes }")
    .requiredOption("--points <file>", "POINTS.json: an array of parameter tuples")
    .action((spec: string, options: { points: string }) => {
      runBasis(spec, options.points, (text) => process.stdout.write(text));
    });
  return program;
}

/** Runs the CLI; errors become a one-line message and exit code 1. */
export async function main(argv: string[]): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (error) {
    const e = error as Error;
    process.stderr.write(`thb: ${e.name && e.name !== "Error" ? `${e.name}: ` : ""}${e.message}\n`);
    process.exitCode = 1;
  }
}

const invokedDirectly = process.argv[1] && /thb\.(ts|js)$/.test(process.argv[1]);
if (invokedDirectly) await main(process.argv);
