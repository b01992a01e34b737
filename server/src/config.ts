/**
 * Configuration from environment variables (DESIGN.md "Configuration"). Every variable has a
 * working default; a wrong value stops the server at start with a message naming it.
 */
import path from "node:path";
import type { Limits } from "@wbk/shared";
import { DEFAULT_LIMITS } from "@wbk/shared";
import { checkCron } from "./reports/job.js";

export interface ServerConfig {
  port: number;
  host: string;
  dataDir: string;
  adminEmails: ReadonlySet<string>;
  /** Sliding session lifetime. */
  sessionTtlSeconds: number;
  /** A socket silent for this long is closed (Hocuspocus `timeout`). */
  wsIdleTimeoutMs: number;
  trustProxy: boolean;
  corsOrigins: readonly string[];
  limits: Limits;
  /** Documents one socket may have open at once; stops one client pinning every conversation in memory. */
  maxDocsPerSocket: number;
  maxConcurrentUploads: number;
  uploadExpiryHours: number;
  reportTz: string;
  reportCron: string;
  retentionDays: number | null;
  /** Sign-up, sign-in and password attempts a minute, per address and per account; stops password guessing. 0 = off. */
  rateLimitAuthPerMin: number;
  /** New messages a minute per user, on every path; stops one account flooding conversations. 0 = off. */
  rateLimitMessagesPerMin: number;
  rateLimitUpdatesPerMin: number;
  rateLimitUpdateBytesPerMin: number;
  /** Uploads a user may start an hour; stops one account filling the disk. 0 = off. */
  rateLimitUploadsPerHour: number;
  videoProbe: "ffprobe" | "structure" | null;
  metricsToken: string | null;
  logLevel: string;
  /** Folder of the built demo page served at `/`; null serves none. */
  staticDir: string | null;
  /** Debounce of snapshot writes (ms). */
  storeDebounceMs: number;
  /** Whether REST and tus requests are logged for the reports: always, except to measure its cost (bench W7). */
  requestLog: boolean;
  /**
   * The server's clock (ms), for every stored time: sessions, log rows, requests, reports.
   * Date.now when unset; tests inject one to make weeks of activity without waiting.
   */
  now?: () => number;
}

export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function int(env: Env, name: string, fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(name, `expected a whole number, got "${raw}"`);
  const value = Number(raw.trim());
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  return value;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === "") return fallback;
  if (["1", "true", "yes"].includes(raw)) return true;
  if (["0", "false", "no"].includes(raw)) return false;
  throw new ConfigError(name, `expected true or false, got "${env[name]}"`);
}

function list(env: Env, name: string): string[] {
  return (env[name] ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
}

const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

export function loadConfig(env: Env = process.env, overrides: Partial<ServerConfig> = {}): ServerConfig {
  const host = env.HOST?.trim() || "127.0.0.1";
  const reportTz = env.REPORT_TZ?.trim() || "UTC";
  try {
    new Intl.DateTimeFormat("en", { timeZone: reportTz });
  } catch {
    throw new ConfigError("REPORT_TZ", `unknown time zone "${reportTz}"`);
  }
  const reportCron = env.REPORT_CRON?.trim() || "5 0 * * 1";
  try {
    checkCron(reportCron, reportTz);
  } catch (error) {
    throw new ConfigError("REPORT_CRON", `"${reportCron}" is not a cron pattern (${(error as Error).message})`);
  }
  const logLevel = env.LOG_LEVEL?.trim() || "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError("LOG_LEVEL", `expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const probe = env.VIDEO_PROBE?.trim();
  if (probe && probe !== "ffprobe" && probe !== "structure") {
    throw new ConfigError("VIDEO_PROBE", `expected ffprobe or structure, got "${probe}"`);
  }
  const retention = env.RETENTION_DAYS?.trim() ? int(env, "RETENTION_DAYS", 0, 1) : null;
  const corsOrigins = list(env, "CORS_ORIGINS");
  for (const origin of corsOrigins) {
    if (!/^https?:\/\/[^/]+$/.test(origin)) throw new ConfigError("CORS_ORIGINS", `"${origin}" is not an origin like https://example.com`);
  }
  const config: ServerConfig = {
    port: int(env, "PORT", 3000, 0, 65535),
    host,
    dataDir: path.resolve(env.DATA_DIR?.trim() || "data"),
    adminEmails: new Set(list(env, "ADMIN_EMAILS").map((e) => e.toLowerCase())),
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 30 * 24 * 3600, 1),
    wsIdleTimeoutMs: int(env, "WS_IDLE_TIMEOUT_MS", 30_000, 1000),
    trustProxy: bool(env, "TRUST_PROXY", false),
    corsOrigins,
    limits: {
      maxVideoBytes: int(env, "MAX_VIDEO_BYTES", DEFAULT_LIMITS.maxVideoBytes, 1),
      maxUpdateBytes: int(env, "MAX_UPDATE_BYTES", DEFAULT_LIMITS.maxUpdateBytes, 1024),
      maxMessageChars: int(env, "MAX_MESSAGE_CHARS", DEFAULT_LIMITS.maxMessageChars, 1),
      maxBodyBytes: int(env, "MAX_BODY_BYTES", DEFAULT_LIMITS.maxBodyBytes, 1024),
    },
    maxDocsPerSocket: int(env, "MAX_DOCS_PER_SOCKET", 100, 1),
    maxConcurrentUploads: int(env, "MAX_CONCURRENT_UPLOADS", 3, 1),
    uploadExpiryHours: int(env, "UPLOAD_EXPIRY_HOURS", 24, 1),
    reportTz,
    reportCron,
    retentionDays: retention,
    rateLimitAuthPerMin: int(env, "RATE_LIMIT_AUTH_PER_MIN", 20),
    rateLimitMessagesPerMin: int(env, "RATE_LIMIT_MESSAGES_PER_MIN", 120),
    rateLimitUpdatesPerMin: int(env, "RATE_LIMIT_UPDATES_PER_MIN", 600),
    rateLimitUpdateBytesPerMin: int(env, "RATE_LIMIT_UPDATE_BYTES_PER_MIN", 1024 * 1024),
    rateLimitUploadsPerHour: int(env, "RATE_LIMIT_UPLOADS_PER_HOUR", 30),
    videoProbe: (probe as "ffprobe" | "structure" | undefined) ?? null,
    metricsToken: env.METRICS_TOKEN?.trim() || null,
    logLevel,
    staticDir: null,
    storeDebounceMs: 2000,
    requestLog: true,
  };
  return { ...config, ...overrides };
}
