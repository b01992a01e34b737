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
  const stop = (signal: string) => {
    running.logger.info({ signal }, "stopping");
    running.close().then(
      () => process.exit(0),
      (error) => {
        running.logger.error({ err: error }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", () => stop("SIGTERM"));
  process.once("SIGINT", () => stop("SIGINT"));
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(`wbk-chat: configuration error: ${error.message}`);
    process.exit(1);
  }
  throw error;
}
