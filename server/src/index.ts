export { startServer, type RunningServer } from "./server.js";
export { loadConfig, ConfigError, type ServerConfig } from "./config.js";
export { createLogger } from "./log.js";
