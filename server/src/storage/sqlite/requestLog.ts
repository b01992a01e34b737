import type { RequestLogStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

export function sqliteRequestLog(db: Db, rollups: Rollups): RequestLogStore {
  const insert = db.prepare(
    `INSERT INTO request_log (at, kind, user_id, method, route, status, duration_ms, bytes_in, bytes_out)
     VALUES (@at, @kind, @userId, @method, @route, @status, @durationMs, @bytesIn, @bytesOut)`,
  );
  // One transaction per batch: one fsync for many requests (synchronous = FULL).
  const appendAll = db.transaction((entries: Parameters<RequestLogStore["append"]>[0]) => {
    for (const entry of entries) insert.run(entry);
    rollups.requests(entries);
  });
  return {
    append: (entries) => {
      if (entries.length > 0) appendAll.immediate(entries);
    },
  };
}
