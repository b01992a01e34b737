import type { Storage } from "../types.js";
import { openDatabase } from "./database.js";
import { sqliteConversations } from "./conversations.js";
import { sqliteSessions } from "./sessions.js";
import { sqliteSnapshots } from "./snapshots.js";
import { sqliteUpdateLog } from "./updateLog.js";
import { sqliteUsers } from "./users.js";

/** All stores on one SQLite file (`:memory:` for throwaway use). */
export function sqliteStorage(file: string): Storage {
  const db = openDatabase(file);
  return {
    users: sqliteUsers(db),
    sessions: sqliteSessions(db),
    conversations: sqliteConversations(db),
    snapshots: sqliteSnapshots(db),
    log: sqliteUpdateLog(db),
    transaction: (fn) => db.transaction(fn).immediate(),
    close: () => db.close(),
  };
}
