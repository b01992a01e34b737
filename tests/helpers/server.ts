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

export async function startTestServer(
  env: Record<string, string> = {},
  overrides: Partial<ServerConfig> = {},
): Promise<TestServer> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-test-"));
  const config = loadConfig({ PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "warn", ...env }, { storeDebounceMs: 200, ...overrides });
  const logger = createLogger(config.logLevel);
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
