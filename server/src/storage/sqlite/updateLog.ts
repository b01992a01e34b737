import type { ConversationId, UserId } from "@wbk/shared";
import type { ClientBinding, MessageSeqRecord, UpdateLogStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

interface SeqRow {
  message_id: string;
  seq: number;
  author_id: string;
  server_time: number;
}

const toSeq = (row: SeqRow): MessageSeqRecord => ({
  messageId: row.message_id,
  seq: row.seq,
  authorId: row.author_id as UserId,
  serverTime: row.server_time,
});

export function sqliteUpdateLog(db: Db, rollups: Rollups): UpdateLogStore {
  const nextLogSeq = db.prepare<[string], { last_log_seq: number }>(
    "UPDATE conversations SET last_log_seq = last_log_seq + 1 WHERE id = ? RETURNING last_log_seq",
  );
  const nextSeq = db.prepare<[string], { last_seq: number }>(
    "UPDATE conversations SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq",
  );
  const insertRow = db.prepare(
    `INSERT INTO update_log (conversation_id, log_seq, user_id, client_id, server_time, size, actions, bytes)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const upsertBinding = db.prepare(
    `INSERT INTO client_bindings (conversation_id, client_id, user_id, next_clock, created_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (conversation_id, client_id) DO UPDATE SET next_clock = MAX(next_clock, excluded.next_clock)`,
  );
  const insertMessage = db.prepare(
    "INSERT INTO messages (conversation_id, message_id, seq, author_id, server_time) VALUES (?, ?, ?, ?, ?)",
  );
  const touch = db.prepare(
    "UPDATE conversations SET last_message_at = MAX(COALESCE(last_message_at, 0), ?) WHERE id = ?",
  );
  const since = db.prepare<[string, number], { bytes: Buffer }>(
    "SELECT bytes FROM update_log WHERE conversation_id = ? AND log_seq > ? AND bytes IS NOT NULL ORDER BY log_seq",
  );
  const binding = db.prepare<[string, number], { user_id: string; next_clock: number }>(
    "SELECT user_id, next_clock FROM client_bindings WHERE conversation_id = ? AND client_id = ?",
  );
  const seqs = db.prepare<[string], SeqRow>(
    "SELECT message_id, seq, author_id, server_time FROM messages WHERE conversation_id = ?",
  );
  const seqOf = db.prepare<[string, string], SeqRow>(
    "SELECT message_id, seq, author_id, server_time FROM messages WHERE conversation_id = ? AND message_id = ?",
  );
  const lastLogSeq = db.prepare<[string], { last_log_seq: number }>("SELECT last_log_seq FROM conversations WHERE id = ?");
  const lastSeq = db.prepare<[string], { last_seq: number }>("SELECT last_seq FROM conversations WHERE id = ?");
  const count = db.prepare<[string], { n: number }>("SELECT COUNT(*) AS n FROM update_log WHERE conversation_id = ?");

  const allocateSeq = (conversationId: string): number => {
    const row = nextSeq.get(conversationId);
    if (!row) throw new Error(`conversation ${conversationId} does not exist`);
    return row.last_seq;
  };

  return {
    append: (entry) =>
      db.transaction(() => {
        const row = nextLogSeq.get(entry.conversationId);
        if (!row) throw new Error(`conversation ${entry.conversationId} does not exist`);
        insertRow.run(
          entry.conversationId,
          row.last_log_seq,
          entry.userId,
          entry.clientId,
          entry.serverTime,
          entry.update.byteLength,
          entry.actions.join(","),
          entry.update,
        );
        for (const [clientId, binding] of entry.bindings) {
          upsertBinding.run(entry.conversationId, clientId, binding.userId, binding.nextClock, entry.serverTime);
        }
        const assigned: number[] = [];
        for (const message of entry.newMessages) {
          const seq = allocateSeq(entry.conversationId);
          insertMessage.run(entry.conversationId, message.messageId, seq, message.authorId, entry.serverTime);
          assigned.push(seq);
        }
        if (entry.newMessages.length > 0) touch.run(entry.serverTime, entry.conversationId);
        rollups.update(entry);
        return { logSeq: row.last_log_seq, seqs: assigned };
      }).immediate(),
    updatesSince: (conversationId, afterLogSeq) =>
      since.all(conversationId, afterLogSeq).map((r) => new Uint8Array(r.bytes)),
    bindings: (conversationId, clientIds) => {
      const found = new Map<number, ClientBinding>();
      for (const clientId of clientIds) {
        const row = binding.get(conversationId, clientId);
        if (row) found.set(clientId, { userId: row.user_id as UserId, nextClock: row.next_clock });
      }
      return found;
    },
    messageSeqs: (conversationId) => new Map(seqs.all(conversationId).map((r) => [r.message_id, toSeq(r)])),
    messageSeq: (conversationId, messageId) => {
      const row = seqOf.get(conversationId, messageId);
      return row && toSeq(row);
    },
    assignSeq: (conversationId, messageId, authorId, serverTime) =>
      db.transaction(() => {
        const seq = allocateSeq(conversationId);
        insertMessage.run(conversationId, messageId, seq, authorId, serverTime);
        rollups.action("message.sent", authorId, conversationId, serverTime);
        return seq;
      }).immediate(),
    count: (conversationId) => count.get(conversationId)?.n ?? 0,
    lastLogSeq: (conversationId) => lastLogSeq.get(conversationId)?.last_log_seq ?? 0,
    lastSeq: (conversationId) => lastSeq.get(conversationId)?.last_seq ?? 0,
  };
}
