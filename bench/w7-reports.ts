/**
 * Issue W7: what the weekly report and the request log cost.
 *
 * 1. Report: one week of realistic activity (~50 users, ~200 conversations, 1,000,000
 *    update-log rows and 1,000,000 request-log rows; 100,000 + 100,000 with BENCH_QUICK=1),
 *    written through the real storage layer; then the week's report, computed the way the
 *    server computes `?week=current` (ReportService), against a plain `SELECT count(*)` of both
 *    logs in the same run. Target: report ≤ 3 × count.
 * 2. Request log: `GET /api/me` requests/s from concurrent keep-alive clients against the real
 *    server (in a child process, so clients and server do not share an event loop), with the
 *    request log on and off. Target: on ≥ 0.95 × off.
 *
 * Run: `npx tsx bench/w7-reports.ts` (BENCH_QUICK=1 for the small size). Prints a markdown
 * table and writes bench/results/w7-<timestamp>.json. Timings only: nothing here asserts.
 */
import { fork, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { seededRandom } from "../tests/helpers/random.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "..");
/** Workspace packages resolve to their TypeScript sources under this condition (as in the tests). */
const NODE_ARGS = ["--conditions=wbk-source", "--import", "tsx"];

const DAY_MS = 86_400_000;
const WEEK = "2026-W10";
/** Monday 2026-03-02 00:00 UTC, the first instant of WEEK in REPORT_TZ (UTC here). */
const WEEK_FROM = Date.parse("2026-03-02T00:00:00.000Z");
const TIMEZONE = "UTC";
const RUNS = 5;

export interface Result {
  name: "w7-reports";
  quick: boolean;
  startedAt: string;
  machine: { cpus: number; node: string; platform: string };
  data: { users: number; conversations: number; updateRows: number; requestRows: number; messages: number; videos: number; fillMs: number };
  report: {
    week: string;
    /** Median ms of RUNS runs after one warm-up. */
    reportMs: number;
    countMs: number;
    ratio: number;
    target: number;
    reportRuns: number[];
    countRuns: number[];
  };
  requestLog: {
    clients: number;
    durationMs: number;
    /** Requests per second, median of the alternating rounds. */
    onRps: number;
    offRps: number;
    ratio: number;
    target: number;
    rounds: Array<{ requestLog: boolean; rps: number }>;
  };
}

// ---------------------------------------------------------------------------------------------
// Seeded data

/** mulberry32: small, fast, good enough to spread benchmark rows. */
function prng(seed: number) {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  /** Index drawn with the given weights (cumulative table). */
  const weighted = (cumulative: readonly number[]) => {
    const x = next() * cumulative[cumulative.length - 1]!;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! > x) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  const exp = (mean: number) => -Math.log(1 - next()) * mean;
  return { next, int, weighted, exp };
}

const cumulate = (weights: readonly number[]) => {
  let sum = 0;
  return weights.map((w) => (sum += w));
};

/** People chat in the day and the evening: relative activity per UTC hour. */
const HOUR_WEIGHTS = cumulate([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 3, 5, 6, 6, 6, 7, 6, 6, 6, 6, 7, 8, 9, 9, 8, 5, 2]);
/** Weekends are a little quieter. */
const DAY_WEIGHTS = cumulate([1, 1, 1, 1, 1, 0.8, 0.7]);

/** An instant in the week, following the daily and hourly rhythm. */
function activeInstant(rng: ReturnType<typeof prng>): number {
  return WEEK_FROM + rng.weighted(DAY_WEIGHTS) * DAY_MS + rng.weighted(HOUR_WEIGHTS) * 3_600_000 + rng.int(3_600_000);
}

/** The kinds of update, with their share of the log (server stamps have no user). */
const UPDATE_KINDS: ReadonlyArray<{ actions: string[]; weight: number; newMessage?: true; server?: true }> = [
  { actions: ["message.sent"], weight: 31, newMessage: true },
  { actions: ["message.sent", "read.updated"], weight: 4, newMessage: true },
  { actions: ["server.stamp"], weight: 15, server: true },
  { actions: ["read.updated"], weight: 30 },
  { actions: ["reaction.set"], weight: 12 },
  { actions: ["message.edited"], weight: 5 },
  { actions: ["message.deleted"], weight: 2 },
  { actions: ["reaction.set", "read.updated"], weight: 1 },
];
const UPDATE_KIND_WEIGHTS = cumulate(UPDATE_KINDS.map((k) => k.weight));

/** REST and tus routes with their share of the request log; `anonymous` is the share made without a session. */
const ROUTES: ReadonlyArray<{ method: string; route: string; weight: number; anonymous?: number }> = [
  { method: "GET", route: "/api/conversations/:id/sync", weight: 30 },
  { method: "POST", route: "/api/conversations/:id/sync", weight: 14 },
  { method: "GET", route: "/api/conversations/:id/messages", weight: 14 },
  { method: "POST", route: "/api/conversations/:id/messages", weight: 9 },
  { method: "GET", route: "/api/conversations", weight: 10 },
  { method: "GET", route: "/api/me", weight: 5, anonymous: 0.05 },
  { method: "GET", route: "/api/config", weight: 4, anonymous: 0.6 },
  { method: "GET", route: "/api/conversations/:id/search", weight: 2 },
  { method: "GET", route: "/api/videos/:videoId", weight: 4 },
  { method: "PATCH", route: "/api/uploads/:id", weight: 3 },
  { method: "POST", route: "/api/uploads", weight: 0.5 },
  { method: "HEAD", route: "/api/uploads/:id", weight: 0.5 },
  { method: "POST", route: "/api/auth/login", weight: 1, anonymous: 0.3 },
  { method: "POST", route: "/api/conversations/:id/members", weight: 0.3 },
  { method: "GET", route: "/api/reports/weekly", weight: 0.2 },
  { method: "GET", route: "/api/*", weight: 0.5, anonymous: 0.5 },
];
const ROUTE_WEIGHTS = cumulate(ROUTES.map((r) => r.weight));

// ---------------------------------------------------------------------------------------------
// Filling the database through the storage layer

type Storage = import("../server/src/storage/types.js").Storage;
type Ids = { users: string[]; conversations: Array<{ id: string; members: string[] }> };

const ROWS_PER_TRANSACTION = 20_000;

export async function fill(storage: Storage, updateRows: number, requestRows: number) {
  const rng = prng(0x57);
  const users = 50;
  const conversations = 200;
  const ids: Ids = { users: [], conversations: [] };
  const uid = (i: number) => `user${String(i).padStart(3, "0")}` as never;

  // Most accounts and conversations are older than the week; a few are made in its first hours.
  storage.transaction(() => {
    for (let i = 0; i < users; i++) {
      const createdAt = i < 45 ? WEEK_FROM - 30 * DAY_MS + i * 60_000 : WEEK_FROM + rng.int(6 * 3_600_000);
      storage.users.create({ id: uid(i), email: `user${i}@bench.example`, displayName: `User ${i}`, passwordHash: "-", createdAt });
      ids.users.push(uid(i));
    }
    // Popular people are in more conversations, and do more (a Zipf-like weight).
    const userWeights = cumulate(ids.users.map((_, i) => 1 / (1 + i) ** 0.7));
    for (let c = 0; c < conversations; c++) {
      const size = 2 + Math.min(10, Math.floor(rng.exp(2)));
      const members = new Set<string>();
      while (members.size < size) members.add(ids.users[rng.weighted(userWeights)]!);
      const [creator, ...others] = [...members];
      const id = `conv${String(c).padStart(4, "0")}`;
      const createdAt = c < 180 ? WEEK_FROM - 20 * DAY_MS + c * 60_000 : WEEK_FROM + rng.int(12 * 3_600_000);
      storage.conversations.create(
        { id: id as never, title: `Conversation ${c}`, createdAt, createdBy: creator as never, lastMessageAt: null },
        [creator, ...others] as never[],
      );
      ids.conversations.push({ id, members: [...members] });
    }
  });

  // Update log: conversations light up in bursts (a few members talking for a few minutes),
  // busy ones far more often; the bursts follow the daily rhythm.
  const conversationWeights = cumulate(ids.conversations.map((_, i) => 1 / (1 + i) ** 0.9));
  const meanBurst = 24;
  const bursts = Array.from({ length: Math.ceil(updateRows / meanBurst) }, () => activeInstant(rng)).sort((a, b) => a - b);
  let written = 0;
  let messages = 0;
  let videos = 0;
  const update = new Uint8Array(120).map((_, i) => i);
  let burst = 0;
  while (written < updateRows) {
    storage.transaction(() => {
      const stop = Math.min(updateRows, written + ROWS_PER_TRANSACTION);
      while (written < stop) {
        const conversation = ids.conversations[rng.weighted(conversationWeights)]!;
        const talkers = conversation.members.filter(() => rng.next() < 0.6);
        if (talkers.length === 0) talkers.push(conversation.members[0]!);
        let t = Math.min(bursts[burst++ % bursts.length]!, WEEK_FROM + 7 * DAY_MS - 3_600_000);
        const length = Math.min(stop - written, 1 + Math.floor(rng.exp(meanBurst - 1)));
        for (let i = 0; i < length; i++) {
          t += Math.floor(rng.exp(8_000));
          const kind = UPDATE_KINDS[rng.weighted(UPDATE_KIND_WEIGHTS)]!;
          const userId = kind.server ? null : talkers[rng.int(talkers.length)]!;
          const newMessages = kind.newMessage ? [{ messageId: `m${messages++}`, authorId: userId as never }] : [];
          storage.log.append({
            conversationId: conversation.id as never,
            userId: userId as never,
            clientId: userId ? 1000 + ids.users.indexOf(userId) : 1,
            serverTime: t,
            update,
            actions: kind.actions as never,
            bindings: new Map(),
            newMessages,
          });
          written++;
          // Now and then a member shares a video (an upload that finishes a minute later).
          if (kind.newMessage && rng.next() < 0.004 && userId) {
            const id = `video${videos++}` as never;
            const upload = { id, conversationId: conversation.id as never, userId: userId as never, filename: "clip.mp4", claimedType: "video/mp4" };
            const size = 1_000_000 + rng.int(50_000_000);
            storage.videos.createUpload({ ...upload, size, createdAt: t }, 1_000_000);
            storage.videos.finish({
              id,
              conversationId: upload.conversationId,
              uploaderId: upload.userId,
              filename: upload.filename,
              mime: "video/mp4",
              codec: "h264",
              size,
              durationMs: 10_000,
              sha256: "0".repeat(64),
              createdAt: t + 60_000,
            });
          }
        }
      }
    });
  }

  // A handful of members added during the week.
  storage.transaction(() => {
    for (let i = 0; i < 40; i++) {
      const conversation = ids.conversations[rng.int(ids.conversations.length)]!;
      const user = ids.users[rng.int(ids.users.length)]!;
      storage.conversations.addMember(conversation.id as never, user as never, activeInstant(rng), conversation.members[0] as never);
    }
  });

  // Request log: each signed-in session makes a run of requests a few seconds apart.
  const userWeights = cumulate(ids.users.map((_, i) => 1 / (1 + i) ** 0.7));
  let requests = 0;
  while (requests < requestRows) {
    storage.transaction(() => {
      const stop = Math.min(requestRows, requests + ROWS_PER_TRANSACTION);
      let batch: Parameters<Storage["requestLog"]["append"]>[0][number][] = [];
      while (requests < stop) {
        const userId = ids.users[rng.weighted(userWeights)]!;
        let t = Math.min(activeInstant(rng), WEEK_FROM + 7 * DAY_MS - 3_600_000);
        const length = Math.min(stop - requests, 1 + Math.floor(rng.exp(40)));
        for (let i = 0; i < length; i++) {
          t += Math.floor(rng.exp(6_000));
          requests++;
          if (rng.next() < 0.01) {
            const kind = rng.next() < 0.5 ? "socket.connect" : "socket.disconnect";
            batch.push({ at: t, kind, userId: userId as never, method: null, route: "/collab", status: null, durationMs: null, bytesIn: null, bytesOut: null });
            continue;
          }
          const route = ROUTES[rng.weighted(ROUTE_WEIGHTS)]!;
          const anonymous = rng.next() < (route.anonymous ?? 0.01);
          const status = anonymous && route.route !== "/api/config" ? 401 : rng.next() < 0.97 ? 200 : 404;
          batch.push({
            at: t,
            kind: "http",
            userId: anonymous ? null : (userId as never),
            method: route.method,
            route: route.route,
            status,
            durationMs: rng.int(30),
            bytesIn: route.method === "GET" ? null : rng.int(2000),
            bytesOut: 200 + rng.int(4000),
          });
          // The server writes in batches of up to 500 rows.
          if (batch.length === 500) {
            storage.requestLog.append(batch);
            batch = [];
          }
        }
      }
      storage.requestLog.append(batch);
    });
  }
  return { users, conversations, messages, videos };
}

// ---------------------------------------------------------------------------------------------
// Measuring

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

function time(fn: () => unknown): number {
  const started = performance.now();
  fn();
  return performance.now() - started;
}

/** One warm-up, then RUNS timed runs, alternating the two so neither gets a warmer cache. */
function compare(a: () => unknown, b: () => unknown) {
  a();
  b();
  const aRuns: number[] = [];
  const bRuns: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    aRuns.push(time(a));
    bRuns.push(time(b));
  }
  return { aRuns, bRuns };
}

