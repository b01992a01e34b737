/**
 * The weekly report (DESIGN.md "The weekly report"): two weeks of known activity by three
 * users at fixed instants (UTC), around New Year, so the second week is ISO 2026-W01 which
 * starts on 2025-12-29. Each report is compared field by field with numbers worked out by hand
 * from the script below; activity on the last millisecond of a Sunday and the first of a
 * Monday lands in the right week.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { weeklyReportSchema, type Conversation, type WeeklyReport } from "@wbk/shared";
import { Activity, Clock, emptyWeek, hours, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import type { TestUser } from "./helpers/users.js";

const byId = <T extends { userId?: string; conversationId?: string }>(rows: T[]) =>
  [...rows].sort((a, b) => ((a.userId ?? a.conversationId)! < (b.userId ?? b.conversationId)! ? -1 : 1));

describe("weekly reports", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser; // admin
  let ben: TestUser;
  let cy: TestUser;
  let family: Conversation;
  let owls: Conversation;

  beforeAll(async () => {
    clock.at("2025-12-22T08:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com" });
    act = new Activity(server, clock);

    // ---- 2025-W52: Monday 2025-12-22 to Monday 2025-12-29 ----
    ada = await act.register("2025-12-22T09:00:00.000Z", "ada@example.com", "Ada");
    ben = await act.register("2025-12-22T09:05:00.000Z", "ben@example.com", "Ben");
    family = await act.createConversation("2025-12-24T18:30:00.000Z", ada, [ben], "Family");
    await act.post("2025-12-24T18:31:00.000Z", ada, family.id, "m1", "Merry Christmas");
    expect(await act.get("2025-12-27T11:00:00.000Z", null, "/api/config")).toBe(200); // anonymous
    await act.post("2025-12-27T11:15:00.000Z", ben, family.id, "m2"); // a Saturday
    await act.post("2025-12-28T23:59:59.999Z", ben, family.id, "m3"); // the week's last millisecond

    // ---- 2026-W01: Monday 2025-12-29 to Monday 2026-01-05 ----
    const m4 = await act.post("2025-12-29T00:00:00.000Z", ada, family.id, "m4"); // its first millisecond
    expect(await act.login("2025-12-29T00:00:00.000Z", ben, "wrong password")).toBe(401); // anonymous
    expect(await act.login("2025-12-30T09:00:00.000Z", ben)).toBe(200);
    cy = await act.register("2025-12-30T10:00:00.000Z", "cy@example.com", "Cy");
    await act.addMember("2025-12-30T10:05:00.000Z", ada, family.id, cy);
    await act.react("2025-12-30T10:10:00.000Z", cy, family.id, "m4", "🎉");
    await act.edit("2025-12-31T23:30:00.000Z", ben, family.id, "m3", "see you next year");
    await act.read("2026-01-01T00:15:00.000Z", ben, family.id, m4);
    await act.remove("2026-01-02T08:00:00.000Z", ada, family.id, "m1");
    owls = await act.createConversation("2026-01-03T14:20:00.000Z", cy, [ben], "Night owls"); // a Saturday
    await act.post("2026-01-03T14:21:00.000Z", cy, owls.id, "n1");
    await act.post("2026-01-04T23:59:59.999Z", ben, owls.id, "n2");
    expect(await act.get("2026-01-04T23:59:59.999Z", ben, "/api/me")).toBe(200);
    expect(await act.get("2026-01-04T23:59:59.999Z", null, "/api/me")).toBe(401); // anonymous

    // ---- 2026-W02 ----
    await act.post("2026-01-05T00:00:00.000Z", ada, family.id, "m5");
  });
  afterAll(() => server?.stop());

  it("the current week is computed live and partial, before and apart from any stored week", async () => {
    const { status, body } = await act.report("2026-01-07T12:00:00.000Z", ada, "current");
    expect(status).toBe(200);
    expect(body).toEqual({
      ...emptyWeek(),
      week: "2026-W02",
      from: "2026-01-05T00:00:00.000+00:00",
      to: "2026-01-12T00:00:00.000+00:00",
      timezone: "UTC",
      generatedAt: "2026-01-07T12:00:00.000+00:00",
      partial: true,
      totals: { activeUsers: 1, messages: 1, videos: 0, videoBytes: 0, apiCalls: 1 },
      users: [
        {
          userId: ada.user.id,
          email: "ada@example.com",
          displayName: "Ada",
          messages: 1,
          videos: 0,
          videoBytes: 0,
          apiCalls: { "POST /api/conversations/:id/messages": 1 },
          conversations: 1,
          firstSeen: "2026-01-05T00:00:00.000+00:00",
          lastSeen: "2026-01-05T00:00:00.000+00:00",
        },
      ],
      actions: { ...emptyWeek().actions, "message.sent": 1 },
      conversations: [{ conversationId: family.id, title: "Family", messages: 1, videos: 0, activeUsers: 1 }],
      byDay: [1, 0, 0, 0, 0, 0, 0],
      byHour: hours({ 0: 1 }),
    });
  });

  it("the job stores every complete week since the first activity; running it again stores nothing", async () => {
    clock.at("2026-01-07T12:00:01.000Z");
    // Started on 2025-12-22 with no activity, the server had nothing to store yet.
    const first = server.running.reports.runJob();
    expect(first.stored).toEqual(["2025-W52", "2026-W01"]);
    const again = server.running.reports.runJob();
    expect(again.stored).toEqual([]);
    const { body } = await act.index("2026-01-07T12:00:02.000Z", ada);
    expect(body).toEqual({ weeks: ["2025-W52", "2026-W01"] });
  });

  it("2026-W01 (starting 2025-12-29) holds exactly that week's activity", async () => {
    const { status, body } = await act.report("2026-01-07T12:01:00.000Z", ada, "2026-W01");
    expect(status).toBe(200);
    const report = body as WeeklyReport;
    expect(weeklyReportSchema.parse(report)).toEqual(report); // the shape the OpenAPI document declares
    expect(report.week).toBe("2026-W01");
    expect(report.from).toBe("2025-12-29T00:00:00.000+00:00");
    expect(report.to).toBe("2026-01-05T00:00:00.000+00:00");
    expect(report.timezone).toBe("UTC");
    expect(report.generatedAt).toBe("2026-01-07T12:00:01.000+00:00"); // when the job stored it
    expect(report.partial).toBe(false);
    expect(report.actions).toEqual({
      "message.sent": 3, // m4 (Monday 00:00:00.000), n1, n2 (Sunday 23:59:59.999)
      "message.edited": 1,
      "message.deleted": 1,
      "video.shared": 0,
      "reaction.set": 1,
      "read.updated": 1,
      "member.added": 2, // Cy to Family, Ben to Night owls
      "conversation.created": 1,
      "user.registered": 1,
    });
    expect(report.byDay).toEqual([1, 3, 1, 1, 1, 3, 1]);
    expect(report.byHour).toEqual(hours({ 0: 2, 8: 1, 10: 3, 14: 3, 23: 2 }));
    // 4 by Ada, 7 by Ben, 5 by Cy, and 2 anonymous (the failed sign-in, the 401 on /api/me).
    expect(report.totals).toEqual({ activeUsers: 3, messages: 3, videos: 0, videoBytes: 0, apiCalls: 18 });
    const sync = "/api/conversations/:id/sync";
    expect(report.users).toEqual(
      byId([
        {
          userId: ada.user.id,
          email: "ada@example.com",
          displayName: "Ada",
          messages: 1,
          videos: 0,
          videoBytes: 0,
          apiCalls: {
            [`GET ${sync}`]: 1,
            "POST /api/conversations/:id/members": 1,
            "POST /api/conversations/:id/messages": 1,
            [`POST ${sync}`]: 1,
          },
          conversations: 1,
          firstSeen: "2025-12-29T00:00:00.000+00:00",
          lastSeen: "2026-01-02T08:00:00.000+00:00",
        },
        {
          userId: ben.user.id,
          email: "ben@example.com",
          displayName: "Ben",
          messages: 1,
          videos: 0,
          videoBytes: 0,
          apiCalls: {
            [`GET ${sync}`]: 2,
            "GET /api/me": 1,
            "POST /api/auth/login": 1,
            "POST /api/conversations/:id/messages": 1,
            [`POST ${sync}`]: 2,
          },
          conversations: 2, // edited in Family, wrote in Night owls; reading is not writing
          firstSeen: "2025-12-30T09:00:00.000+00:00",
          lastSeen: "2026-01-04T23:59:59.999+00:00",
        },
        {
          userId: cy.user.id,
          email: "cy@example.com",
          displayName: "Cy",
          messages: 1,
          videos: 0,
          videoBytes: 0,
          apiCalls: {
            [`GET ${sync}`]: 1,
            "POST /api/auth/register": 1,
            "POST /api/conversations": 1,
            "POST /api/conversations/:id/messages": 1,
            [`POST ${sync}`]: 1,
          },
          conversations: 2,
          firstSeen: "2025-12-30T10:00:00.000+00:00",
          lastSeen: "2026-01-03T14:21:00.000+00:00",
        },
      ]),
    );
    expect(Object.keys(report.users[0]!.apiCalls)).toEqual([...Object.keys(report.users[0]!.apiCalls)].sort());
    expect(report.conversations).toEqual(
      byId([
        { conversationId: family.id, title: "Family", messages: 1, videos: 0, activeUsers: 3 },
        { conversationId: owls.id, title: "Night owls", messages: 2, videos: 0, activeUsers: 2 },
      ]),
    );
  });

  it("2025-W52 ends at Sunday 23:59:59.999 and counts its Saturday", async () => {
    const { status, body } = await act.report("2026-01-07T12:02:00.000Z", ada, "2025-W52");
    expect(status).toBe(200);
    expect(body).toEqual({
      week: "2025-W52",
      from: "2025-12-22T00:00:00.000+00:00",
      to: "2025-12-29T00:00:00.000+00:00",
      timezone: "UTC",
      generatedAt: "2026-01-07T12:00:01.000+00:00",
      partial: false,
      totals: { activeUsers: 2, messages: 3, videos: 0, videoBytes: 0, apiCalls: 7 },
      users: byId([
        {
          userId: ada.user.id,
          email: "ada@example.com",
          displayName: "Ada",
          messages: 1,
          videos: 0,
          videoBytes: 0,
          apiCalls: { "POST /api/auth/register": 1, "POST /api/conversations": 1, "POST /api/conversations/:id/messages": 1 },
          conversations: 1,
          firstSeen: "2025-12-22T09:00:00.000+00:00",
          lastSeen: "2025-12-24T18:31:00.000+00:00",
        },
        {
          userId: ben.user.id,
          email: "ben@example.com",
          displayName: "Ben",
          messages: 2,
          videos: 0,
          videoBytes: 0,
          apiCalls: { "POST /api/auth/register": 1, "POST /api/conversations/:id/messages": 2 },
          conversations: 1,
          firstSeen: "2025-12-22T09:05:00.000+00:00",
          lastSeen: "2025-12-28T23:59:59.999+00:00",
        },
      ]),
      actions: { ...emptyWeek().actions, "message.sent": 3, "member.added": 1, "conversation.created": 1, "user.registered": 2 },
      conversations: [{ conversationId: family.id, title: "Family", messages: 3, videos: 0, activeUsers: 2 }],
      byDay: [2, 0, 3, 0, 0, 1, 1],
      byHour: hours({ 9: 2, 11: 1, 18: 3, 23: 1 }),
    });
  });

  it("a stored week is served as stored, also after a restart (which stores nothing new)", async () => {
    const before = await act.report("2026-01-07T12:03:00.000Z", ada, "2026-W01");
    clock.at("2026-01-07T12:04:00.000Z");
    await server.restart();
    const after = await act.report("2026-01-07T12:05:00.000Z", ada, "2026-W01");
    expect(after.body).toEqual(before.body);
    expect((await act.index("2026-01-07T12:05:00.000Z", ada)).body).toEqual({ weeks: ["2025-W52", "2026-W01"] });
  });
});
