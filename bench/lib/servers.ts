/**
 * The benchmark's servers, each its own child process (bench/servers/*.ts), and the guarantee
 * that none outlives the run: every child is stopped when the run ends, throws, or is
 * interrupted (Ctrl-C, SIGTERM), and a child whose parent disappears stops itself
 * (bench/servers/child.ts, on the IPC disconnect).
 */
import { fork, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerKind } from "./clients.js";

const SERVERS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "servers");
/** Workspace packages resolve to their TypeScript sources under this condition (as in the tests). */
export const NODE_ARGS = ["--conditions=wbk-source", "--import", "tsx"];

const ENTRY: Record<ServerKind, string> = {
  relay: "relay.ts",
  "y-websocket": "y-websocket.ts",
  hocuspocus: "hocuspocus.ts",
  wbk: "wbk.ts",
};

export interface ServerProcess {
  kind: ServerKind;
  pid: number;
  port: number;
  url: string;
  /** Stops the server (IPC disconnect, then SIGKILL after 10 s) and removes its data folder. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
const dataDirs = new Set<string>();
let cleanupInstalled = false;

/** Kills what is still running, synchronously (usable from an `exit` handler). */
function killAll(): void {
  for (const child of running) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
  running.clear();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
  dataDirs.clear();
}

/** Stops every server on exit and on SIGINT/SIGTERM (which then end this process too). */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      process.stderr.write(`\n${signal}: stopping the benchmark servers\n`);
      killAll();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

export interface StartOptions {
  /** Extra Node flags for this server (e.g. `--cpu-prof`). */
  execArgv?: string[];
}

export function startServer(kind: ServerKind, options: StartOptions = {}): Promise<ServerProcess> {
  installCleanup();
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), `wbk-bench-${kind}-`));
  dataDirs.add(dataDir);
  const child = fork(path.join(SERVERS_DIR, ENTRY[kind]), [dataDir], {
    execArgv: [...NODE_ARGS, ...(options.execArgv ?? [])],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  exited.then(() => running.delete(child));
  const stop = async () => {
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    fs.rmSync(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${kind} server did not start within 60 s`));
    }, 60_000);
    child.once("message", (message) => {
      clearTimeout(timer);
      const { port } = message as { port: number };
      resolve({ kind, pid: child.pid!, port, url: `http://127.0.0.1:${port}`, stop });
    });
    child.once("exit", (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${kind} server exited (${signal ?? code}) before it was listening`));
    });
  });
}