async function measureReport(quick: boolean, dir: string): Promise<Pick<Result, "data" | "report">> {
  const { sqliteStorage } = await import("../server/src/storage/sqlite/index.js");
  const { ReportService } = await import("../server/src/reports/service.js");
  const { createLogger } = await import("../server/src/log.js");
  const { default: Database } = await import("better-sqlite3");

  const updateRows = quick ? 100_000 : 1_000_000;
  const requestRows = quick ? 100_000 : 1_000_000;
  const file = path.join(dir, "wbk.sqlite");
  const storage = sqliteStorage(file, { reportTimezone: TIMEZONE });
  const started = performance.now();
  const filled = await fill(storage, updateRows, requestRows);
  const fillMs = performance.now() - started;

  // The live report of the week as it stands at its last millisecond: the path `?week=current`
  // takes, with no write (a stored week would be served from the reports table instead).
  const reports = new ReportService({
    storage,
    timezone: TIMEZONE,
    retentionDays: null,
    now: () => WEEK_FROM + 7 * DAY_MS - 1,
    logger: createLogger("silent"),
  });
  const counter = new Database(file, { readonly: true });
  const countUpdates = counter.prepare("SELECT count(*) AS n FROM update_log").pluck();
  const countRequests = counter.prepare("SELECT count(*) AS n FROM request_log").pluck();
  let checked = false;
  const { aRuns: reportRuns, bRuns: countRuns } = compare(
    () => {
      const report = reports.get("current");
      if (!checked && report.week !== WEEK) throw new Error(`computed ${report.week}, not ${WEEK}`);
      checked = true;
    },
    () => {
      const n = (countUpdates.get() as number) + (countRequests.get() as number);
      if (n !== updateRows + requestRows) throw new Error(`counted ${n} rows`);
    },
  );
  counter.close();
  storage.close();
  const reportMs = median(reportRuns);
  const countMs = median(countRuns);
  return {
    data: { ...filled, updateRows, requestRows, fillMs: Math.round(fillMs) },
    report: {
      week: WEEK,
      reportMs: round(reportMs),
      countMs: round(countMs),
      ratio: round(reportMs / countMs),
      target: 3,
      reportRuns: reportRuns.map((n) => round(n)),
      countRuns: countRuns.map((n) => round(n)),
    },
  };
}

