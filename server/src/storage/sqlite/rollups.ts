/**
 * Weekly report rollups (migration 4): every store that writes a row the report counts adds it
 * here in the same transaction, so a week's report reads a few rows per user and conversation
 * instead of every log row of the week. The counting rules are those of the log queries in
 * ./activity.ts, which stay the reference: the rollups are rebuilt from them when they are new
 * (an upgraded database) or were kept in another REPORT_TZ.
 */
import type { ConversationId, ReportAction, UserId } from "@wbk/shared";
import { addWeeks, WeekCalendar } from "../../reports/week.js";
import {
  ACTIVITY_SLICE_MS,
  type ActionCount,
  type LogEntry,
  type RequestCount,
  type RequestLogEntry,
  type WeekActivity,
  type WeekSpan,
} from "../types.js";
import { LOGGED_KINDS, type LogActivity } from "./activity.js";
import type { Db } from "./database.js";

export interface Rollups {
  /** Counts `count` actions of one kind at one instant (a row just written). */
  action(kind: ReportAction, userId: string | null, conversationId: string | null, at: number, count?: number, bytes?: number): void;
  /** Counts an accepted update: each logged kind it holds once, and each new message. */
  update(entry: LogEntry): void;
  /** Counts a batch of request-log rows (REST and tus requests only). */
  requests(entries: readonly RequestLogEntry[]): void;
  /**
   * Forgets a stored week whose log rows were compacted up to `through`: its report never
   * changes again. Only when the report was made in the rollups' zone (same label, same span).
   */
  dropCompacted(week: string, timezone: string, from: number, through: number): void;
  /** The week from the rollups; undefined when they are kept in another zone than the span's. */
  week(span: WeekSpan): WeekActivity | undefined;
  /** At open: rebuilds the rollups from the logs when they are new or of another zone. */
  ensure(logs: LogActivity): void;
}

/** kind, user_id, conversation_id, n, bytes, first, last (rows as arrays: a week has thousands). */
type ActionRow = [ReportAction, string, string, number, number, number, number];
/** user_id, method, route, n, first, last */
type RequestRow = [string, string, string, number, number, number];

const sliceOf = (instant: number) => Math.floor(instant / ACTIVITY_SLICE_MS);

