/**
 * Issue W1: fan-out. 10 conversations × 10 clients and 100 × 10, at 200 and 1,000 messages/s
 * in all, against four servers, each in its own child process:
 *
 * - relay: plain `ws`, each frame re-sent to its room (the floor: no CRDT, no storage);
 * - y-websocket: the reference server `@y/websocket-server` 0.1.1 (Yjs 13), no persistence;
 * - hocuspocus: plain Hocuspocus 4 with the database extension on better-sqlite3;
 * - wbk: this server, every check on, RATE_LIMIT_* = 0, clients signed in with real sessions.
 *
 * The clients run in this process (one clock for send and arrival). Senders take turns across
 * the conversations at a steady total rate; a message is a Y.Map {id, authorId, kind, text,
 * createdAt} pushed to "messages" (a JSON frame for the relay), `text` 80 characters of seeded
 * words, `createdAt` the send time. Each configuration is warmed up, then measured for a fixed
 * time: delivery latency (arrival − createdAt at every other member), lost deliveries (expected
 * = messages × (clients − 1); not arrived within the drain time), server CPU µs per message
 * (utime + stime from /proc/<pid>/stat, from the window's start until its deliveries are in)
 * and RSS (/proc/<pid>/status). The whole thing runs twice, the second time in the reverse
 * server order.
 *
 * Run: `npx tsx bench/w1-fanout.ts` (BENCH_QUICK=1 for short windows); `npm run bench` runs it
 * with the other workloads. BENCH_SERVERS=wbk,relay limits the servers, BENCH_W1_RUNS the runs,
 * BENCH_W1_CONFIGS=100x10@1000 the configurations, BENCH_CPU_PROF=<dir> writes a `--cpu-prof`
 * profile of the wbk server. Timings only: nothing here asserts.
 */
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { connectClients, now, type BenchMessage, type ClientSet, type Member, type Room, type ServerKind } from "./lib/clients.js";
import { cpuMicros, memoryKiB } from "./lib/proc.js";
import { installCleanup, NODE_ARGS, startServer, type ServerProcess } from "./lib/servers.js";
import { textGenerator } from "./lib/words.js";

const HERE = fileURLToPath(import.meta.url);
const ROOT = path.resolve(path.dirname(HERE), "..");

export const SERVERS: readonly ServerKind[] = ["relay", "y-websocket", "hocuspocus", "wbk"];
const REFERENCES: readonly ServerKind[] = ["y-websocket", "hocuspocus"];
const SIZES = [
  { conversations: 10, clients: 10 },
  { conversations: 100, clients: 10 },
] as const;
const RATES = [200, 1000] as const;

interface Timing {
  warmupMs: number;
  durationMs: number;
  /**
   * How long the deliveries of a window may take to arrive once sending stops (the CPU time is
   * read when they are all in, or then); one not in by the end of the configuration is lost.
   */
  drainMs: number;
}
const FULL: Timing = { warmupMs: 1500, durationMs: 5000, drainMs: 30_000 };
const QUICK: Timing = { warmupMs: 200, durationMs: 600, drainMs: 10_000 };

export interface Window {
  run: number;
  server: ServerKind;
  conversations: number;
  clients: number;
  /** Messages per second in all, as scheduled. */
  rate: number;
  /** Messages per second achieved by the sender loop. */
  sentRate: number;
  sent: number;
  expected: number;
  delivered: number;
  /** Not arrived by the end of the configuration (drain time after its last window). */
  lost: number;
  /** From the end of sending to the last delivery of the window: the backlog the server built up. */
  backlogMs: number;
  /** Of the deliveries in by the end of the drain; a late one (after it) counts in `delivered` only. */
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** Server CPU time (user + system) from the window's start until its deliveries were in. */
  cpuMs: number;
  cpuUsPerMessage: number;
  /** Share of that CPU time spent in the kernel (stime: socket writes, fsync, file I/O). */
  cpuSystemShare: number;
  rssMiB: number;
  peakRssMiB: number;
  /** CPU µs per message in the client process (all clients), to see when the clients were the limit. */
  clientCpuUsPerMessage: number;
  /** Client socket closes during the configuration (each may hide a reconnect and resync). */
  disconnects: number;
}

