/**
 * `npm run report -- --week 2026-W48`: prints the stored report of that week (computing and
 * storing it first if the week is complete but not stored yet), the same JSON as
 * `GET /api/reports/weekly`. `--recompute` computes it again from the log tables (not the
 * rollups every other report reads) and stores it, refused once RETENTION_DAYS compacted that
 * week's rows. `--list` prints the stored weeks.
 * Reads the same configuration as the server (environment, `.env`) and opens its SQLite file.
 */
import fs from "node:fs";
import path from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { WbkError, parseWeekLabel } from "@wbk/shared";
import { ConfigError, loadConfig } from "./config.js";
import { createLogger } from "./log.js";
import { RecomputeRefused, ReportService } from "./reports/service.js";
import { sqliteStorage } from "./storage/sqlite/index.js";

const USAGE = `usage: npm run report -- --week <YYYY-Www | current> [--recompute]
       npm run report -- --list`;

function fail(message: string, code = 1): never {
  console.error(`wbk-chat report: ${message}`);
  process.exit(code);
}

let args;
try {
  args = parseArgs({
    options: { week: { type: "string" }, recompute: { type: "boolean" }, list: { type: "boolean" }, help: { type: "boolean" } },
  }).values;
} catch (error) {
  fail(`${(error as Error).message}\n${USAGE}`, 2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const week = args.week;
if (!args.list && week === undefined) fail(`--week is required\n${USAGE}`, 2);
if (week !== undefined && week !== "current" && !parseWeekLabel(week)) {
  fail(`"${week}" is not an ISO week like 2026-W48 (or "current")`, 2);
}
if (args.recompute && week === "current") fail("the current week is never stored; --recompute needs a complete week", 2);

if (fs.existsSync(".env")) process.loadEnvFile(".env");
let config;
try {
  config = loadConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fail(`configuration error: ${error.message}`);
  throw error;
}
const file = path.join(config.dataDir, "wbk.sqlite");
if (!fs.existsSync(file)) fail(`no database at ${file}; set DATA_DIR to the server's data folder`);

// Standard output carries only the JSON; log lines go to standard error, warnings unless asked.
const logger = createLogger(process.env.LOG_LEVEL ? config.logLevel : "warn", pino.destination(2));
const storage = sqliteStorage(file, { reportTimezone: config.reportTz });
const reports = new ReportService({
  storage,
  timezone: config.reportTz,
  retentionDays: config.retentionDays,
  now: Date.now,
  logger: logger.child({ module: "report-cli" }),
});
try {
  const output = args.list ? { weeks: reports.index() } : args.recompute ? reports.recompute(week!) : reports.get(week!);
  console.log(JSON.stringify(output, null, 2));
} catch (error) {
  if (!(error instanceof WbkError || error instanceof RecomputeRefused)) throw error;
  console.error(`wbk-chat report: ${error.message}`);
  process.exitCode = 1;
} finally {
  storage.close();
}
