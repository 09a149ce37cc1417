/**
 * `thb view`: serves the built viewer (dist/viewer) and exactly the files named on the command line on
 * 127.0.0.1. Nothing is looked up from a request's path: the server answers only the names in its table
 * (the viewer's files, ./files.json and /files/<n>/<name>), so no listing and no traversal are possible;
 * requests that try (`..`, encoded dots, backslashes, `//`) get 403.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { basename, dirname, extname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { fieldToJson } from "../io/serialization.js";
import { demoCloudPath, fitDemoCloud } from "./demo.js";
import { InputError } from "./readInput.js";

/** Options of `thb view`. */
export interface ViewOptions {
  points?: string;
  port?: string;
  open?: boolean;
}

/** A file the server hands out: its name in the page and its bytes. */
interface Served {
  name: string;
  bytes: Uint8Array;
}

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".xml": "application/xml; charset=utf-8",
};

const here = dirname(fileURLToPath(import.meta.url));

/** The built viewer: dist/viewer seen from cli/ (sources) or from dist/cli/ (the build). */
export function viewerDirectory(): string {
  const candidates = [join(here, "..", "dist", "viewer"), join(here, "..", "viewer")];
  const found = candidates.find(
    (dir) => existsSync(join(dir, "index.html")) && existsSync(join(dir, "main.js")),
  );
  if (!found) {
    throw new InputError(
      `the viewer is not built (looked in ${candidates.join(", ")}): run npm run viewer:build`,
    );
  }
  return found;
}

function readServed(path: string, option: string): Served {
  try {
    if (!statSync(path).isFile()) throw new InputError(`${option} ${path}: not a file`);
    return { name: basename(path), bytes: readFileSync(path) };
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new InputError(`${option} ${path}: cannot read (${code === "ENOENT" ? "no such file" : code})`);
  }
}

/** The demo's adaptive fit of the bundled deepdrawingC.xml, with its points. */
function demoFiles(log: (line: string) => void): Served[] {
  log(`No file given: fitting the demo's surface to ${demoCloudPath()} …`);
  const { cloudPath, fit } = fitDemoCloud();
  return [
    { name: "deepdrawingC-fit.json", bytes: new TextEncoder().encode(fieldToJson(fit.surface)) },
    readServed(cloudPath, "points"),
  ];
}

/** The routing table: URL path → bytes and content type. */
function routes(viewer: string, files: Served[]): Map<string, { bytes: Uint8Array; type: string }> {
  const table = new Map<string, { bytes: Uint8Array; type: string }>();
  for (const name of readdirSync(viewer)) {
    const path = join(viewer, name);
    if (statSync(path).isFile() && TYPES[extname(name)]) {
      table.set(`/${name}`, { bytes: readFileSync(path), type: TYPES[extname(name)] });
    }
  }
  table.set("/", table.get("/index.html") as { bytes: Uint8Array; type: string });
  const listing = files.map((file, i) => {
    const url = `/files/${i}/${encodeURIComponent(file.name)}`;
    table.set(url, { bytes: file.bytes, type: "application/octet-stream" });
    return { name: file.name, url: `.${url}` };
  });
  table.set("/files.json", {
    bytes: new TextEncoder().encode(JSON.stringify(listing)),
    type: TYPES[".json"],
  });
  return table;
}

/** Whether a request path tries to leave the table (dot segments, encoded or not; backslashes; `//`). */
function isTraversal(path: string): boolean {
  let decoded = path;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return true;
  }
  return /(^|[/\\])\.\.?([/\\]|$)/.test(decoded) || decoded.includes("\\") || decoded.startsWith("//");
}

/** A running viewer server. */
export interface ViewServer {
  server: Server;
  url: string;
  close(): Promise<void>;
}

/** Starts the server on 127.0.0.1:`port` (0: a free port) for `files`. */
export async function startViewServer(
  files: Served[],
  port: number,
  viewer = viewerDirectory(),
): Promise<ViewServer> {
  const table = routes(viewer, files);
  const handle = (request: IncomingMessage, response: ServerResponse) => {
    const target = request.url ?? "/";
    const path = target.split("?")[0];
    const headers = { "cache-control": "no-store", "x-content-type-options": "nosniff" };
    const refuse = (status: number, text: string) =>
      response
        .writeHead(status, { ...headers, "content-type": "text/plain; charset=utf-8" })
        .end(`${text}\n`);
    if (request.method !== "GET" && request.method !== "HEAD") return refuse(405, "method not allowed");
    const host = request.headers.host ?? "";
    if (!/^(127\.0\.0\.1|localhost)(:\d+)?$/.test(host)) return refuse(403, "forbidden host");
    if (isTraversal(path)) return refuse(403, "forbidden");
    const entry = table.get(path);
    if (!entry) return refuse(404, "not found");
    response.writeHead(200, { ...headers, "content-type": entry.type, "content-length": entry.bytes.length });
    response.end(request.method === "HEAD" ? undefined : entry.bytes);
  };
  const server = createServer(handle);
  await new Promise<void>((done, fail) => {
    server.once("error", (error: NodeJS.ErrnoException) =>
      fail(new InputError(`--port ${port}: cannot listen on 127.0.0.1 (${error.code ?? error.message})`)),
    );
    server.listen(port, "127.0.0.1", done);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const close = () =>
    new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    });
  return { server, url, close };
}

function parsePort(text: string | undefined): number {
  if (text === undefined) return 8765;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new InputError(`--port must be an integer from 0 to 65535 (0: a free port), got "${text}"`);
  }
  return port;
}

/**
 * Opens `url` in a browser: the command in BROWSER when set (as the convention has it: words split on
 * spaces, "%s" replaced by the URL, else the URL appended), otherwise the platform's opener.
 */
function openBrowser(url: string): void {
  const fromEnv = process.env.BROWSER?.trim().split(/\s+/).filter(Boolean);
  const [command, ...given] = fromEnv?.length
    ? fromEnv
    : [process.platform === "darwin" ? "open" : process.platform === "win32" ? "explorer" : "xdg-open"];
  const args = given.some((a) => a.includes("%s"))
    ? given.map((a) => a.replaceAll("%s", url))
    : [...given, url];
  const child = spawn(command, args, { detached: true, stdio: "ignore" });
  child.on("error", () =>
    process.stderr.write(`thb view: could not start ${command}; open ${url} yourself\n`),
  );
  child.unref();
}

/** Runs `thb view`: serves until SIGINT (Ctrl-C), then closes the server and returns. */
export async function runView(
  paths: string[],
  options: ViewOptions,
  log: (line: string) => void = console.log,
): Promise<void> {
  const port = parsePort(options.port);
  const viewer = viewerDirectory();
  const files = paths.map((path) => readServed(resolve(path), "file"));
  if (options.points) files.push(readServed(resolve(options.points), "--points"));
  const served = files.length > 0 ? files : demoFiles(log);
  const { url, close } = await startViewServer(served, port, viewer);
  log(`thb view: serving ${served.map((f) => f.name).join(", ")} at ${url} (Ctrl-C stops)`);
  if (options.open) openBrowser(url);
  await new Promise<void>((done) => process.once("SIGINT", () => done()));
  await close();
  log("thb view: stopped");
}
