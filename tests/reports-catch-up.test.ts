/**
 * Stored weeks (DESIGN.md "The weekly report"): after three weeks of downtime the server stores
 * every week it missed when it starts, idle weeks included; and two processes on one database
 * never store a week twice (the week is the table's key, not a flag in memory).
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCli } from "./helpers/process.js";
import { createLogger, ReportService, sqliteStorage } from "@wbk/server";
import type { WeeklyReport } from "@wbk/shared";
import { Activity, Clock, emptyWeek, sqliteFile, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import type { TestUser } from "./helpers/users.js";



describe("catching up and storing each week once", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;

  beforeAll(async () => {
    clock.at("2026-03-01T12:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com" });
    act = new Activity(server, clock);
    ada = await act.register("2026-03-02T10:00:00.000Z", "ada@example.com", "Ada"); // 2026-W10
  });
  afterAll(() => server?.stop());

  it("after three weeks down, the server stores the weeks it missed before it serves", async () => {
    clock.at("2026-03-10T12:00:00.000Z");
    expect(server.running.reports.runJob().stored).toEqual(["2026-W10"]);
    await act.register("2026-03-11T08:00:00.000Z", "ben@example.com", "Ben"); // 2026-W11

    // Down from Wednesday of W11 until Wednesday of W14: W11, W12 and W13 end meanwhile.
    clock.at("2026-03-11T09:00:00.000Z");
    await server.running.close();
    clock.at("2026-04-01T12:00:00.000Z");
    await server.restart();
    await act.login("2026-04-01T12:00:00.500Z", ada); // her session idled out meanwhile

    const { body: index } = await act.index("2026-04-01T12:00:01.000Z", ada);
    expect(index).toEqual({ weeks: ["2026-W10", "2026-W11", "2026-W12", "2026-W13"] });
    const w10 = (await act.report("2026-04-01T12:00:01.000Z", ada, "2026-W10")).body;
    expect(w10.generatedAt).toBe("2026-03-10T12:00:00.000+00:00"); // stored before, not again
    const w11 = (await act.report("2026-04-01T12:00:01.000Z", ada, "2026-W11")).body;
    expect(w11).toMatchObject({
      generatedAt: "2026-04-01T12:00:00.000+00:00",
      totals: { activeUsers: 1, messages: 0, videos: 0, videoBytes: 0, apiCalls: 1 },
      actions: { ...emptyWeek().actions, "user.registered": 1 },
      byDay: [0, 0, 1, 0, 0, 0, 0],
    });
    for (const [week, from, to] of [
      ["2026-W12", "2026-03-16", "2026-03-23"],
      ["2026-W13", "2026-03-23", "2026-03-30"],
    ] as const) {
      const { body } = await act.report("2026-04-01T12:00:01.000Z", ada, week);
      expect(body).toEqual({
        ...emptyWeek(),
        week,
        from: `${from}T00:00:00.000+00:00`,
        to: `${to}T00:00:00.000+00:00`,
        timezone: "UTC",
        generatedAt: "2026-04-01T12:00:00.000+00:00",
      });
    }
  });

  it("two storage handles on one file: the second finds every week stored and cannot store one again", () => {
    clock.at("2026-04-22T12:00:00.000Z"); // W17: W14, W15 and W16 are complete
    const file = sqliteFile(server);
    const logger = createLogger("silent");
    const one = sqliteStorage(file);
    const two = sqliteStorage(file);
    try {
      const service = (storage: typeof one) => new ReportService({ storage, timezone: "UTC", retentionDays: null, now: clock.now, logger });
      expect(service(one).catchUp()).toEqual(["2026-W14", "2026-W15", "2026-W16"]);
      expect(service(two).catchUp()).toEqual([]);
      // A process that computed the week too (a moment later) loses to the stored one.
      const stored = one.reports.get("2026-W15")!.report;
      const late: WeeklyReport = { ...stored, generatedAt: "2026-04-22T12:00:05.000+00:00" };
      expect(two.reports.putIfAbsent(late, Date.parse(stored.from), Date.parse(stored.to))).toBe(false);
      expect(one.reports.get("2026-W15")!.report).toEqual(stored);
    } finally {
      one.close();
      two.close();
    }
  });

  it("two report processes computing the same unstored week at once store it once and print the same", async () => {
    // The CLI runs on the real clock, long after these weeks: 2026-W20 is complete and not stored.
    const [a, b] = await Promise.all([reportCli(server.dataDir, ["--week", "2026-W20"]), reportCli(server.dataDir, ["--week", "2026-W20"])]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, "", ""]);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    const db = new Database(sqliteFile(server), { readonly: true });
    try {
      const rows = db.prepare("SELECT body FROM reports WHERE week = ?").all("2026-W20") as Array<{ body: string }>;
      expect(rows).toHaveLength(1);
      expect(JSON.parse(rows[0]!.body)).toEqual(JSON.parse(a.stdout));
      const perWeek = db.prepare("SELECT week, COUNT(*) AS n FROM reports GROUP BY week HAVING n > 1").all();
      expect(perWeek).toEqual([]);
    } finally {
      db.close();
    }
  });
});
