/**
 * Videos in the weekly report: `video.shared`, `videos` and `videoBytes` count finished videos
 * in the week they finished uploading (by the uploader), while each video message counts as a
 * message when its upload is created; a refused upload is a message but no video. tus
 * requests are API calls by route pattern.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Conversation } from "@wbk/shared";
import { Activity, Clock, emptyWeek, hours, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import { fixture } from "./helpers/tus.js";
import type { TestUser } from "./helpers/users.js";

const MP4 = fixture("clip-h264-5s.mp4");
const WEBM = fixture("clip-vp9-3s.webm");

describe("videos in the weekly report", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;
  let ben: TestUser;
  let family: Conversation;

  beforeAll(async () => {
    clock.at("2026-11-30T07:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com" });
    act = new Activity(server, clock);
    // ---- 2026-W49: Monday 2026-11-30 to Monday 2026-12-07 ----
    ada = await act.register("2026-11-30T08:00:00.000Z", "ada@example.com", "Ada");
    ben = await act.register("2026-11-30T08:01:00.000Z", "ben@example.com", "Ben");
    family = await act.createConversation("2026-11-30T08:02:00.000Z", ada, [ben], "Family");
    expect(await act.shareVideo("2026-12-01T10:00:00.000Z", "2026-12-01T10:01:00.000Z", ada, family.id, MP4, "beach.mp4")).toBe(204);
    expect(await act.shareVideo("2026-12-02T12:00:00.000Z", "2026-12-02T12:00:05.000Z", ben, family.id, fixture("not-a-video.mp4"), "x.mp4")).toBe(415);
    // Created on Sunday night, finished on Monday: a message of W49, a video of W50.
    expect(await act.shareVideo("2026-12-06T23:59:00.000Z", "2026-12-07T00:00:30.000Z", ben, family.id, WEBM, "night.webm")).toBe(204);
  });
  afterAll(() => server?.stop());

  it("counts videos and their bytes where they finished, messages where they were created", async () => {
    const { status, body } = await act.report("2026-12-14T12:00:00.000Z", ada, "2026-W49");
    expect(status).toBe(200);
    expect({ ...body, generatedAt: "-" }).toEqual({
      ...emptyWeek(),
      week: "2026-W49",
      from: "2026-11-30T00:00:00.000+00:00",
      to: "2026-12-07T00:00:00.000+00:00",
      timezone: "UTC",
      generatedAt: "-",
      totals: { activeUsers: 2, messages: 3, videos: 1, videoBytes: MP4.length, apiCalls: 8 },
      users: [
        {
          userId: ada.user.id,
          email: "ada@example.com",
          displayName: "Ada",
          messages: 1,
          videos: 1,
          videoBytes: MP4.length,
          apiCalls: { "PATCH /api/uploads/:id": 1, "POST /api/auth/register": 1, "POST /api/conversations": 1, "POST /api/uploads": 1 },
          conversations: 1,
          firstSeen: "2026-11-30T08:00:00.000+00:00",
          lastSeen: "2026-12-01T10:01:00.000+00:00",
        },
        {
          userId: ben.user.id,
          email: "ben@example.com",
          displayName: "Ben",
          messages: 2,
          videos: 0,
          videoBytes: 0,
          apiCalls: { "PATCH /api/uploads/:id": 1, "POST /api/auth/register": 1, "POST /api/uploads": 2 },
          conversations: 1,
          firstSeen: "2026-11-30T08:01:00.000+00:00",
          lastSeen: "2026-12-06T23:59:00.000+00:00",
        },
      ].sort((a, b) => (a.userId < b.userId ? -1 : 1)),
      actions: {
        ...emptyWeek().actions,
        "user.registered": 2,
        "conversation.created": 1,
        "member.added": 1,
        "message.sent": 3,
        "video.shared": 1,
      },
      conversations: [{ conversationId: family.id, title: "Family", messages: 3, videos: 1, activeUsers: 2 }],
      byDay: [4, 2, 1, 0, 0, 0, 1],
      byHour: hours({ 8: 4, 10: 2, 12: 1, 23: 1 }),
    });
  });

  it("the video finished after midnight belongs to the next week", async () => {
    const { body } = await act.report("2026-12-14T12:00:00.000Z", ada, "2026-W50");
    expect(body.totals).toEqual({ activeUsers: 1, messages: 0, videos: 1, videoBytes: WEBM.length, apiCalls: 1 });
    expect(body.users.map((u) => [u.displayName, u.videos, u.videoBytes, u.apiCalls, u.conversations])).toEqual([
      ["Ben", 1, WEBM.length, { "PATCH /api/uploads/:id": 1 }, 1],
    ]);
    expect(body.actions["video.shared"]).toBe(1);
    expect(body.byDay).toEqual([1, 0, 0, 0, 0, 0, 0]);
    expect(body.byHour).toEqual(hours({ 0: 1 }));
  });
});
