import type { WeeklyReport } from "@wbk/shared";
import type { ReportStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

interface Row {
  body: string;
  from_ms: number;
  to_ms: number;
  compacted_through: number | null;
}

export function sqliteReports(db: Db, rollups: Rollups): ReportStore {
  // The primary key on week is the guard between processes: the loser's insert changes nothing.
  const insert = db.prepare(
    `INSERT INTO reports (week, timezone, from_ms, to_ms, generated_at, body) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (week) DO NOTHING`,
  );
  const upsert = db.prepare(
    `INSERT INTO reports (week, timezone, from_ms, to_ms, generated_at, body) VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (week) DO UPDATE SET timezone = excluded.timezone, from_ms = excluded.from_ms,
       to_ms = excluded.to_ms, generated_at = excluded.generated_at, body = excluded.body`,
  );
  const get = db.prepare<[string], Row>("SELECT body, from_ms, to_ms, compacted_through FROM reports WHERE week = ?");
  const weeks = db.prepare<[], { week: string }>("SELECT week FROM reports ORDER BY week");
  const toCompact = db.prepare<{ before: number }, { week: string; timezone: string; from_ms: number; end: number }>(
    `SELECT week, timezone, from_ms, MIN(to_ms, @before) AS end FROM reports
      WHERE from_ms < @before AND (compacted_through IS NULL OR compacted_through < MIN(to_ms, @before))`,
  );
  // Rows whose bytes are still kept are the document's only copy of that change: never deleted here.
  const deleteUpdates = db.prepare(
    "DELETE FROM update_log WHERE server_time >= ? AND server_time < ? AND bytes IS NULL",
  );
  const deleteRequests = db.prepare("DELETE FROM request_log WHERE at >= ? AND at < ?");
  const markCompacted = db.prepare("UPDATE reports SET compacted_through = ? WHERE week = ?");

  const values = (report: WeeklyReport, from: number, to: number) =>
    [report.week, report.timezone, from, to, Date.parse(report.generatedAt), JSON.stringify(report)] as const;

  // Run IMMEDIATE: the compaction check and the write must not interleave with a compaction.
  const replace = db.transaction((report: WeeklyReport, from: number, to: number) => {
    if ((get.get(report.week)?.compacted_through ?? null) !== null) return false;
    upsert.run(...values(report, from, to));
    return true;
  });
  const compact = db.transaction((before: number) => {
    const due = toCompact.all({ before });
    for (const { week, timezone, from_ms, end } of due) {
      deleteUpdates.run(from_ms, end);
      deleteRequests.run(from_ms, end);
      markCompacted.run(end, week);
      // The stored report never changes again; neither is its week read from the rollups.
      rollups.dropCompacted(week, timezone, from_ms, end);
    }
    return due.map((d) => d.week);
  });

  return {
    putIfAbsent: (report, from, to) => insert.run(...values(report, from, to)).changes > 0,
    replace: (report, from, to) => replace.immediate(report, from, to),
    get: (week) => {
      const row = get.get(week);
      return (
        row && {
          report: JSON.parse(row.body) as WeeklyReport,
          from: row.from_ms,
          to: row.to_ms,
          compactedThrough: row.compacted_through,
        }
      );
    },
    weeks: () => weeks.all().map((r) => r.week),
    compact: (before) => compact.immediate(before),
  };
}
