/**
 * The counts reports read (rollups kept as each row is written) against the log tables they
 * count (DESIGN.md "The weekly report"): for every week of known activity in Europe/Berlin,
 * across both daylight-saving changes, the rollups hold exactly what the logs hold and the
 * report made from either is the same; `--recompute` (from the logs) gives the stored report
 * back. A restart with another REPORT_TZ, or on a database from before the rollups, rebuilds
 * them from the logs, and `current` is right for the zone.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCli } from "./helpers/process.js";
import { createLogger, loadConfig, ReportService, startServer, type RunningServer } from "@wbk/server";
import type { Conversation, WeeklyReport } from "@wbk/shared";
import { Activity, Clock, emptyWeek, hours, sqliteFile, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import { fixture } from "./helpers/tus.js";
import type { TestUser } from "./helpers/users.js";

const MP4 = fixture("clip-h264-5s.mp4");
const WEBM = fixture("clip-vp9-3s.webm");

type WeekActivity = ReturnType<RunningServer["storage"]["activity"]["week"]>;

/** Order-free: the two paths list the same groups in different orders. */
function sorted(activity: WeekActivity) {
  const byJson = (a: unknown, b: unknown) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);
  return {
    actions: [...activity.actions].sort(byJson),
    requests: [...activity.requests].sort(byJson),
    timeline: activity.timeline,
  };
}

/** The week of a report, read both ways from the running server's storage. */
function bothWays(server: TestServer, report: WeeklyReport) {
  const span = { week: report.week, from: Date.parse(report.from), to: Date.parse(report.to) };
  const { activity } = server.running.storage;
  return { rollups: sorted(activity.week(span)), logs: sorted(activity.weekFromLogs(span.from, span.to)) };
}

/** Rows of the rollup tables, straight from the file. */
function rollupRows(server: TestServer) {
  const db = new Database(sqliteFile(server), { readonly: true });
  try {
    return {
      timezone: db.prepare("SELECT timezone FROM rollup_meta").pluck().get(),
      actions: db.prepare("SELECT * FROM rollup_week_actions ORDER BY week, kind, user_id, conversation_id").all(),
      requests: db.prepare("SELECT * FROM rollup_week_requests ORDER BY week, user_id, method, route").all(),
      slices: db.prepare("SELECT * FROM rollup_slices ORDER BY slice").all(),
    };
  } finally {
    db.close();
  }
}

/** Stops the test server and starts it again on the same folder and clock with other settings. */
async function restartWith(server: TestServer, clock: Clock, env: Record<string, string>): Promise<void> {
  await server.running.close();
  const config = loadConfig(
    { PORT: "0", DATA_DIR: server.dataDir, LOG_LEVEL: "warn", RATE_LIMIT_AUTH_PER_MIN: "0", RATE_LIMIT_MESSAGES_PER_MIN: "0", ...env },
    { storeDebounceMs: 200, now: clock.now },
  );
  server.running = await startServer(config);
  server.url = server.running.url;
}


