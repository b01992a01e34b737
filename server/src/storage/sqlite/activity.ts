import type { ConversationId, ReportAction, UserId } from "@wbk/shared";
import { ACTIVITY_SLICE_MS, type ActionCount, type ActivityStore, type WeekActivity } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

/**
 * Kinds read from update_log.actions (a comma-separated set per accepted update). Each counts
 * the updates that hold it. `message.sent` is not among them: one update can carry many new
 * messages (a phone back from offline), so messages are counted in the messages table; videos
 * are counted, with their bytes, in the videos table (when they finished uploading).
 */
export const LOGGED_KINDS = ["message.edited", "message.deleted", "reaction.set", "read.updated"] as const;
const has = (kind: string) => `(instr(',' || actions || ',', ',${kind},') > 0)`;

interface GroupRow {
  user_id: string | null;
  conversation_id: string | null;
  n: number;
  first: number;
  last: number;
}

type LoggedRow = Pick<GroupRow, "user_id" | "conversation_id"> & Record<`${"k" | "f" | "l"}${number}`, number | null>;

type Range = { from: number; to: number };

/**
 * What happened in [from, to), counted from the log tables themselves: the reference the
 * rollups (./rollups.ts) must always agree with, used to rebuild them and by `--recompute`.
 * Reads every row of the range.
 */
export interface LogActivity {
  week(from: number, to: number): WeekActivity;
  /** The earliest instant anything was logged or created; null on a fresh database. */
  first(): number | null;
  /** The first and last instant of every row counted (videos too); null on a fresh database. */
  extent(): { first: number; last: number } | null;
}