export function sqliteRollups(db: Db, timezone: string): Rollups {
  const calendar = new WeekCalendar(timezone);
  const addAction = db.prepare<[string, string, string, string, number, number, number, number]>(
    `INSERT INTO rollup_week_actions (week, kind, user_id, conversation_id, n, bytes, first, last) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (week, kind, user_id, conversation_id) DO UPDATE SET n = n + excluded.n, bytes = bytes + excluded.bytes,
       first = MIN(first, excluded.first), last = MAX(last, excluded.last)`,
  );
  const addSlice = db.prepare<[number, number]>(
    "INSERT INTO rollup_slices (slice, n) VALUES (?, ?) ON CONFLICT (slice) DO UPDATE SET n = n + excluded.n",
  );
  const addRequests = db.prepare<[string, string, string, string, number, number, number]>(
    `INSERT INTO rollup_week_requests (week, user_id, method, route, n, first, last) VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (week, user_id, method, route) DO UPDATE SET n = n + excluded.n,
       first = MIN(first, excluded.first), last = MAX(last, excluded.last)`,
  );
  const zone = db.prepare<[], string>("SELECT timezone FROM rollup_meta WHERE id = 1").pluck();
  const setZone = db.prepare<[string]>(
    "INSERT INTO rollup_meta (id, timezone) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET timezone = excluded.timezone",
  );
  const weekActions = db
    .prepare<[string], ActionRow>("SELECT kind, user_id, conversation_id, n, bytes, first, last FROM rollup_week_actions WHERE week = ?")
    .raw(true);
  const weekRequests = db
    .prepare<[string], RequestRow>("SELECT user_id, method, route, n, first, last FROM rollup_week_requests WHERE week = ?")
    .raw(true);
  const slices = db
    .prepare<[number, number], [number, number]>("SELECT slice, n FROM rollup_slices WHERE slice BETWEEN ? AND ? ORDER BY slice")
    .raw(true);
  const dropWeekActions = db.prepare<[string]>("DELETE FROM rollup_week_actions WHERE week = ?");
  const dropWeekRequests = db.prepare<[string]>("DELETE FROM rollup_week_requests WHERE week = ?");
  const dropSlices = db.prepare<[number, number]>("DELETE FROM rollup_slices WHERE slice BETWEEN ? AND ?");
  const compactedReports = db.prepare<[], { week: string; timezone: string; from_ms: number; compacted_through: number }>(
    "SELECT week, timezone, from_ms, compacted_through FROM reports WHERE compacted_through IS NOT NULL",
  );

  const action: Rollups["action"] = (kind, userId, conversationId, at, count = 1, bytes = 0) => {
    addAction.run(calendar.containing(at).week, kind, userId ?? "", conversationId ?? "", count, bytes, at, at);
    addSlice.run(sliceOf(at), count);
  };

  const dropCompacted: Rollups["dropCompacted"] = (week, reportZone, from, through) => {
    if (reportZone !== zone.get()) return;
    dropWeekActions.run(week);
    dropWeekRequests.run(week);
    if (through > from) dropSlices.run(sliceOf(from), sliceOf(through - 1));
  };

  const readWeek = db.transaction((span: WeekSpan): WeekActivity | undefined => {
    // Another process may have rebuilt them for its own zone; the logs answer for any zone.
    if (zone.get() !== timezone) return undefined;
    const bounds = calendar.bounds(span.week);
    if (bounds.from !== span.from || bounds.to !== span.to) return undefined;
    const actions = weekActions.all(span.week).map(([kind, userId, conversationId, n, bytes, first, last]): ActionCount => {
      const count: ActionCount = {
        kind,
        userId: (userId || null) as UserId | null,
        conversationId: (conversationId || null) as ConversationId | null,
        count: n,
        first,
        last,
      };
      if (kind === "video.shared") count.bytes = bytes;
      return count;
    });
    const requests = weekRequests
      .all(span.week)
      .map(([userId, method, route, n, first, last]): RequestCount => ({ userId: (userId || null) as UserId | null, method, route, count: n, first, last }));
    const timeline = slices.all(sliceOf(span.from), sliceOf(span.to - 1)).map(([slice, n]) => ({ at: slice * ACTIVITY_SLICE_MS, count: n }));
    return { actions, requests, timeline };
  });

  // One transaction, IMMEDIATE: no write may slip between the counting and the new zone.
  const rebuild = db.transaction((logs: LogActivity) => {
    if (zone.get() === timezone) return; // another process just did it
    db.exec("DELETE FROM rollup_week_actions; DELETE FROM rollup_week_requests; DELETE FROM rollup_slices;");
    const extent = logs.extent();
    if (extent) {
      for (let week = calendar.containing(extent.first); week.from <= extent.last; week = calendar.bounds(addWeeks(week.week, 1))) {
        const activity = logs.week(week.from, week.to);
        for (const a of activity.actions) {
          addAction.run(week.week, a.kind, a.userId ?? "", a.conversationId ?? "", a.count, a.bytes ?? 0, a.first, a.last);
        }
        for (const r of activity.requests) {
          addRequests.run(week.week, r.userId ?? "", r.method, r.route, r.count, r.first, r.last);
        }
        for (const s of activity.timeline) addSlice.run(sliceOf(s.at), s.count);
      }
    }
    setZone.run(timezone);
    // Weeks whose rows were compacted are stored for good: what is left of them is not needed.
    for (const report of compactedReports.all()) {
      dropCompacted(report.week, report.timezone, report.from_ms, report.compacted_through);
    }
  });

  return {
    action,
    update: (entry) => {
      const { conversationId, serverTime: at } = entry;
      let count = 0;
      // As the log query: kinds of updates made by a user, each once per update.
      if (entry.userId !== null) {
        for (const kind of LOGGED_KINDS) {
          if (!entry.actions.includes(kind)) continue;
          addAction.run(calendar.containing(at).week, kind, entry.userId, conversationId, 1, 0, at, at);
          count++;
        }
      }
      const byAuthor = new Map<string, number>();
      for (const message of entry.newMessages) byAuthor.set(message.authorId, (byAuthor.get(message.authorId) ?? 0) + 1);
      for (const [authorId, n] of byAuthor) {
        addAction.run(calendar.containing(at).week, "message.sent", authorId, conversationId, n, 0, at, at);
        count += n;
      }
      if (count > 0) addSlice.run(sliceOf(at), count);
    },
    requests: (entries) => {
      // One upsert per distinct key of the batch, not per row.
      const groups = new Map<string, { week: string; userId: string; method: string; route: string; n: number; first: number; last: number }>();
      for (const entry of entries) {
        if (entry.kind !== "http") continue; // socket sign-ins and closes are not API calls
        const week = calendar.containing(entry.at).week;
        const userId = entry.userId ?? "";
        const method = entry.method ?? "";
        const route = entry.route ?? "";
        const key = `${week}\n${userId}\n${method}\n${route}`;
        const group = groups.get(key);
        if (group) {
          group.n++;
          group.first = Math.min(group.first, entry.at);
          group.last = Math.max(group.last, entry.at);
        } else {
          groups.set(key, { week, userId, method, route, n: 1, first: entry.at, last: entry.at });
        }
      }
      for (const g of groups.values()) addRequests.run(g.week, g.userId, g.method, g.route, g.n, g.first, g.last);
    },
    dropCompacted,
    week: (span) => readWeek.deferred(span),
    ensure: (logs) => {
      if (zone.get() !== timezone) rebuild.immediate(logs);
    },
  };
}
