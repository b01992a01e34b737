/**
 * Which weeks exist and who may see them (DESIGN.md "The weekly report", "Errors"): weeks from
 * the first activity to the last complete one, 404 `week_not_found` otherwise; 400
 * `validation_failed` for a malformed week; admins only (403 `forbidden`, 401 without a session).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Activity, Clock, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import { api, type TestUser } from "./helpers/users.js";

describe("report weeks and access", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser; // admin
  let ben: TestUser;

  beforeAll(async () => {
    clock.at("2026-03-01T12:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com" });
    act = new Activity(server, clock);
  });
  afterAll(() => server?.stop());

  it("before a week of activity is complete, there is no week at all; current works", async () => {
    ada = await act.register("2026-03-04T10:00:00.000Z", "ada@example.com", "Ada"); // 2026-W10, the first activity
    ben = await act.register("2026-03-04T10:01:00.000Z", "ben@example.com", "Ben");
    expect((await act.index("2026-03-06T10:00:00.000Z", ada)).body).toEqual({ weeks: [] });
    for (const week of ["2026-W09", "2026-W10"]) {
      const { status, body } = await act.report("2026-03-06T10:00:00.000Z", ada, week);
      expect({ week, status, body }).toEqual({
        week,
        status: 404,
        body: { error: { code: "week_not_found", message: `no report for ${week}: there is no complete week of activity yet` } },
      });
    }
    const current = await act.report("2026-03-06T10:00:00.000Z", ada, "current");
    expect(current.status).toBe(200);
    expect(current.body).toMatchObject({ week: "2026-W10", partial: true, actions: { "user.registered": 2 } });
  });

  it("answers 404 week_not_found outside the first activity's week to the last complete week", async () => {
    clock.at("2026-03-18T12:00:00.000Z"); // Wednesday of 2026-W12
    for (const week of ["2026-W10", "2026-W11"]) {
      expect({ week, status: (await act.report("2026-03-18T12:00:00.000Z", ada, week)).status }).toEqual({ week, status: 200 });
    }
    // Before the first activity, the current week by its label, the future, long ago.
    for (const week of ["2026-W09", "2026-W12", "2026-W13", "2024-W10"]) {
      const { status, body } = await act.report("2026-03-18T12:00:00.000Z", ada, week);
      expect({ week, status, code: body.error?.code }).toEqual({ week, status: 404, code: "week_not_found" });
    }
    const { body } = await act.report("2026-03-18T12:00:00.000Z", ada, "2026-W09");
    expect((body as unknown as { error: { message: string } }).error.message).toBe(
      "no report for 2026-W09: reports cover 2026-W10 (the first activity) to 2026-W11 (the last complete week)",
    );
    expect((await act.index("2026-03-18T12:00:00.000Z", ada)).body).toEqual({ weeks: ["2026-W10", "2026-W11"] });
  });

  it("answers 400 validation_failed for a malformed or missing week", async () => {
    // 2026 has 53 ISO weeks, 2025 only 52.
    for (const week of ["2026-W54", "2025-W53", "2026-W00", "2026-48", "2026-w01", "26-W01", "current ", "latest", ""]) {
      const { status, body } = await act.report("2026-03-18T12:00:00.000Z", ada, week);
      expect({ week, status, code: body.error?.code }).toEqual({ week, status: 400, code: "validation_failed" });
      expect((body as unknown as { error: { message: string } }).error.message).toBe(
        'week must be "current" or an ISO week like 2026-W48 that exists',
      );
    }
    expect((await act.report("2026-03-18T12:00:00.000Z", ada, "2026-W53")).body.error?.code).toBe("week_not_found");
    const missing = await api<{ error: { code: string; details: Array<{ path: string }> } }>(server.url, "GET", "/api/reports/weekly", {
      token: ada.token,
    });
    expect(missing.status).toBe(400);
    expect(missing.body.error.details[0]?.path).toBe("week");
  });

  it("is for admins only: 403 forbidden for a member, 401 without a session", async () => {
    // Malformed or missing weeks too: the role is checked before the query.
    const paths = ["/api/reports/weekly?week=2026-W10", "/api/reports/weekly?week=current", "/api/reports/weekly/index"];
    for (const path of [...paths, "/api/reports/weekly?week=abc", "/api/reports/weekly?week=2026-W99", "/api/reports/weekly"]) {
      const member = await api<{ error: { code: string } }>(server.url, "GET", path, { token: ben.token });
      expect({ path, status: member.status, code: member.body.error.code }).toEqual({ path, status: 403, code: "forbidden" });
      const anonymous = await api<{ error: { code: string } }>(server.url, "GET", path);
      expect({ path, status: anonymous.status, code: anonymous.body.error.code }).toEqual({ path, status: 401, code: "unauthenticated" });
    }
  });
});