/** Starts the real server in a child process (this file with --serve); resolves its port. */
function startServerProcess(dataDir: string, requestLog: boolean): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(HERE, ["--serve", dataDir, requestLog ? "on" : "off"], { execArgv: NODE_ARGS, stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("message", (message) => resolve({ child, port: (message as { port: number }).port }));
    child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
  });
}

/** The child's side: the server as `npm start` builds it, on port 0, request log as asked. */
async function serve(dataDir: string, requestLog: boolean) {
  const { loadConfig, startServer } = await import("../server/src/index.js");
  const config = loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: "silent" }, { port: 0, requestLog });
  const server = await startServer(config);
  process.send?.({ port: server.port });
  process.on("disconnect", () => void server.close().then(() => process.exit(0)));
}

function request(agent: http.Agent, port: number, method: string, urlPath: string, headers: Record<string, string>, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, method, path: urlPath, agent, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** Requests/s of GET /api/me from `clients` keep-alive connections for `durationMs`. */
async function throughput(port: number, token: string, clients: number, durationMs: number): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const headers = { authorization: `Bearer ${token}` };
  let done = 0;
  // A short warm-up opens the connections and warms the JIT.
  const warmUntil = performance.now() + 300;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < warmUntil) await request(agent, port, "GET", "/api/me", headers);
    }),
  );
  const started = performance.now();
  const until = started + durationMs;
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < until) {
        const { status } = await request(agent, port, "GET", "/api/me", headers);
        if (status !== 200) throw new Error(`GET /api/me answered ${status}`);
        done++;
      }
    }),
  );
  const elapsed = performance.now() - started;
  agent.destroy();
  return (done / elapsed) * 1000;
}

