/**
 * `node server/dist/main.js`: configuration from the environment (and `.env` in the working
 * folder when there is one); stores every open document on SIGTERM/SIGINT.
 */
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";

const here = path.dirname(fileURLToPath(import.meta.url));

if (fs.existsSync(".env")) process.loadEnvFile(".env");

try {
  const config = loadConfig(process.env, {
    staticDir: process.env.STATIC_DIR ?? path.resolve(here, "../../demo-web/dist"),
  });
  const running = await startServer(config);
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal (Ctrl-C reaches both `npm start` and this process) must not cut the store short.
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, "stopping");
    running.close().then(
      () => process.exit(0),
      (error) => {
        running.logger.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`wbk-chat: configuration error: ${error.message}`);
    process.exit(1);
  }
  if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
    console.error(`wbk-chat: port ${process.env.PORT || 3000} is already in use; stop what uses it or set PORT`);
    process.exit(1);
  }
  throw error;
}
