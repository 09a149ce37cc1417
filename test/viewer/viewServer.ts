/** Starts `thb view` from the sources (tsx) as a child process, as a user would, and waits for its URL. */
import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A running `thb view`. */
export interface ViewProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  /** Sends SIGINT (Ctrl-C) and resolves with the exit code. */
  stop(): Promise<number | null>;
}

/** Runs `thb view ...args --port 0` and resolves once it prints its URL. */
export async function startView(
  args: string[],
  timeoutMs = 60_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ViewProcess> {
  const child = spawn(
    join(root, "node_modules", ".bin", "tsx"),
    [join(root, "cli", "thb.ts"), "view", ...args],
    {
      cwd: root,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let text = "";
  child.stdout?.on("data", (chunk) => {
    text += chunk;
  });
  child.stderr?.on("data", (chunk) => {
    text += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`thb view printed no URL in ${timeoutMs} ms:\n${text}`)),
      timeoutMs,
    );
    const check = () => {
      const match = text.match(/http:\/\/127\.0\.0\.1:\d+\//);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout?.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`thb view exited (${code}) before printing a URL:\n${text}`));
    });
  });
  return {
    child,
    url,
    output: () => text,
    stop: async () => {
      if (child.exitCode === null) child.kill("SIGINT");
      return exited;
    },
  };
}
