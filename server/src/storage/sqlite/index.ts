import type { Storage } from "../types.js";
import { openDatabase } from "./database.js";
import { sqliteActivity, sqliteLogActivity } from "./activity.js";
import { sqliteConversations } from "./conversations.js";
import { sqliteReports } from "./reports.js";
import { sqliteRequestLog } from "./requestLog.js";
import { sqliteRollups } from "./rollups.js";
import { sqliteSearch } from "./search.js";
import { sqliteSessions } from "./sessions.js";
import { sqliteSnapshots } from "./snapshots.js";
import { sqliteUpdateLog } from "./updateLog.js";
import { sqliteUsers } from "./users.js";
import { sqliteVideos } from "./videos.js";

export interface SqliteStorageOptions {
  /**
   * REPORT_TZ (default UTC): the zone whose weeks the report rollups are kept in. Every process
   * on one file must use the same; opening with another rebuilds the rollups from the logs.
   */
  reportTimezone?: string;
}

/** All stores on one SQLite file (`:memory:` for throwaway use). */
export function sqliteStorage(file: string, options: SqliteStorageOptions = {}): Storage {
  const db = openDatabase(file);
  const rollups = sqliteRollups(db, options.reportTimezone ?? "UTC");
  const logs = sqliteLogActivity(db);
  rollups.ensure(logs);
  return {
    users: sqliteUsers(db, rollups),
    sessions: sqliteSessions(db),
    conversations: sqliteConversations(db, rollups),
    snapshots: sqliteSnapshots(db),
    log: sqliteUpdateLog(db, rollups),
    requestLog: sqliteRequestLog(db, rollups),
    activity: sqliteActivity(logs, rollups),
    reports: sqliteReports(db, rollups),
    videos: sqliteVideos(db, rollups),
    search: sqliteSearch(db),
    checkpoint: () => (db.pragma("wal_checkpoint(TRUNCATE)") as Array<{ busy: number }>)[0]?.busy === 0,
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
