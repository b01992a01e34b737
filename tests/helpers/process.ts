/** The real server as a separate process (`server/src/main.ts` through tsx), for signal tests. */
import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { eventually } from "./users.js";

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal: NodeJS.Signals): Promise<number | null>;
}

const root = path.resolve(import.meta.dirname, "..", "..");

export async function spawnServer(env: Record<string, string>): Promise<ServerProcess> {
  const child = spawn(process.execPath, ["--conditions=wbk-source", "--import", "tsx", "server/src/main.ts"], {
    cwd: root,
    env: { ...process.env, PORT: "0", LOG_LEVEL: "info", STATIC_DIR: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const url = await eventually(() => {
    if (child.exitCode !== null) throw new Error(`the server exited: ${output}`);
    const match = output.match(/"url":"(http:\/\/127\.0\.0\.1:(\d+))"/);
    if (!match) throw new Error(`not listening yet: ${output}`);
    return match[1] as string;
  }, 30_000);
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => output,
    stop(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      child.kill(signal);
      return exited;
    },
  };
}

/**
 * The report CLI from source, as `npm run report` runs it from the build, on `dataDir`. REPORT_TZ
 * and RETENTION_DAYS start unset (the defaults) unless `env` sets them.
 */
export function reportCli(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ["--conditions=wbk-source", "--import", "tsx", "server/src/report.ts", ...args], {
    cwd: root,
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "", REPORT_TZ: "", RETENTION_DAYS: "", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => (stdout += chunk));
  child.stderr!.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}