export interface Result {
  name: "w1-fanout";
  quick: boolean;
  startedAt: string;
  machine: { cpus: number; node: string; platform: string; loadavg: number[] };
  timing: Timing;
  textChars: number;
  runs: Array<{ run: number; order: ServerKind[]; windows: Window[] }>;
}

// ---------------------------------------------------------------------------------------------
// Setting up the rooms each server needs

const USERS = 10;
const PASSWORD = "correct horse battery staple";

async function api<T>(base: string, method: string, urlPath: string, body: unknown, token?: string): Promise<T> {
  const response = await fetch(`${base}${urlPath}`, {
    method,
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${urlPath}: ${response.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Ten wbk users signed up over REST, with their session tokens. */
async function signUpUsers(server: ServerProcess): Promise<Member[]> {
  const members: Member[] = [];
  for (let i = 0; i < USERS; i++) {
    const { user, token } = await api<{ user: { id: string }; token: string }>(server.url, "POST", "/api/auth/register", {
      email: `bench${i}@bench.example`,
      password: PASSWORD,
      displayName: `Bench ${i}`,
    });
    members.push({ userId: user.id, token });
  }
  return members;
}

/** The rooms of one size: for wbk real conversations with every user a member, created over REST. */
async function makeRooms(server: ServerProcess, users: Member[], run: number, conversations: number, clients: number): Promise<Room[]> {
  const members = users.slice(0, clients);
  if (server.kind !== "wbk") {
    return Array.from({ length: conversations }, (_, c) => ({ name: `w1-r${run}-${conversations}x${clients}-${c}`, members }));
  }
  const [owner, ...others] = members;
  const rooms: Room[] = [];
  // A few at a time: creation is quick, and this keeps the setup short without a burst.
  for (let c = 0; c < conversations; c += 10) {
    const made = await Promise.all(
      Array.from({ length: Math.min(10, conversations - c) }, (_, i) =>
        api<{ conversation: { id: string } }>(
          server.url,
          "POST",
          "/api/conversations",
          { title: `Bench ${conversations}x${clients} #${c + i}`, memberIds: others.map((m) => m.userId) },
          owner!.token,
        ),
      ),
    );
    for (const { conversation } of made) rooms.push({ name: `conversation:${conversation.id}`, members });
  }
  return rooms;
}

// ---------------------------------------------------------------------------------------------
// Sending and receiving

/** The deliveries of one batch of messages (a warm-up or a measured window). */
class Tally {
  latencies: number[] = [];
  delivered = 0;
  expected = 0;
  /** performance.now() of the last delivery. */
  lastAt = 0;
}

/** Every message of the configuration under way, by id: a late delivery still counts for its own window. */
const sentIn = new Map<string, Tally>();
let messageCounter = 0;

const onDelivery = (id: string, createdAt: number) => {
  const tally = sentIn.get(id);
  if (!tally) return;
  tally.delivered++;
  tally.latencies.push(now() - createdAt);
  tally.lastAt = performance.now();
};

/**
 * Sends `rate × durationMs` messages at a steady pace, the senders taking turns so that each
 * consecutive run of messages lands in different conversations (conversation = turn mod rooms).
 */
async function drive(set: ClientSet, rate: number, durationMs: number, tally: Tally, nextText: () => string, turn: { value: number }): Promise<{ sent: number; elapsedMs: number }> {
  const rooms = set.clients.length;
  const perRoom = set.clients[0]!.length;
  const total = Math.round((rate * durationMs) / 1000);
  const interval = 1000 / rate;
  const started = performance.now();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const due = Math.min(total, Math.floor((performance.now() - started) / interval) + 1);
      while (sent < due) {
        const t = turn.value++;
        const client = set.clients[t % rooms]![Math.floor(t / rooms) % perRoom]!;
        const id = `b${(messageCounter++).toString(36)}`;
        sentIn.set(id, tally);
        tally.expected += perRoom - 1;
        const message: BenchMessage = { id, authorId: client.member.userId, kind: "text", text: nextText(), createdAt: now() };
        client.send(message);
        sent++;
      }
      if (sent >= total) return resolve();
      setTimeout(tick, Math.max(0, started + sent * interval - performance.now()));
    };
    tick();
  });
  return { sent, elapsedMs: performance.now() - started };
}

/** Waits until every delivery of `tally` is in, or `drainMs` has passed. */
async function drain(tally: Tally, drainMs: number): Promise<void> {
  const until = performance.now() + drainMs;
  while (tally.delivered < tally.expected && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
}

const debug = (line: string) => {
  if (process.env.BENCH_DEBUG) process.stderr.write(`[${(performance.now() / 1000).toFixed(1)} s] ${line}\n`);
};

/** Nearest-rank percentile of sorted values. */
const percentile = (sorted: Float64Array, p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : Number.NaN);
const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;

async function measureConfiguration(
  server: ServerProcess,
  run: number,
  rooms: Room[],
  rates: readonly number[],
  timing: Timing,
  nextText: () => string,
): Promise<Window[]> {
  const connectStarted = performance.now();
  const set = await connectClients(server.kind, server.port, rooms, onDelivery);
  debug(`${server.kind} ${rooms.length}×${rooms[0]!.members.length}: ${set.clients.flat().length} clients synced in ${Math.round(performance.now() - connectStarted)} ms`);
  const windows: Window[] = [];
  const tallies: Tally[] = [];
  const turn = { value: 0 };
  try {
    for (const rate of rates) {
      // Warm-up at the window's rate (JIT, caches, documents loaded), then its deliveries drain.
      const warm = new Tally();
      await drive(set, rate, timing.warmupMs, warm, nextText, turn);
      const drainStarted = performance.now();
      await drain(warm, timing.drainMs);
      debug(`${server.kind} @${rate}/s: warm-up drained in ${Math.round(performance.now() - drainStarted)} ms`);

      const tally = new Tally();
      const cpuBefore = cpuMicros(server.pid);
      const clientBefore = process.cpuUsage();
      const disconnectsBefore = set.disconnects();
      const { sent, elapsedMs } = await drive(set, rate, timing.durationMs, tally, nextText, turn);
      const sendingEnded = performance.now();
      await drain(tally, timing.drainMs);
      const cpuAfter = cpuMicros(server.pid);
      const cpuUs = cpuAfter.total - cpuBefore.total;
      const client = process.cpuUsage(clientBefore);
      const memory = memoryKiB(server.pid);
      const sorted = Float64Array.from(tally.latencies).sort();
      const mean = sorted.reduce((a, b) => a + b, 0) / (sorted.length || 1);
      windows.push({
        run,
        server: server.kind,
        conversations: rooms.length,
        clients: rooms[0]!.members.length,
        rate,
        sentRate: round((sent / elapsedMs) * 1000, 1),
        sent,
        expected: tally.expected,
        delivered: tally.delivered,
        lost: tally.expected - tally.delivered,
        backlogMs: Math.max(0, Math.round(tally.lastAt - sendingEnded)),
        latencyMs: {
          p50: round(percentile(sorted, 50), 3),
          p95: round(percentile(sorted, 95), 3),
          p99: round(percentile(sorted, 99), 3),
          max: round(sorted[sorted.length - 1] ?? Number.NaN, 3),
          mean: round(mean, 3),
        },
        cpuMs: round(cpuUs / 1000, 1),
        cpuUsPerMessage: round(cpuUs / sent, 1),
        cpuSystemShare: round((cpuAfter.system - cpuBefore.system) / cpuUs, 2),
        rssMiB: round(memory.rssKiB / 1024, 1),
        peakRssMiB: round(memory.peakKiB / 1024, 1),
        clientCpuUsPerMessage: round((client.user + client.system) / sent, 1),
        disconnects: set.disconnects() - disconnectsBefore,
      });
      tallies.push(tally);
    }
    // A delivery later than the drain time is late, not lost: look again at the end.
    await Promise.all(tallies.map((t) => drain(t, timing.drainMs)));
    windows.forEach((w, i) => {
      w.delivered = tallies[i]!.delivered;
      w.lost = w.expected - w.delivered;
    });
  } finally {
    sentIn.clear();
    set.close();
  }
  // Let the server see the closes before the next configuration starts.
  await new Promise((r) => setTimeout(r, 100));
  return windows;
}

function configurationsFromEnv(): Array<{ conversations: number; clients: number; rates: number[] }> {
  const wanted = process.env.BENCH_W1_CONFIGS?.split(",").map((s) => s.trim()).filter(Boolean);
  return SIZES.map((size) => ({
    ...size,
    rates: RATES.filter((rate) => !wanted || wanted.includes(`${size.conversations}x${size.clients}@${rate}`)),
  })).filter((size) => size.rates.length > 0);
}

export async function run(options: { quick: boolean; log?: (line: string) => void }): Promise<Result> {
  installCleanup();
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const timing = options.quick ? QUICK : FULL;
  const servers = (process.env.BENCH_SERVERS?.split(",").map((s) => s.trim()) ?? [...SERVERS]).filter((s): s is ServerKind =>
    SERVERS.includes(s as ServerKind),
  );
  const runs = Number(process.env.BENCH_W1_RUNS ?? 2);
  const configurations = configurationsFromEnv();
  const profileDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : null;
  const result: Result = {
    name: "w1-fanout",
    quick: options.quick,
    startedAt: new Date().toISOString(),
    machine: { cpus: os.cpus().length, node: process.version, platform: `${process.platform}-${process.arch}`, loadavg: os.loadavg().map((n) => round(n)) },
    timing,
    textChars: 80,
    runs: [],
  };
  for (let r = 1; r <= runs; r++) {
    // The second run goes in the reverse order, so drift on the shared machine hits all alike.
    const order = r % 2 === 1 ? [...servers] : [...servers].reverse();
    const windows: Window[] = [];
    // Every run starts each server afresh; they start together and are measured one at a time.
    const started = await Promise.allSettled(
      order.map((kind) =>
        startServer(kind, kind === "wbk" && profileDir ? { execArgv: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] } : {}),
      ),
    );
    const processes = started.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    try {
      const failed = started.find((s) => s.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
      for (const server of processes) {
        // The same texts for every server in a run.
        const nextText = textGenerator(0x5eed + r);
        debug(`${server.kind}: setting up`);
        const users: Member[] =
          server.kind === "wbk" ? await signUpUsers(server) : Array.from({ length: USERS }, (_, i) => ({ userId: `user${i}` }));
        for (const size of configurations) {
          const rooms = await makeRooms(server, users, r, size.conversations, size.clients);
          for (const w of await measureConfiguration(server, r, rooms, size.rates, timing, nextText)) {
            windows.push(w);
            log(
              `W1 run ${r} ${w.server.padEnd(11)} ${w.conversations}×${w.clients} @${w.rate}/s: p50 ${w.latencyMs.p50} ms, p99 ${w.latencyMs.p99} ms, ` +
                `${w.cpuUsPerMessage} µs CPU/msg (${Math.round(w.cpuSystemShare * 100)} % sys), ${w.rssMiB} MiB, lost ${w.lost}/${w.expected}, backlog ${w.backlogMs} ms`,
            );
          }
        }
      }
    } finally {
      await Promise.all(processes.map((p) => p.stop()));
    }
    result.runs.push({ run: r, order, windows });
  }
  return result;
}

// ---------------------------------------------------------------------------------------------
// The table

type Metric = { label: string; pick: (w: Window) => number; digits: number };
const METRICS: Metric[] = [
  { label: "p50 ms", pick: (w) => w.latencyMs.p50, digits: 2 },
  { label: "p95 ms", pick: (w) => w.latencyMs.p95, digits: 2 },
  { label: "p99 ms", pick: (w) => w.latencyMs.p99, digits: 2 },
  { label: "CPU µs/msg", pick: (w) => w.cpuUsPerMessage, digits: 0 },
  { label: "RSS MiB", pick: (w) => w.rssMiB, digits: 0 },
];

const format = (n: number, digits: number) =>
  Number.isFinite(n) ? n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits }) : "–";
