/**
 * Retention and the report CLI (issue 5, items 5 and 6): with RETENTION_DAYS set, update-log
 * metadata and request-log rows older than that are deleted once their week is stored; the
 * stored reports stay exactly as they were, `npm run report` prints them, and `--recompute` is
 * refused for a week whose rows are gone.
 */
import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reportCli } from "./helpers/process.js";
import type { WeeklyReport } from "@wbk/shared";
import { Activity, Clock, sqliteFile, startClockedServer } from "./helpers/activity.js";
import type { TestServer } from "./helpers/server.js";
import type { TestUser } from "./helpers/users.js";

const root = path.resolve(import.meta.dirname, "..");


/** The report CLI as an operator with RETENTION_DAYS=21 runs it. */
const retentionCli = (dataDir: string, args: string[]) => reportCli(dataDir, args, { RETENTION_DAYS: "21" });

/** Rows of the two logs before an instant, read straight from the file. */
function rowsBefore(server: TestServer, instant: string) {
  const db = new Database(sqliteFile(server), { readonly: true });
  try {
    const at = Date.parse(instant);
    const count = (sql: string) => (db.prepare(sql).get(at) as { n: number }).n;
    return {
      updates: count("SELECT COUNT(*) AS n FROM update_log WHERE server_time < ?"),
      requests: count("SELECT COUNT(*) AS n FROM request_log WHERE at < ?"),
    };
  } finally {
    db.close();
  }
}

describe("RETENTION_DAYS and the report CLI", () => {
  const clock = new Clock();
  let server: TestServer;
  let act: Activity;
  let ada: TestUser;
  const stored: Record<string, WeeklyReport> = {};

  beforeAll(async () => {
    clock.at("2026-03-01T12:00:00.000Z");
    server = await startClockedServer(clock, { ADMIN_EMAILS: "ada@example.com", RETENTION_DAYS: "21" });
    act = new Activity(server, clock);
    ada = await act.register("2026-03-02T09:00:00.000Z", "ada@example.com", "Ada"); // 2026-W10
    const ben = await act.register("2026-03-02T09:01:00.000Z", "ben@example.com", "Ben");
    const family = await act.createConversation("2026-03-03T10:00:00.000Z", ada, [ben], "Family");
    await act.post("2026-03-03T10:01:00.000Z", ada, family.id, "a1");
    await act.edit("2026-03-04T10:00:00.000Z", ada, family.id, "a1", "edited");
    await act.post("2026-03-10T10:00:00.000Z", ben, family.id, "b1"); // 2026-W11
    await act.react("2026-03-11T10:00:00.000Z", ada, family.id, "b1", "👍");

    // W12: the job stores W10 and W11; nothing is 21 days old yet.
    clock.at("2026-03-18T12:00:00.000Z");
    expect(server.running.reports.runJob()).toEqual({ stored: ["2026-W10", "2026-W11"], compacted: [] });
    for (const week of ["2026-W10", "2026-W11"]) stored[week] = (await act.report("2026-03-18T12:00:00.000Z", ada, week)).body;
  });
  afterAll(() => server?.stop());

  it("deletes log rows past RETENTION_DAYS in stored weeks at start and keeps the reports as they were", async () => {
    expect(rowsBefore(server, "2026-03-16T00:00:00.000Z").updates).toBeGreaterThan(0);
    // Four weeks later (W16): the restart stores every open document (so the log's bytes are
    // covered by snapshots), then catches up W12-W15 and compacts before 2026-03-25T12:00.
    clock.at("2026-04-15T12:00:00.000Z");
    await server.restart();
    expect(rowsBefore(server, "2026-03-25T12:00:00.000Z")).toEqual({ updates: 0, requests: 0 });
    await act.login("2026-04-15T12:00:01.000Z", ada);
    for (const week of ["2026-W10", "2026-W11"]) {
      expect((await act.report("2026-04-15T12:00:02.000Z", ada, week)).body).toEqual(stored[week]);
    }
    expect(stored["2026-W10"]!.actions).toMatchObject({ "message.sent": 1, "message.edited": 1, "user.registered": 2 });
    expect(stored["2026-W11"]!.actions).toMatchObject({ "message.sent": 1, "reaction.set": 1 });
    // A second run at the same instant has nothing left to delete and changes nothing.
    clock.at("2026-04-15T12:00:00.000Z");
    expect(server.running.reports.runJob()).toEqual({ stored: [], compacted: [] });
  });

  it("the CLI prints the stored report, the same JSON as the endpoint", async () => {
    const { code, stdout, stderr } = await retentionCli(server.dataDir, ["--week", "2026-W10"]);
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(JSON.parse(stdout)).toEqual(stored["2026-W10"]);
  });

  it("--recompute is refused once a week's rows were compacted, wholly or in part", async () => {
    for (const [week, through] of [
      ["2026-W11", "2026-03-16T00:00:00.000+00:00"],
      ["2026-W13", "2026-03-25T12:00:00.000+00:00"],
    ]) {
      const { code, stdout, stderr } = await retentionCli(server.dataDir, ["--week", week!, "--recompute"]);
      expect({ code, stdout }).toEqual({ code: 1, stdout: "" });
      expect(stderr).toBe(
        `wbk-chat report: ${week} cannot be recomputed: its log rows before ${through} were deleted ` +
          "(RETENTION_DAYS=21); the stored report is kept as it is\n",
      );
    }
    expect((await act.report("2026-04-15T12:00:03.000Z", ada, "2026-W11")).body).toEqual(stored["2026-W11"]);
  });

  it("--recompute recomputes and stores a week whose rows are all there", async () => {
    const before = (await act.report("2026-04-15T12:00:04.000Z", ada, "2026-W14")).body;
    const { code, stdout } = await retentionCli(server.dataDir, ["--week", "2026-W14", "--recompute"]);
    expect(code).toBe(0);
    const recomputed = JSON.parse(stdout) as WeeklyReport;
    expect({ ...recomputed, generatedAt: before.generatedAt }).toEqual(before);
    expect(recomputed.generatedAt).not.toBe(before.generatedAt); // the CLI's clock is the real one
    expect((await act.report("2026-04-15T12:00:05.000Z", ada, "2026-W14")).body).toEqual(recomputed);
  });

  it("the CLI explains a malformed or missing week and a missing database", async () => {
    expect(await retentionCli(server.dataDir, ["--week", "2026-W60"])).toMatchObject({ code: 2, stdout: "" });
    const early = await retentionCli(server.dataDir, ["--week", "2025-W01"]);
    expect(early).toMatchObject({ code: 1, stdout: "" });
    expect(early.stderr).toMatch(/^wbk-chat report: no report for 2025-W01: reports cover 2026-W10 \(the first activity\)/);
    const nowhere = await retentionCli(path.join(server.dataDir, "nowhere"), ["--week", "2026-W10"]);
    expect(nowhere).toMatchObject({ code: 1, stdout: "" });
    expect(nowhere.stderr).toMatch(/no database at .*nowhere.*wbk\.sqlite; set DATA_DIR/);
  });

  it("`npm run report` runs the built CLI", async () => {
    const { stdout } = await promisify(execFile)("npm", ["run", "-s", "report", "--", "--week", "2026-W10"], {
      cwd: root,
      env: { ...process.env, DATA_DIR: server.dataDir, LOG_LEVEL: "", REPORT_TZ: "", RETENTION_DAYS: "" },
    });
    expect(JSON.parse(stdout)).toEqual(stored["2026-W10"]);
  }, 120_000);
});
