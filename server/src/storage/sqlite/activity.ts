import type { ConversationId, ReportAction, UserId } from "@wbk/shared";
import { ACTIVITY_SLICE_MS, type ActionCount, type ActivityStore } from "../types.js";
import type { Db } from "./database.js";

/**
 * Kinds read from update_log.actions (a comma-separated set per accepted update). Each counts
 * the updates that hold it. `message.sent` is not among them: one update can carry many new
 * messages (a phone back from offline), so messages are counted in the messages table; videos
 * are counted, with their bytes, in the videos table (when they finished uploading).
 */
const LOGGED_KINDS = ["message.edited", "message.deleted", "reaction.set", "read.updated"] as const;
const has = (kind: string) => `instr(',' || actions || ',', ',${kind},') > 0`;

interface GroupRow {
  user_id: string | null;
  conversation_id: string | null;
  n: number;
  first: number;
  last: number;
}

type LoggedRow = Omit<GroupRow, "n"> & Record<`k${number}`, number>;

export function sqliteActivity(db: Db): ActivityStore {
  const range = "BETWEEN @from AND @to - 1";
  const slice = `/ ${ACTIVITY_SLICE_MS}`;
  const logged = db.prepare<{ from: number; to: number }, LoggedRow>(
    `SELECT user_id, conversation_id, ${LOGGED_KINDS.map((kind, i) => `SUM(${has(kind)}) AS k${i}`).join(", ")},
            MIN(server_time) AS first, MAX(server_time) AS last
       FROM update_log
      WHERE server_time ${range} AND user_id IS NOT NULL AND (${LOGGED_KINDS.map(has).join(" OR ")})
      GROUP BY user_id, conversation_id, server_time ${slice}`,
  );
  const sent = db.prepare<{ from: number; to: number }, GroupRow>(
    `SELECT author_id AS user_id, conversation_id, COUNT(*) AS n, MIN(server_time) AS first, MAX(server_time) AS last
       FROM messages WHERE server_time ${range}
      GROUP BY author_id, conversation_id, server_time ${slice}`,
  );
  const shared = db.prepare<{ from: number; to: number }, GroupRow & { bytes: number }>(
    `SELECT uploader_id AS user_id, conversation_id, COUNT(*) AS n, SUM(size) AS bytes,
            MIN(created_at) AS first, MAX(created_at) AS last
       FROM videos WHERE created_at ${range}
      GROUP BY uploader_id, conversation_id, created_at ${slice}`,
  );
  const added = db.prepare<{ from: number; to: number }, GroupRow>(
    `SELECT added_by AS user_id, conversation_id, COUNT(*) AS n, MIN(at) AS first, MAX(at) AS last
       FROM member_events WHERE at ${range}
      GROUP BY added_by, conversation_id, at ${slice}`,
  );
  const created = db.prepare<{ from: number; to: number }, GroupRow>(
    `SELECT created_by AS user_id, id AS conversation_id, 1 AS n, created_at AS first, created_at AS last
       FROM conversations WHERE created_at ${range}`,
  );
  const registered = db.prepare<{ from: number; to: number }, GroupRow>(
    `SELECT id AS user_id, NULL AS conversation_id, 1 AS n, created_at AS first, created_at AS last
       FROM users WHERE created_at ${range}`,
  );
  const requests = db.prepare<
    { from: number; to: number },
    { user_id: string | null; method: string; route: string; n: number; first: number; last: number }
  >(
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

  const toCount = (kind: ReportAction, row: GroupRow, count = row.n): ActionCount => ({
    kind,
    userId: row.user_id as UserId | null,
    conversationId: row.conversation_id as ConversationId | null,
    count,
    first: row.first,
    last: row.last,
  });

  // A read transaction: every query sees the same state of the database (WAL snapshot).
  const readActions = db.transaction((params: { from: number; to: number }) => {
    const counts: ActionCount[] = [];
    for (const row of logged.all(params)) {
      LOGGED_KINDS.forEach((kind, i) => {
        const n = row[`k${i}`] ?? 0;
        if (n > 0) counts.push(toCount(kind, { ...row, n }, n));
      });
    }
    for (const row of sent.all(params)) counts.push(toCount("message.sent", row));
    for (const row of shared.all(params)) counts.push({ ...toCount("video.shared", row), bytes: row.bytes });
    for (const row of added.all(params)) counts.push(toCount("member.added", row));
    for (const row of created.all(params)) counts.push(toCount("conversation.created", row));
    for (const row of registered.all(params)) counts.push(toCount("user.registered", row));
    return counts;
  });

  return {
    actions: (from, to) => readActions.deferred({ from, to }),
    requests: (from, to) =>
      requests.all({ from, to }).map((r) => ({
        userId: r.user_id as UserId | null,
        method: r.method,
        route: r.route,
        count: r.n,
        first: r.first,
        last: r.last,
      })),
    firstActivity: () => first.get()?.t ?? null,
  };
}
