/** `node server/dist/main.js`: configuration from the environment, stores everything on SIGTERM/SIGINT. */
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ConfigError, loadConfig } from "./config.js";
import { startServer } from "./server.js";

const here = path.dirname(fileURLToPath(import.meta.url));

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
  throw error;
}
