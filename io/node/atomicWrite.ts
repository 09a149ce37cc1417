/**
 * Writing files whole or not at all. A set of outputs is staged under temporary names beside their targets
 * and renamed into place only once every one is written; a failure removes the temporaries and puts back
 * whatever the targets held before. Paths are checked up front (checkOutputPaths), naming the option.
 */
import { randomBytes } from "node:crypto";
import {
  existsSync,
  linkSync,
  mkdirSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve, sep } from "node:path";
import { OutputError } from "../errors.js";

/** A path with the option (or argument) that named it, for messages: `--report`, `POINTS`. */
export interface NamedPath {
  option?: string;
  path: string;
}

/** One file of a set written together. */
export interface OutputFile extends NamedPath {
  data: string | Uint8Array;
}

function label(file: NamedPath): string {
  return file.option ? `${file.option}: ${file.path}` : file.path;
}

/** Nearest existing ancestor of an absolute path, and the components below it. */
function existingAncestor(absolute: string): { ancestor: string; rest: string[] } {
  const rest: string[] = [];
  let current = absolute;
  while (!existsSync(current)) {
    const parent = dirname(current);
    if (parent === current) break;
    rest.unshift(basename(current));
    current = parent;
  }
  return { ancestor: current, rest };
}

/** The real path a file has or would have (symbolic links in existing folders resolved). */
function realTarget(path: string): string {
  const { ancestor, rest } = existingAncestor(resolve(path));
  return join(realpathSync(ancestor), ...rest);
}

/** device:inode of an existing file (catches hard links), else undefined. */
function inode(path: string): string | undefined {
  try {
    const s = statSync(path);
    return `${s.dev}:${s.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * Checks output paths before any work: each names a file (not an existing folder, no trailing separator),
 * its nearest existing ancestor is a folder, no two outputs are the same file, and no output is one of the
 * inputs (compared by real path and by device and inode). Throws OutputError naming the option.
 */
export function checkOutputPaths(outputs: readonly NamedPath[], inputs: readonly NamedPath[] = []): void {
  const seen: { file: NamedPath; real: string; inode?: string }[] = [];
  const identities = inputs.map((file) => ({ file, real: realTarget(file.path), inode: inode(file.path) }));
  for (const file of outputs) {
    if (file.path === "" || file.path.endsWith(sep) || file.path.endsWith("/")) {
      throw new OutputError(`${label(file)} names a directory, expected a file path`);
    }
    const absolute = resolve(file.path);
    if (existsSync(absolute) && statSync(absolute).isDirectory()) {
      throw new OutputError(`${label(file)} is a directory, expected a file path`);
    }
    const { ancestor, rest } = existingAncestor(absolute);
    if (rest.length > 0 && !statSync(ancestor).isDirectory()) {
      throw new OutputError(`${label(file)}: ${ancestor} is not a directory`);
    }
    const identity = { file, real: realTarget(file.path), inode: inode(file.path) };
    const same = (other: { real: string; inode?: string }) =>
      other.real === identity.real || (identity.inode !== undefined && other.inode === identity.inode);
    const input = identities.find(same);
    if (input) {
      throw new OutputError(
        `${label(file)} is the input ${label(input.file)}; refusing to overwrite an input (choose another output path)`,
      );
    }
    const twin = seen.find(same);
    if (twin) {
      throw new OutputError(
        `${file.option ?? file.path} and ${twin.file.option ?? twin.file.path} both name ${file.path}; each output needs its own file`,
      );
    }
    seen.push(identity);
  }
}

function describe(error: unknown): string {
  const e = error as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/**
 * Writes every file or none: each is staged under a temporary name beside its target (folders created as
 * needed), then all are renamed into place. On any failure the temporaries and new folders are removed and
 * targets already replaced get their previous contents back (kept as hard links until the end).
 */
export function writeFilesAtomic(files: readonly OutputFile[]): void {
  const tag = randomBytes(6).toString("hex");
  const staged: { file: OutputFile; temporary: string; backup?: string; committed: boolean }[] = [];
  const createdFolders: string[] = [];
  try {
    for (const file of files) {
      const target = resolve(file.path);
      try {
        const created = mkdirSync(dirname(target), { recursive: true });
        if (created) createdFolders.push(created);
        const temporary = join(dirname(target), `.${basename(target)}.${tag}.tmp`);
        staged.push({ file, temporary, committed: false });
        writeFileSync(temporary, file.data);
      } catch (error) {
        throw new OutputError(`${label(file)}: cannot write (${describe(error)})`);
      }
    }
    for (const entry of staged) {
      const target = resolve(entry.file.path);
      if (existsSync(target)) {
        const backup = join(dirname(target), `.${basename(target)}.${tag}.old`);
        try {
          linkSync(target, backup);
          entry.backup = backup;
        } catch {
          // no hard links here (or no permission): the old contents cannot be put back, but writing goes on
        }
      }
      try {
        renameSync(entry.temporary, target);
        entry.committed = true;
      } catch (error) {
        if (entry.backup) rmSync(entry.backup, { force: true });
        entry.backup = undefined;
        throw new OutputError(
          `${label(entry.file)}: cannot write (${describe(error)}${existsSync(target) && statSync(target).isDirectory() ? ": is a directory" : ""})`,
        );
      }
    }
  } catch (error) {
    for (const entry of [...staged].reverse()) {
      const target = resolve(entry.file.path);
      try {
        if (entry.committed) {
          if (entry.backup) renameSync(entry.backup, target);
          else rmSync(target, { force: true });
        }
      } catch {
        // best effort: the error below still says what failed
      }
      rmSync(entry.temporary, { force: true });
      if (entry.backup) rmSync(entry.backup, { force: true });
    }
    for (const folder of createdFolders.reverse()) rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  for (const entry of staged) if (entry.backup) rmSync(entry.backup, { force: true });
}

/** Writes `data` to `path` atomically (temporary file + rename), creating the folder if needed. */
export function writeFileAtomic(path: string, data: string | Uint8Array): void {
  writeFilesAtomic([{ path, data }]);
}