async function measureRequestLog(quick: boolean, dir: string): Promise<Result["requestLog"]> {
  const clients = 16;
  const durationMs = quick ? 1500 : 4000;
  const roundsEach = quick ? 2 : 3;
  const rounds: Result["requestLog"]["rounds"] = [];
  // Alternate on and off so drift (thermal, other load) hits both alike.
  for (let i = 0; i < roundsEach; i++) {
    for (const requestLog of [true, false]) {
      const dataDir = path.join(dir, `server-${i}-${requestLog ? "on" : "off"}`);
      const { child, port } = await startServerProcess(dataDir, requestLog);
      try {
        const registered = await request(
          new http.Agent(),
          port,
          "POST",
          "/api/auth/register",
          { "content-type": "application/json" },
          JSON.stringify({ email: "bench@example.com", password: "correct horse battery", displayName: "Bench" }),
        );
        if (registered.status !== 201) throw new Error(`register: ${registered.status} ${registered.body}`);
        const { token } = JSON.parse(registered.body) as { token: string };
        rounds.push({ requestLog, rps: Math.round(await throughput(port, token, clients, durationMs)) });
      } finally {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.disconnect();
        await exited;
      }
    }
  }
  const onRps = median(rounds.filter((r) => r.requestLog).map((r) => r.rps));
  const offRps = median(rounds.filter((r) => !r.requestLog).map((r) => r.rps));
  return { clients, durationMs, onRps, offRps, ratio: round(onRps / offRps, 3), target: 0.95, rounds };
}

