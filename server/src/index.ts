export { startServer, type RunningServer } from "./server.js";
export { loadConfig, ConfigError, type ServerConfig } from "./config.js";
export { createLogger } from "./log.js";
export { ReportService, RecomputeRefused } from "./reports/service.js";
export { nextRuns as nextReportRuns } from "./reports/job.js";
export { sqliteStorage } from "./storage/sqlite/index.js";