describe("rollups and logs give the same report (Europe/Berlin)", () => {
  const clock = new Clock();
  const STORED_AT = "2026-11-04T12:00:00.000+01:00";
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;
  let family: Conversation;
  let weeks: string[];
  const stored: Record<string, WeeklyReport> = {};

  beforeAll(async () => {
    clock.at("2026-03-16T08:00:00.000+01:00");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com", REPORT_TZ: "Europe/Berlin" });
    act = new Activity(server, clock);

    // ---- 2026-W12 ----
    ada = await act.register("2026-03-16T09:00:00.000+01:00", "ada@example.com", "Ada");
    const ben = await act.register("2026-03-16T09:05:00.000+01:00", "ben@example.com", "Ben");
    family = await act.createConversation("2026-03-18T18:30:00.000+01:00", ada, [ben], "Family");
    await act.post("2026-03-18T18:31:00.000+01:00", ada, family.id, "m1");
    expect(await act.get("2026-03-21T11:00:00.000+01:00", null, "/api/config")).toBe(200); // anonymous
    await act.post("2026-03-21T11:15:00.000+01:00", ben, family.id, "m2");
    await act.post("2026-03-22T23:59:59.999+01:00", ben, family.id, "m3"); // the week's last millisecond

    // ---- 2026-W13: clocks jump from 02:00 to 03:00 on Sunday 29 March (167 hours) ----
    const m4 = await act.post("2026-03-23T00:00:00.000+01:00", ada, family.id, "m4"); // its first millisecond
    expect(await act.login("2026-03-23T00:00:00.000+01:00", ben, "wrong password")).toBe(401); // anonymous
    expect(await act.login("2026-03-24T09:00:00.000+01:00", ben)).toBe(200);
    const cy = await act.register("2026-03-24T10:00:00.000+01:00", "cy@example.com", "Cy");
    await act.addMember("2026-03-24T10:05:00.000+01:00", ada, family.id, cy);
    await act.react("2026-03-24T10:10:00.000+01:00", cy, family.id, "m4", "🎉");
    expect(await act.shareVideo("2026-03-25T12:00:00.000+01:00", "2026-03-25T12:01:00.000+01:00", ada, family.id, MP4, "a.mp4")).toBe(204);
    expect(await act.shareVideo("2026-03-25T13:00:00.000+01:00", "2026-03-25T13:00:05.000+01:00", ben, family.id, fixture("not-a-video.mp4"), "x.mp4")).toBe(415);
    await act.edit("2026-03-26T23:30:00.000+01:00", ben, family.id, "m3", "edited");
    await act.read("2026-03-28T00:15:00.000+01:00", ben, family.id, m4);
    await act.remove("2026-03-29T01:59:59.999+01:00", ada, family.id, "m1"); // just before the jump
    const owls: Conversation = await act.createConversation("2026-03-29T03:00:00.000+02:00", cy, [ben], "Night owls"); // just after
    await act.post("2026-03-29T03:01:00.000+02:00", cy, owls.id, "n1");
    // A video message of W13 whose upload finishes in W14.
    expect(await act.shareVideo("2026-03-29T23:59:00.000+02:00", "2026-03-30T00:00:30.000+02:00", ben, owls.id, WEBM, "b.webm")).toBe(204);
    await act.post("2026-03-29T23:59:59.999+02:00", ben, owls.id, "n2");
    expect(await act.get("2026-03-29T23:59:59.999+02:00", ben, "/api/me")).toBe(200);
    expect(await act.get("2026-03-29T23:59:59.999+02:00", null, "/api/me")).toBe(401);

    // ---- 2026-W14 ----
    await act.post("2026-03-30T00:00:00.000+02:00", ada, family.id, "m5");

    // ---- 2026-W43: clocks go back from 03:00 to 02:00 on Sunday 25 October (169 hours) ----
    for (const user of [ada, ben, cy]) await act.login("2026-10-19T10:00:00.000+02:00", user); // sessions idled out
    const f1 = await act.post("2026-10-25T02:30:00.000+02:00", ada, family.id, "f1");
    await act.post("2026-10-25T02:30:00.000+01:00", ben, family.id, "f2"); // the same local time, an hour later
    await act.react("2026-10-25T02:45:00.000+01:00", cy, family.id, "f1", "👍");
    await act.read("2026-10-25T02:50:00.000+01:00", cy, family.id, f1);
    await act.post("2026-10-25T23:59:59.999+01:00", ben, owls.id, "f3");
    await act.post("2026-10-26T00:00:00.000+01:00", ada, family.id, "f4"); // 2026-W44

    clock.at(STORED_AT);
    expect(server.running.reports.runJob().stored).toHaveLength(33); // 2026-W12 … 2026-W44
    weeks = (await act.index(STORED_AT, ada)).body.weeks;
    for (const week of weeks) stored[week] = (await act.report(STORED_AT, ada, week)).body;
  });
  afterAll(() => server?.stop());

  it("stored the weeks from the rollups, with the counts of the activity above", () => {
    expect(weeks[0]).toBe("2026-W12");
    expect(weeks.at(-1)).toBe("2026-W44");
    expect(stored["2026-W13"]).toMatchObject({
      from: "2026-03-23T00:00:00.000+01:00",
      to: "2026-03-30T00:00:00.000+02:00",
      totals: { activeUsers: 3, messages: 6, videos: 1, videoBytes: MP4.length },
      actions: {
        "message.sent": 6, // m4, n1, n2 and three video messages (the refused upload's too)
        "message.edited": 1,
        "message.deleted": 1,
        "video.shared": 1,
        "reaction.set": 1,
        "read.updated": 1,
        "member.added": 2,
        "conversation.created": 1,
        "user.registered": 1,
      },
      byDay: [1, 3, 3, 1, 0, 1, 6],
      byHour: hours({ 0: 2, 1: 1, 3: 3, 10: 3, 12: 2, 13: 1, 23: 3 }),
    });
    expect(stored["2026-W43"]).toMatchObject({
      totals: { activeUsers: 3, messages: 3 },
      actions: { ...emptyWeek().actions, "message.sent": 3, "reaction.set": 1, "read.updated": 1 },
      byDay: [0, 0, 0, 0, 0, 0, 5],
      byHour: hours({ 2: 4, 23: 1 }),
    });
  });

  it("every week: the rollups hold exactly the groups the logs hold, and --recompute gives the stored report", () => {
    clock.at(STORED_AT); // recomputed at the instant it was stored: the same generatedAt
    for (const week of weeks) {
      const { rollups, logs } = bothWays(server, stored[week]!);
      expect({ week, ...rollups }).toEqual({ week, ...logs });
      expect(server.running.reports.recompute(week)).toEqual(stored[week]);
    }
    // Not vacuous: the busy weeks have groups of every source.
    const w13 = bothWays(server, stored["2026-W13"]!).rollups;
    expect(new Set(w13.actions.map((a) => a.kind)).size).toBe(9);
    expect(w13.requests.length).toBeGreaterThan(5);
  });

  it("the current week too, as it fills", async () => {
    clock.at("2026-11-04T12:00:01.000+01:00");
    await act.post("2026-11-04T12:00:01.000+01:00", ada, family.id, "c1");
    const current = (await act.report("2026-11-04T12:00:02.000+01:00", ada, "current")).body;
    expect(current).toMatchObject({ week: "2026-W45", partial: true, totals: { messages: 1 } });
    const { rollups, logs } = bothWays(server, current);
    expect(rollups).toEqual(logs);
  });

  it("compacting a stored week's log rows drops its rollups; the reports stay as they were", async () => {
    clock.at(STORED_AT);
    const before = rollupRows(server);
    const compacting = new ReportService({
      storage: server.running.storage,
      timezone: "Europe/Berlin",
      retentionDays: 30,
      now: clock.now,
      logger: createLogger("silent"),
    });
    const compacted = compacting.compact(); // before 2026-10-05T12:00+02:00
    expect(compacted[0]).toBe("2026-W12");
    expect(compacted.at(-1)).toBe("2026-W41");
    const after = rollupRows(server);
    const weeksOf = (rows: unknown[]) => [...new Set((rows as Array<{ week: string }>).map((r) => r.week))];
    expect(weeksOf(after.actions)).toEqual(weeksOf(before.actions).filter((w) => !compacted.includes(w)));
    expect(weeksOf(after.requests)).toEqual(weeksOf(before.requests).filter((w) => !compacted.includes(w)));
    expect(after.slices.length).toBeLessThan(before.slices.length);
    for (const week of weeks) expect((await act.report(STORED_AT, ada, week)).body).toEqual(stored[week]);
  });

  it("the report CLI's --recompute (from the logs) stores what was stored (from the rollups)", async () => {
    const { code, stdout, stderr } = await reportCli(server.dataDir, ["--week", "2026-W44", "--recompute"], { REPORT_TZ: "Europe/Berlin" });
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const recomputed = JSON.parse(stdout) as WeeklyReport;
    expect({ ...recomputed, generatedAt: STORED_AT }).toEqual(stored["2026-W44"]); // the CLI's clock is the real one
    expect(rollupRows(server).timezone).toBe("Europe/Berlin");
  });
});