/** The sender (in the client process) reached less than 95 % of the rate: the clients were the limit. */
const short = (w: Window) => w.sentRate < 0.95 * w.rate;
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${format(a / b, 2)}×` : "–");

export function toMarkdown(result: Result): string {
  const runs = result.runs.map((r) => r.run);
  const find = (run: number, server: ServerKind, c: number, rate: number) =>
    result.runs.find((r) => r.run === run)?.windows.find((w) => w.server === server && w.conversations === c && w.rate === rate);
  const configs = [...new Map(result.runs.flatMap((r) => r.windows).map((w) => [`${w.conversations}x${w.clients}@${w.rate}`, w])).values()].sort(
    (a, b) => a.conversations - b.conversations || a.rate - b.rate,
  );
  const servers = SERVERS.filter((s) => result.runs.some((r) => r.windows.some((w) => w.server === s)));
  const lines = [
    `### W1: fan-out (${result.quick ? "quick" : "full"}: ${result.timing.durationMs / 1000} s per configuration after ${result.timing.warmupMs / 1000} s warm-up)`,
    "",
    `Each cell: ${runs.map((r) => `run ${r}`).join(" · ")}. Latency = arrival at each other member − send time; CPU = server utime + stime per message sent; ` +
      `best ref = the lower of y-websocket and Hocuspocus in that run; ` +
      `backlog = end of sending → last delivery (a server that cannot keep up builds one).`,
    "",
    `| configuration | server | ${METRICS.map((m) => m.label).join(" | ")} | lost / expected | backlog ms |`,
    `|---|---|${METRICS.map(() => "---|").join("")}---|---|`,
  ];
  for (const config of configs) {
    const name = `${config.conversations}×${config.clients} @ ${config.rate.toLocaleString("en-US")}/s`;
    for (const server of servers) {
      const cells = METRICS.map((m) =>
        runs
          .map((r) => {
            const w = find(r, server, config.conversations, config.rate);
            return w ? `${format(m.pick(w), m.digits)}${short(w) ? "†" : ""}` : "–";
          })
          .join(" · "),
      );
      const lost = runs
        .map((r) => {
          const w = find(r, server, config.conversations, config.rate);
          return w ? `${w.lost.toLocaleString("en-US")} / ${w.expected.toLocaleString("en-US")}` : "–";
        })
        .join(" · ");
      const backlog = runs.map((r) => format(find(r, server, config.conversations, config.rate)?.backlogMs ?? Number.NaN, 0)).join(" · ");
      lines.push(`| ${name} | ${server} | ${cells.join(" | ")} | ${lost} | ${backlog} |`);
    }
    if (servers.includes("wbk")) {
      for (const [label, against] of [
        ["wbk ÷ relay", (run: number, m: Metric) => (find(run, "relay", config.conversations, config.rate) ? m.pick(find(run, "relay", config.conversations, config.rate)!) : Number.NaN)],
        [
          "wbk ÷ best ref",
          (run: number, m: Metric) => {
            const values = REFERENCES.map((s) => find(run, s, config.conversations, config.rate)).filter((w) => w !== undefined).map((w) => m.pick(w));
            return values.length ? Math.min(...values) : Number.NaN;
          },
        ],
      ] as const) {
        const cells = METRICS.map((m) =>
          runs
            .map((r) => {
              const w = find(r, "wbk", config.conversations, config.rate);
              return w ? ratio(m.pick(w), against(r, m)) : "–";
            })
            .join(" · "),
        );
        lines.push(`| ${name} | **${label}** | ${cells.join(" | ")} | | |`);
      }
    }
  }
  // The two targets of the issue, per run.
  const targets: string[] = [];
  const cpuTarget = runs.map((r) => {
    const wbk = find(r, "wbk", 100, 1000);
    const relay = find(r, "relay", 100, 1000);
    return wbk && relay ? wbk.cpuUsPerMessage / relay.cpuUsPerMessage : Number.NaN;
  });
  if (cpuTarget.some(Number.isFinite)) {
    targets.push(`- CPU per message at 100×10 @ 1,000/s, wbk ÷ relay (target ≤ 1.3×): ${cpuTarget.map((x) => `${format(x, 2)}× ${x <= 1.3 ? "✓" : "✗"}`).join(" · ")}`);
  }
  const p99Target = runs.map((r) => {
    const wbk = find(r, "wbk", 10, 1000);
    const refs = REFERENCES.map((s) => find(r, s, 10, 1000)).filter((w) => w !== undefined);
    return wbk && refs.length ? wbk.latencyMs.p99 / Math.min(...refs.map((w) => w.latencyMs.p99)) : Number.NaN;
  });
  if (p99Target.some(Number.isFinite)) {
    targets.push(`- p99 at 10×10 @ 1,000/s, wbk ÷ best reference (target ≤ 0.8×): ${p99Target.map((x) => `${format(x, 2)}× ${x <= 0.8 ? "✓" : "✗"}`).join(" · ")}`);
  }
  const lost = result.runs.flatMap((r) => r.windows).filter((w) => w.lost > 0);
  targets.push(
    lost.length === 0
      ? "- Lost deliveries: 0 in every configuration ✓"
      : `- Lost deliveries (must be 0): ${lost.map((w) => `${w.server} ${w.conversations}×${w.clients} @${w.rate} run ${w.run}: ${w.lost}`).join("; ")} ✗`,
  );
  const disconnects = result.runs.flatMap((r) => r.windows).filter((w) => w.disconnects > 0);
  if (disconnects.length) targets.push(`- Client sockets closed mid-window: ${disconnects.map((w) => `${w.server} ${w.conversations}×${w.clients} @${w.rate} run ${w.run}: ${w.disconnects}`).join("; ")}`);
  const shortWindows = result.runs.flatMap((r) => r.windows).filter(short);
  if (shortWindows.length) {
    targets.push(
      `- † the client process could not send at the full rate (${shortWindows.map((w) => `${w.server} ${w.conversations}×${w.clients} @${w.rate} run ${w.run}: ${format(w.sentRate, 0)}/s`).join("; ")}): ` +
        "there the clients, not the server, set the latency.",
    );
  }
  const clientCpu = result.runs.flatMap((r) => r.windows).map((w) => (w.clientCpuUsPerMessage * w.sentRate) / 10_000);
  targets.push(`- The client process used up to ${format(Math.max(...clientCpu), 0)} % of a core (all clients share it; ${result.machine.cpus} cores in all).`);
  return [...lines, "", ...targets, ""].join("\n");
}

export function writeResult(result: { name: string; startedAt: string }): string {
  const out = path.join(ROOT, "bench", "results");
  fs.mkdirSync(out, { recursive: true });
  const file = path.join(out, `${result.name.split("-")[0]}-${result.startedAt.replace(/[:.]/g, "-")}.json`);
  fs.writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

async function main() {
  const quick = process.env.BENCH_QUICK === "1";
  const result = await run({ quick });
  process.stdout.write(toMarkdown(result));
  process.stdout.write(`\nwritten ${path.relative(process.cwd(), writeResult(result))}\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === HERE) {
  if (!import.meta.resolve("@wbk/server").endsWith(".ts")) {
    // `npx tsx` alone would load the workspace packages' last build: run again on the sources.
    const again = spawnSync(process.execPath, [...NODE_ARGS, HERE, ...process.argv.slice(2)], { stdio: "inherit" });
    process.exit(again.status ?? 1);
  } else {
    await main();
  }
}
