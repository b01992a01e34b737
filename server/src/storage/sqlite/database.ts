import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { MIGRATIONS } from "./migrations.js";

export type Db = Database.Database;

/** Opens (creating if needed) the SQLite file in WAL mode and applies pending migrations. */
export function openDatabase(file: string): Db {
  if (file !== ":memory:") fs.mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma("journal_mode = WAL");
  // FULL: every commit is on disk before it returns. The server tells a writer `stored` right
  // after the update-log commit, so that promise must hold through a power cut too; NORMAL
  // would only survive a crash of this process. The price is one WAL fsync per commit.
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  // Deleted content is overwritten with zeros (freed pages too), not left in free space: a
  // deleted message's text must not survive in the file once its purge is stored (DESIGN.md
  // "Update log and delivery"). The price is writing zeros wherever content is freed (replaced
  // snapshots, dropped log bytes): measured within noise for a 200 KB snapshot store here.
  db.pragma("secure_delete = ON");
  db.pragma("busy_timeout = 5000");
  migrate(db);
  return db;
}

function migrate(db: Db): void {
  db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)");
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
  const current = row.v ?? 0;
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this server (${MIGRATIONS.length})`);
  }
  const record = db.prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
  for (let version = current + 1; version <= MIGRATIONS.length; version++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[version - 1] as string);
      record.run(version, Date.now());
    }).immediate();
  }
}
