/**
 * `thb transform-points transform.json POINTS.csv [--inverse] [--out FILE]`: maps physical points of the
 * fixed image's space to the moving image's (T(x) = A(x + u(x))), or back with --inverse (A⁻¹, then Newton
 * with the exact Jacobian). POINTS.csv holds d numbers per row (commas, semicolons, tabs or spaces between),
 * an optional header line; the output keeps the header and the separator, to stdout or FILE (written whole).
 * Points the inverse cannot reach (the transform folds there) come back as NaN, with a count on stderr.
 */
import { checkOutputPaths, writeFileAtomic } from "../io/node/atomicWrite.js";
import { InputError, readText } from "./readInput.js";
import { readTransformFile } from "./transformFile.js";

/** Options of the transform-points command, as commander parses them. */
export interface TransformPointsCommandOptions {
  inverse?: boolean;
  out?: string;
  quiet?: boolean;
}

/** Points read from a CSV: `#points by d`, the header line if there was one, and the separator. */
export interface PointsCsv {
  points: Float64Array;
  header?: string;
  separator: string;
}

/** Parses the points of a CSV with `d` columns; errors name the file, the line and the column. */
export function parsePointsCsv(text: string, d: number, path: string): PointsCsv {
  const lines = text.split(/\r?\n/);
  const values: number[] = [];
  let header: string | undefined;
  let separator = ",";
  let rows = 0;
  for (let l = 0; l < lines.length; l++) {
    const line = lines[l].trim();
    if (line === "" || line.startsWith("#")) continue;
    const cells = line.split(/\s*[,;\t]\s*|\s+/);
    if (rows === 0 && header === undefined && cells.every((c) => c === "" || !Number.isFinite(Number(c)))) {
      // a header: a first line none of whose cells is a number
      header = line;
      continue;
    }
    if (rows === 0)
      separator = line.includes(",") ? "," : line.includes(";") ? ";" : line.includes("\t") ? "\t" : " ";
    if (cells.length !== d)
      throw new InputError(
        `${path}:${l + 1}: ${cells.length} column${cells.length === 1 ? "" : "s"}, expected ${d} (x, y${d === 3 ? ", z" : ""} in mm: the transform is ${d}D)`,
      );
    for (let c = 0; c < d; c++) {
      const v = Number(cells[c]);
      if (cells[c] === "" || !Number.isFinite(v))
        throw new InputError(
          `${path}:${l + 1}: column ${c + 1} is ${JSON.stringify(cells[c])}, expected a finite number`,
        );
      values.push(v);
    }
    rows++;
  }
  if (rows === 0) throw new InputError(`${path}: no points, expected rows of ${d} numbers`);
  return { points: Float64Array.from(values), header, separator };
}

/** Runs the command; `write` receives the CSV when there is no --out. */
export function runTransformPoints(
  transformPath: string,
  pointsPath: string,
  options: TransformPointsCommandOptions,
  write: (text: string) => void = (text) => process.stdout.write(text),
  log: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): void {
  if (options.out !== undefined)
    checkOutputPaths(
      [{ option: "--out", path: options.out }],
      [
        { option: "TRANSFORM", path: transformPath },
        { option: "POINTS", path: pointsPath },
      ],
    );
  const transform = readTransformFile(transformPath);
  const d = transform.dimension;
  const csv = parsePointsCsv(readText(pointsPath), d, pointsPath);
  const mapped = options.inverse ? transform.inverseMapPoints(csv.points) : transform.mapPoints(csv.points);
  const rows: string[] = csv.header !== undefined ? [csv.header] : [];
  let unreached = 0;
  for (let p = 0; p < mapped.length / d; p++) {
    const row = Array.from(mapped.subarray(p * d, p * d + d));
    if (row.some(Number.isNaN)) unreached++;
    rows.push(row.map(String).join(csv.separator));
  }
  const text = `${rows.join("\n")}\n`;
  if (options.out !== undefined) writeFileAtomic(options.out, text);
  else write(text);
  if (unreached > 0 && !options.quiet)
    log(
      `thb: ${unreached} point${unreached === 1 ? "" : "s"} of ${pointsPath} have no preimage the inverse could reach (written as NaN)`,
    );
}