describe("another REPORT_TZ, or a database from before the rollups", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;
  let ben: TestUser;
  let family: Conversation;

  beforeAll(async () => {
    clock.at("2026-03-02T08:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com" }); // REPORT_TZ=UTC
    act = new Activity(server, clock);
    ada = await act.register("2026-03-02T09:00:00.000Z", "ada@example.com", "Ada");
    ben = await act.register("2026-03-02T09:01:00.000Z", "ben@example.com", "Ben");
    family = await act.createConversation("2026-03-02T09:02:00.000Z", ada, [ben], "Family");
    await act.post("2026-03-08T22:30:00.000Z", ada, family.id, "a1"); // Sunday: 22:30 UTC, 23:30 Berlin
    await act.post("2026-03-08T23:30:00.000Z", ben, family.id, "a2"); // Sunday 23:30 UTC, Monday 00:30 Berlin
    await act.post("2026-03-09T10:00:00.000Z", ada, family.id, "a3");
    expect(await act.get("2026-03-09T10:05:00.000Z", ben, "/api/me")).toBe(200);
  });
  afterAll(() => server?.stop());

  const NOW = "2026-03-11T12:00:00.000Z"; // Wednesday of 2026-W11 in both zones

  function user(u: TestUser, name: string, messages: number, apiCalls: Record<string, number>, firstSeen: string, lastSeen: string) {
    return { userId: u.user.id, email: u.email, displayName: name, messages, videos: 0, videoBytes: 0, apiCalls, conversations: 1, firstSeen, lastSeen };
  }
  const post = "POST /api/conversations/:id/messages";
  const reports = "GET /api/reports/weekly";
  const byUserId = <T extends { userId: string }>(rows: T[]) => rows.sort((a, b) => (a.userId < b.userId ? -1 : 1));

  const utcCurrent = () => ({
    ...emptyWeek(),
    week: "2026-W11",
    from: "2026-03-09T00:00:00.000+00:00",
    to: "2026-03-16T00:00:00.000+00:00",
    timezone: "UTC",
    generatedAt: "2026-03-11T12:00:00.000+00:00",
    partial: true,
    totals: { activeUsers: 2, messages: 1, videos: 0, videoBytes: 0, apiCalls: 2 },
    users: byUserId([
      user(ada, "Ada", 1, { [post]: 1 }, "2026-03-09T10:00:00.000+00:00", "2026-03-09T10:00:00.000+00:00"),
      { ...user(ben, "Ben", 0, { "GET /api/me": 1 }, "2026-03-09T10:05:00.000+00:00", "2026-03-09T10:05:00.000+00:00"), conversations: 0 },
    ]),
    actions: { ...emptyWeek().actions, "message.sent": 1 },
    conversations: [{ conversationId: family.id, title: "Family", messages: 1, videos: 0, activeUsers: 1 }],
    byDay: [1, 0, 0, 0, 0, 0, 0],
    byHour: hours({ 10: 1 }),
  });

  it("in UTC, Sunday 23:30 UTC belongs to last week", async () => {
    const { body } = await act.report(NOW, ada, "current");
    expect(body).toEqual(utcCurrent());
  });

  it("restarted with REPORT_TZ=Europe/Berlin, the rollups are rebuilt and current is Berlin's week", async () => {
    clock.at(NOW);
    await restartWith(server, clock, { ADMIN_EMAILS: "ada@example.com", REPORT_TZ: "Europe/Berlin" });
    const rows = rollupRows(server);
    expect(rows.timezone).toBe("Europe/Berlin");
    // Ben's Sunday-night message is counted in Berlin's 2026-W11 now.
    const bens = (rows.actions as Array<{ week: string; kind: string; user_id: string; n: number }>).filter(
      (r) => r.kind === "message.sent" && r.user_id === ben.user.id,
    );
    expect(bens.map((r) => [r.week, r.n])).toEqual([["2026-W11", 1]]);

    // Ada's report of a moment ago (in UTC) is an API call of this week too.
    const { body } = await act.report(NOW, ada, "current");
    expect(body).toEqual({
      ...emptyWeek(),
      week: "2026-W11",
      from: "2026-03-09T00:00:00.000+01:00",
      to: "2026-03-16T00:00:00.000+01:00",
      timezone: "Europe/Berlin",
      generatedAt: "2026-03-11T13:00:00.000+01:00",
      partial: true,
      totals: { activeUsers: 2, messages: 2, videos: 0, videoBytes: 0, apiCalls: 4 },
      users: byUserId([
        user(ada, "Ada", 1, { [reports]: 1, [post]: 1 }, "2026-03-09T11:00:00.000+01:00", "2026-03-11T13:00:00.000+01:00"),
        user(ben, "Ben", 1, { "GET /api/me": 1, [post]: 1 }, "2026-03-09T00:30:00.000+01:00", "2026-03-09T11:05:00.000+01:00"),
      ]),
      actions: { ...emptyWeek().actions, "message.sent": 2 },
      conversations: [{ conversationId: family.id, title: "Family", messages: 2, videos: 0, activeUsers: 2 }],
      byDay: [2, 0, 0, 0, 0, 0, 0],
      byHour: hours({ 0: 1, 11: 1 }),
    });
    // The week before, stored at this start in Berlin's zone, agrees with its logs.
    const w10 = (await act.report(NOW, ada, "2026-W10")).body;
    expect(w10).toMatchObject({ timezone: "Europe/Berlin", totals: { messages: 1 }, actions: { "user.registered": 2 } });
    const { rollups, logs } = bothWays(server, w10);
    expect(rollups).toEqual(logs);
  });

  it("a database from before the rollups (no rollups yet) gets them from the logs at start", async () => {
    clock.at(NOW);
    await server.running.close(); // writes the buffered request log
    const before = rollupRows(server);
    const db = new Database(sqliteFile(server));
    db.exec("DELETE FROM rollup_meta; DELETE FROM rollup_week_actions; DELETE FROM rollup_week_requests; DELETE FROM rollup_slices;");
    db.close();
    await restartWith(server, clock, { ADMIN_EMAILS: "ada@example.com", REPORT_TZ: "Europe/Berlin" });
    expect(rollupRows(server)).toEqual(before);
    const current = (await act.report(NOW, ada, "current")).body;
    expect(current).toMatchObject({ week: "2026-W11", timezone: "Europe/Berlin", totals: { messages: 2 } });
    const { rollups, logs } = bothWays(server, current);
    expect(rollups).toEqual(logs);
  });

  it("back to UTC: rebuilt again, and current is UTC's week again", async () => {
    clock.at(NOW);
    await restartWith(server, clock, { ADMIN_EMAILS: "ada@example.com" });
    expect(rollupRows(server).timezone).toBe("UTC");
    const { body } = await act.report(NOW, ada, "current");
    // Ada's reports since (all at NOW) are API calls of this week too. The last one, answered
    // just before the restart, may or may not have been logged before the server closed.
    const calls = body.users.find((u) => u.userId === ada.user.id)?.apiCalls[reports] ?? 0;
    expect(calls).toBeGreaterThanOrEqual(3);
    const expected = utcCurrent();
    expect(body).toEqual({
      ...expected,
      totals: { ...expected.totals, apiCalls: 2 + calls },
      users: expected.users.map((u) =>
        u.userId === ada.user.id ? { ...u, apiCalls: { [reports]: calls, [post]: 1 }, lastSeen: "2026-03-11T12:00:00.000+00:00" } : u,
      ),
    });
  });
});