export function sqliteLogActivity(db: Db): LogActivity {
  const range = "BETWEEN @from AND @to - 1";
  const slice = `/ ${ACTIVITY_SLICE_MS}`;
  const anyLogged = `user_id IS NOT NULL AND (${LOGGED_KINDS.map(has).join(" OR ")})`;
  const logged = db.prepare<Range, LoggedRow>(
    `SELECT user_id, conversation_id,
            ${LOGGED_KINDS.map((kind, i) => `SUM(${has(kind)}) AS k${i}, MIN(CASE WHEN ${has(kind)} THEN server_time END) AS f${i}, MAX(CASE WHEN ${has(kind)} THEN server_time END) AS l${i}`).join(",\n            ")}
       FROM update_log
      WHERE server_time ${range} AND ${anyLogged}
      GROUP BY user_id, conversation_id`,
  );
  const sent = db.prepare<Range, GroupRow>(
    `SELECT author_id AS user_id, conversation_id, COUNT(*) AS n, MIN(server_time) AS first, MAX(server_time) AS last
       FROM messages WHERE server_time ${range}
      GROUP BY author_id, conversation_id`,
  );
  const shared = db.prepare<Range, GroupRow & { bytes: number }>(
    `SELECT uploader_id AS user_id, conversation_id, COUNT(*) AS n, SUM(size) AS bytes,
            MIN(created_at) AS first, MAX(created_at) AS last
       FROM videos WHERE created_at ${range}
      GROUP BY uploader_id, conversation_id`,
  );
  const added = db.prepare<Range, GroupRow>(
    `SELECT added_by AS user_id, conversation_id, COUNT(*) AS n, MIN(at) AS first, MAX(at) AS last
       FROM member_events WHERE at ${range}
      GROUP BY added_by, conversation_id`,
  );
  const created = db.prepare<Range, GroupRow>(
    `SELECT created_by AS user_id, id AS conversation_id, 1 AS n, created_at AS first, created_at AS last
       FROM conversations WHERE created_at ${range}`,
  );
  const registered = db.prepare<Range, GroupRow>(
    `SELECT id AS user_id, NULL AS conversation_id, 1 AS n, created_at AS first, created_at AS last
       FROM users WHERE created_at ${range}`,
  );
  // byDay and byHour count every action above once, at the same instant.
  const timeline = db.prepare<Range, { slice: number; n: number }>(
    `SELECT slice, SUM(n) AS n FROM (
       SELECT server_time ${slice} AS slice, SUM(${LOGGED_KINDS.map(has).join(" + ")}) AS n
         FROM update_log WHERE server_time ${range} AND ${anyLogged} GROUP BY slice
       UNION ALL SELECT server_time ${slice}, COUNT(*) FROM messages WHERE server_time ${range} GROUP BY 1
       UNION ALL SELECT created_at ${slice}, COUNT(*) FROM videos WHERE created_at ${range} GROUP BY 1
       UNION ALL SELECT at ${slice}, COUNT(*) FROM member_events WHERE at ${range} GROUP BY 1
       UNION ALL SELECT created_at ${slice}, COUNT(*) FROM conversations WHERE created_at ${range} GROUP BY 1
       UNION ALL SELECT created_at ${slice}, COUNT(*) FROM users WHERE created_at ${range} GROUP BY 1)
     GROUP BY slice ORDER BY slice`,
  );
  const requests = db.prepare<Range, { user_id: string | null; method: string; route: string; n: number; first: number; last: number }>(
    `SELECT user_id, method, route, COUNT(*) AS n, MIN(at) AS first, MAX(at) AS last
       FROM request_log WHERE at ${range} AND kind = 'http'
      GROUP BY user_id, method, route`,
  );
  const first = db.prepare<[], { t: number | null }>(
    `SELECT MIN(t) AS t FROM (
       SELECT MIN(server_time) AS t FROM update_log UNION ALL SELECT MIN(at) FROM request_log
       UNION ALL SELECT MIN(created_at) FROM users UNION ALL SELECT MIN(created_at) FROM conversations
       UNION ALL SELECT MIN(server_time) FROM messages UNION ALL SELECT MIN(at) FROM member_events)`,
  );
  // One MIN or MAX per SELECT, so each reads one end of an index instead of the table.
  const bound = (fn: "MIN" | "MAX") =>
    db.prepare<[], { t: number | null }>(
      `SELECT ${fn}(t) AS t FROM (
         SELECT ${fn}(server_time) AS t FROM update_log UNION ALL SELECT ${fn}(at) FROM request_log
         UNION ALL SELECT ${fn}(created_at) FROM users UNION ALL SELECT ${fn}(created_at) FROM conversations
         UNION ALL SELECT ${fn}(server_time) FROM messages UNION ALL SELECT ${fn}(at) FROM member_events
         UNION ALL SELECT ${fn}(created_at) FROM videos)`,
    );
  const extentFirst = bound("MIN");
  const extentLast = bound("MAX");

  const toCount = (kind: ReportAction, row: GroupRow): ActionCount => ({
    kind,
    userId: row.user_id as UserId | null,
    conversationId: row.conversation_id as ConversationId | null,
    count: row.n,
    first: row.first,
    last: row.last,
  });

  // A read transaction: every query sees the same state of the database (WAL snapshot).
  const readWeek = db.transaction((params: Range): WeekActivity => {
    const actions: ActionCount[] = [];
    for (const row of logged.all(params)) {
      LOGGED_KINDS.forEach((kind, i) => {
        const n = row[`k${i}`] ?? 0;
        if (n > 0) actions.push(toCount(kind, { ...row, n, first: row[`f${i}`]!, last: row[`l${i}`]! }));
      });
    }
    for (const row of sent.all(params)) actions.push(toCount("message.sent", row));
    for (const row of shared.all(params)) actions.push({ ...toCount("video.shared", row), bytes: row.bytes });
    for (const row of added.all(params)) actions.push(toCount("member.added", row));
    for (const row of created.all(params)) actions.push(toCount("conversation.created", row));
    for (const row of registered.all(params)) actions.push(toCount("user.registered", row));
    return {
      actions,
      requests: requests.all(params).map((r) => ({
        userId: r.user_id as UserId | null,
        method: r.method,
        route: r.route,
        count: r.n,
        first: r.first,
        last: r.last,
      })),
      timeline: timeline.all(params).map((r) => ({ at: r.slice * ACTIVITY_SLICE_MS, count: r.n })),
    };
  });

  return {
    week: (from, to) => readWeek.deferred({ from, to }),
    first: () => first.get()?.t ?? null,
    extent: () => {
      const first = extentFirst.get()?.t ?? null;
      const last = extentLast.get()?.t ?? null;
      return first !== null && last !== null ? { first, last } : null;
    },
  };
}

/** Reports read the rollups; the logs stay the reference. */
export function sqliteActivity(logs: LogActivity, rollups: Rollups): ActivityStore {
  return {
    week: (span) => rollups.week(span) ?? logs.week(span.from, span.to),
    weekFromLogs: (from, to) => logs.week(from, to),
    firstActivity: () => logs.first(),
  };
}
