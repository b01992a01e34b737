/**
 * wbk-chat itself, started the way the tests start it (`loadConfig` + `startServer`, port 0,
 * SQLite in the given folder) with every check on and the RATE_LIMIT_* limits off (0): the
 * benchmark writes far faster than one person does. Production defaults otherwise (store
 * debounce 2 s, request log on); LOG_LEVEL warn as in the tests.
 */
import { loadConfig, startServer } from "@wbk/server";
import { serving } from "./child.js";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: wbk.ts <data dir>");
const config = loadConfig({
  PORT: "0",
  DATA_DIR: dataDir,
  LOG_LEVEL: "warn",
  RATE_LIMIT_AUTH_PER_MIN: "0",
  RATE_LIMIT_MESSAGES_PER_MIN: "0",
  RATE_LIMIT_UPDATES_PER_MIN: "0",
  RATE_LIMIT_UPDATE_BYTES_PER_MIN: "0",
  RATE_LIMIT_UPLOADS_PER_HOUR: "0",
});
const server = await startServer(config);
serving(server.port, () => server.close());
