import type { SnapshotStore } from "../types.js";
import type { Db } from "./database.js";

export function sqliteSnapshots(db: Db): SnapshotStore {
  const get = db.prepare<[string], { state: Buffer; covered_log_seq: number }>(
    "SELECT state, covered_log_seq FROM snapshots WHERE conversation_id = ?",
  );
  const upsert = db.prepare(
    `INSERT INTO snapshots (conversation_id, state, covered_log_seq, stored_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (conversation_id) DO UPDATE SET state = excluded.state,
       covered_log_seq = excluded.covered_log_seq, stored_at = excluded.stored_at`,
  );
  // The snapshot holds everything these rows did; their metadata stays for the reports.
  const dropBytes = db.prepare(
    "UPDATE update_log SET bytes = NULL WHERE conversation_id = ? AND log_seq <= ? AND bytes IS NOT NULL",
  );
  return {
    get: (conversationId) => {
      const row = get.get(conversationId);
      return row && { state: new Uint8Array(row.state), coveredLogSeq: row.covered_log_seq };
    },
    put: (conversationId, state, coveredLogSeq) =>
      db.transaction(() => {
        upsert.run(conversationId, state, coveredLogSeq, Date.now());
        dropBytes.run(conversationId, coveredLogSeq);
      }).immediate(),
  };
}
