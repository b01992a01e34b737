/** Starts the real server on port 0 with SQLite in a temporary folder; restarts on the same folder. */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createLogger, loadConfig, startServer, type RunningServer, type ServerConfig } from "@wbk/server";

export interface TestServer {
  url: string;
  dataDir: string;
  running: RunningServer;
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Sign-in, message and update rate limits are off unless `env` sets them: the suites sign up and write
 * far faster from 127.0.0.1 than people do. `logs` receives the server's log lines (JSON).
 */
export async function startTestServer(
  env: Record<string, string> = {},
  overrides: Partial<ServerConfig> = {},
  options: { logs?: Parameters<typeof createLogger>[1] } = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-test-"));
  const config = loadConfig(
    { PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", RATE_LIMIT_AUTH_PER_MIN: "0", RATE_LIMIT_MESSAGES_PER_MIN: "0", RATE_LIMIT_UPDATES_PER_MIN: "0", RATE_LIMIT_UPDATE_BYTES_PER_MIN: "0", ...env },
    { storeDebounceMs: 200, ...overrides },
  );
  const logger = createLogger(config.logLevel, options.logs);
  const server: TestServer = {
    url: "",
    dataDir,
    running: await startServer(config, { logger }),
    async restart() {
      await server.running.close();
      server.running = await startServer({ ...config, port: server.running.port }, { logger });
      server.url = server.running.url;
    },
    async stop() {
      await server.running.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  server.url = server.running.url;
  return server;
}
