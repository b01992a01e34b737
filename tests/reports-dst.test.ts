/**
 * Weeks, days and hours in REPORT_TZ across daylight saving (DESIGN.md "The weekly report"):
 * a week has its true length (169 hours in Europe/Berlin's last week of October, 167 in its
 * last of March), a repeated local hour adds to its bucket and a skipped one stays 0, and the
 * job's schedule fires once a week through the changes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, nextReportRuns } from "@wbk/server";
import type { WeeklyReport } from "@wbk/shared";
import { Activity, Clock, emptyWeek, hours, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import type { TestUser } from "./helpers/users.js";

const HOUR = 3_600_000;
const lengthInHours = (report: WeeklyReport) => (Date.parse(report.to) - Date.parse(report.from)) / HOUR;

describe("Europe/Berlin", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;
  let ben: TestUser;

  beforeAll(async () => {
    clock.at("2026-03-22T12:00:00.000+01:00");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com", REPORT_TZ: "Europe/Berlin" });
    act = new Activity(server, clock);
    // 2026-W13: clocks jump from 02:00 to 03:00 on Sunday 29 March.
    ada = await act.register("2026-03-23T00:00:00.000+01:00", "ada@example.com", "Ada");
    ben = await act.register("2026-03-23T00:05:00.000+01:00", "ben@example.com", "Ben");
    const family = await act.createConversation("2026-03-28T09:00:00.000+01:00", ada, [ben], "Family");
    await act.post("2026-03-29T01:59:59.999+01:00", ada, family.id, "s1");
    await act.post("2026-03-29T03:00:00.000+02:00", ben, family.id, "s2"); // one millisecond later
    await act.post("2026-03-29T23:59:59.999+02:00", ben, family.id, "s3");
    // Back after months: sessions idle for 30 days expired.
    await act.login("2026-10-12T10:00:00.000+02:00", ada);
    await act.login("2026-10-12T10:00:00.000+02:00", ben);
    // 2026-W43: clocks go back from 03:00 to 02:00 on Sunday 25 October; 02:30 happens twice.
    await act.post("2026-10-19T00:00:00.000+02:00", ada, family.id, "f1");
    await act.post("2026-10-24T12:00:00.000+02:00", ben, family.id, "f2");
    await act.post("2026-10-25T02:30:00.000+02:00", ada, family.id, "f3");
    await act.post("2026-10-25T02:30:00.000+01:00", ben, family.id, "f4");
    await act.post("2026-10-25T23:59:59.999+01:00", ben, family.id, "f5");
    await act.post("2026-10-26T00:00:00.000+01:00", ada, family.id, "f6"); // 2026-W44
    clock.at("2026-11-04T12:00:00.000+01:00");
    server.running.reports.runJob();
  });
  afterAll(() => server?.stop());

  it("the week holding the last Sunday of October has 169 hours; its repeated 02:00 hour counts twice", async () => {
    const { body } = await act.report("2026-11-04T12:00:00.000+01:00", ada, "2026-W43");
    expect(lengthInHours(body)).toBe(169);
    expect(body).toMatchObject({
      week: "2026-W43",
      from: "2026-10-19T00:00:00.000+02:00",
      to: "2026-10-26T00:00:00.000+01:00",
      timezone: "Europe/Berlin",
      generatedAt: "2026-11-04T12:00:00.000+01:00",
      totals: { activeUsers: 2, messages: 5, videos: 0, videoBytes: 0, apiCalls: 5 },
      actions: { ...emptyWeek().actions, "message.sent": 5 },
      byDay: [1, 0, 0, 0, 0, 1, 3],
      byHour: hours({ 0: 1, 2: 2, 12: 1, 23: 1 }),
    });
    const seen = body.users.map((u) => [u.displayName, u.messages, u.firstSeen, u.lastSeen]);
    expect(seen.sort()).toEqual([
      ["Ada", 2, "2026-10-19T00:00:00.000+02:00", "2026-10-25T02:30:00.000+02:00"],
      ["Ben", 3, "2026-10-24T12:00:00.000+02:00", "2026-10-25T23:59:59.999+01:00"],
    ]);
  });

  it("the next week starts at Monday 00:00 winter time and has 168 hours", async () => {
    const { body } = await act.report("2026-11-04T12:00:00.000+01:00", ada, "2026-W44");
    expect(lengthInHours(body)).toBe(168);
    expect(body).toMatchObject({
      from: "2026-10-26T00:00:00.000+01:00",
      to: "2026-11-02T00:00:00.000+01:00",
      totals: { messages: 1 },
      byDay: [1, 0, 0, 0, 0, 0, 0],
      byHour: hours({ 0: 1 }),
    });
  });

  it("the week of the spring change has 167 hours and nothing in the skipped 02:00 hour", async () => {
    const { body } = await act.report("2026-11-04T12:00:00.000+01:00", ada, "2026-W13");
    expect(lengthInHours(body)).toBe(167);
    expect(body).toMatchObject({
      from: "2026-03-23T00:00:00.000+01:00",
      to: "2026-03-30T00:00:00.000+02:00",
      totals: { activeUsers: 2, messages: 3, apiCalls: 6 },
      actions: { ...emptyWeek().actions, "message.sent": 3, "user.registered": 2, "conversation.created": 1, "member.added": 1 },
      byDay: [2, 0, 0, 0, 0, 2, 3],
      byHour: hours({ 0: 2, 1: 1, 3: 1, 9: 2, 23: 1 }),
    });
  });

  it("every week in between exists, idle ones with zero counts", async () => {
    const { body: index } = await act.index("2026-11-04T12:00:00.000+01:00", ada);
    expect(index.weeks).toHaveLength(32); // 2026-W13 … 2026-W44
    expect(index.weeks[0]).toBe("2026-W13");
    expect(index.weeks.at(-1)).toBe("2026-W44");
    const { body } = await act.report("2026-11-04T12:00:00.000+01:00", ada, "2026-W20");
    expect(body).toEqual({
      ...emptyWeek(),
      week: "2026-W20",
      from: "2026-05-11T00:00:00.000+02:00",
      to: "2026-05-18T00:00:00.000+02:00",
      timezone: "Europe/Berlin",
      generatedAt: "2026-11-04T12:00:00.000+01:00",
    });
  });

  it("the job's schedule fires once a week, Mondays 00:05 local, across both changes", () => {
    const runs = (from: string) => nextReportRuns("5 0 * * 1", "Europe/Berlin", 3, new Date(from)).map((d) => d.toISOString());
    expect(runs("2026-10-12T00:00:00Z")).toEqual(["2026-10-18T22:05:00.000Z", "2026-10-25T23:05:00.000Z", "2026-11-01T23:05:00.000Z"]);
    expect(runs("2026-03-16T00:00:00Z")).toEqual(["2026-03-22T23:05:00.000Z", "2026-03-29T22:05:00.000Z", "2026-04-05T22:05:00.000Z"]);
  });
});

describe("America/New_York", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;

  beforeAll(async () => {
    clock.at("2026-03-01T12:00:00.000-05:00");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com", REPORT_TZ: "America/New_York" });
    act = new Activity(server, clock);
    // 2026-W10: clocks jump from 02:00 to 03:00 on Sunday 8 March.
    ada = await act.register("2026-03-02T00:00:00.000-05:00", "ada@example.com", "Ada");
    const ben = await act.register("2026-03-02T00:01:00.000-05:00", "ben@example.com", "Ben");
    const family = await act.createConversation("2026-03-02T00:02:00.000-05:00", ada, [ben], "Family");
    await act.post("2026-03-08T01:30:00.000-05:00", ada, family.id, "s1");
    await act.post("2026-03-08T03:30:00.000-04:00", ben, family.id, "s2"); // 1 hour later
    await act.login("2026-10-20T10:00:00.000-04:00", ada);
    await act.login("2026-10-20T10:00:00.000-04:00", ben);
    // 2026-W44: clocks go back from 02:00 to 01:00 on Sunday 1 November; 01:15 happens twice.
    await act.post("2026-11-01T01:15:00.000-04:00", ada, family.id, "f1");
    await act.post("2026-11-01T01:15:00.000-05:00", ben, family.id, "f2");
    await act.post("2026-11-01T02:00:00.000-05:00", ben, family.id, "f3");
    clock.at("2026-11-10T09:00:00.000-05:00");
    server.running.reports.runJob();
  });
  afterAll(() => server?.stop());

  it("the skipped 02:00 hour of 8 March stays 0 in a 167-hour week", async () => {
    const { body } = await act.report("2026-11-10T09:00:00.000-05:00", ada, "2026-W10");
    expect(lengthInHours(body)).toBe(167);
    expect(body).toMatchObject({
      from: "2026-03-02T00:00:00.000-05:00",
      to: "2026-03-09T00:00:00.000-04:00",
      timezone: "America/New_York",
      totals: { activeUsers: 2, messages: 2 },
      byDay: [4, 0, 0, 0, 0, 0, 2],
      byHour: hours({ 0: 4, 1: 1, 3: 1 }),
    });
  });

  it("the repeated 01:00 hour of 1 November adds both 01:15s to one bucket in a 169-hour week", async () => {
    const { body } = await act.report("2026-11-10T09:00:00.000-05:00", ada, "2026-W44");
    expect(lengthInHours(body)).toBe(169);
    expect(body).toMatchObject({
      from: "2026-10-26T00:00:00.000-04:00",
      to: "2026-11-02T00:00:00.000-05:00",
      totals: { activeUsers: 2, messages: 3, apiCalls: 3 },
      byDay: [0, 0, 0, 0, 0, 0, 3],
      byHour: hours({ 1: 2, 2: 1 }),
    });
    const seen = body.users.map((u) => [u.displayName, u.firstSeen, u.lastSeen]);
    expect(seen.sort()).toEqual([
      ["Ada", "2026-11-01T01:15:00.000-04:00", "2026-11-01T01:15:00.000-04:00"],
      ["Ben", "2026-11-01T01:15:00.000-05:00", "2026-11-01T02:00:00.000-05:00"],
    ]);
  });

  it("a job at a skipped or repeated local time still runs once that week", () => {
    const runs = (pattern: string, from: string) =>
      nextReportRuns(pattern, "America/New_York", 3, new Date(from)).map((d) => d.toISOString());
    // 02:30 never happens on 8 March: the run comes at the jump (03:00 EDT), once.
    expect(runs("30 2 * * 0", "2026-03-01T00:00:00Z")).toEqual(["2026-03-01T07:30:00.000Z", "2026-03-08T07:00:00.000Z", "2026-03-15T06:30:00.000Z"]);
    // 01:30 happens twice on 1 November: the run comes at the first, once.
    expect(runs("30 1 * * 0", "2026-10-25T00:00:00Z")).toEqual(["2026-10-25T05:30:00.000Z", "2026-11-01T05:30:00.000Z", "2026-11-08T06:30:00.000Z"]);
  });
});

describe("configuration", () => {
  it("a REPORT_CRON or REPORT_TZ that is not one stops the server naming the variable", () => {
    expect(() => loadConfig({ REPORT_CRON: "every monday" })).toThrow(ConfigError);
    expect(() => loadConfig({ REPORT_CRON: "every monday" })).toThrow(/^REPORT_CRON: /);
    expect(() => loadConfig({ REPORT_TZ: "Mars/Olympus" })).toThrow(/^REPORT_TZ: /);
    expect(loadConfig({ REPORT_CRON: "0 6 * * 1", REPORT_TZ: "Europe/Berlin" })).toMatchObject({ reportCron: "0 6 * * 1" });
  });
});
