import type { Storage } from "../types.js";
import { openDatabase } from "./database.js";
import { sqliteActivity } from "./activity.js";
import { sqliteConversations } from "./conversations.js";
import { sqliteReports } from "./reports.js";
import { sqliteRequestLog } from "./requestLog.js";
import { sqliteSessions } from "./sessions.js";
import { sqliteSnapshots } from "./snapshots.js";
import { sqliteUpdateLog } from "./updateLog.js";
import { sqliteUsers } from "./users.js";
import { sqliteVideos } from "./videos.js";

/** All stores on one SQLite file (`:memory:` for throwaway use). */
export function sqliteStorage(file: string): Storage {
  const db = openDatabase(file);
  return {
    users: sqliteUsers(db),
    sessions: sqliteSessions(db),
    conversations: sqliteConversations(db),
    snapshots: sqliteSnapshots(db),
    log: sqliteUpdateLog(db),
    requestLog: sqliteRequestLog(db),
    activity: sqliteActivity(db),
    reports: sqliteReports(db),
    videos: sqliteVideos(db),
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