export async function run(options: { quick: boolean }): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-bench-w7-"));
  try {
    const startedAt = new Date().toISOString();
    const { data, report } = await measureReport(options.quick, dir);
    const requestLog = await measureRequestLog(options.quick, dir);
    return {
      name: "w7-reports",
      quick: options.quick,
      startedAt,
      machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}` },
      data,
      report,
      requestLog,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function toMarkdown(result: Result): string {
  const { data, report, requestLog } = result;
  const rows = (n: number) => n.toLocaleString("en-US");
  return [
    `### W7: weekly report and request log (${result.quick ? "quick" : "full"} size)`,
    "",
    `${rows(data.updateRows)} update-log rows, ${rows(data.requestRows)} request-log rows, ${data.users} users, ` +
      `${data.conversations} conversations, ${rows(data.messages)} messages, ${data.videos} videos (filled in ${rows(data.fillMs)} ms)`,
    "",
    "| measure | value | target |",
    "|---|---|---|",
    `| report of ${report.week} (median of ${RUNS}) | ${report.reportMs} ms | |`,
    `| \`count(*)\` of update_log + request_log (median of ${RUNS}) | ${report.countMs} ms | |`,
    `| report / count | ${report.ratio}× | ≤ ${report.target}× ${report.ratio <= report.target ? "✓" : "✗"} |`,
    `| GET /api/me, request log on (${requestLog.clients} clients) | ${rows(requestLog.onRps)} req/s | |`,
    `| GET /api/me, request log off | ${rows(requestLog.offRps)} req/s | |`,
    `| on / off | ${requestLog.ratio} | ≥ ${requestLog.target} ${requestLog.ratio >= requestLog.target ? "✓" : "✗"} |`,
    "",
  ].join("\n");
}

async function main() {
  const quick = process.env.BENCH_QUICK === "1";
  const result = await run({ quick });
  process.stdout.write(toMarkdown(result));
  const out = path.join(ROOT, "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `w7-${result.startedAt.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), file)}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === HERE) {
  if (process.argv[2] === "--serve") {
    await serve(process.argv[3]!, process.argv[4] === "on");
  } else if (!import.meta.resolve("@wbk/shared").endsWith(".ts")) {
    // `npx tsx` alone would load the workspace packages' last build: run again on the sources.
    const again = spawnSync(process.execPath, [...NODE_ARGS, HERE, ...process.argv.slice(2)], { stdio: "inherit" });
    process.exit(again.status ?? 1);
  } else {
    await main();
  }
}
