import type { ConversationId, UserId } from "@wbk/shared";
import type { ConversationRecord, ConversationStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

interface Row {
  id: string;
  title: string;
  created_at: number;
  created_by: string;
  last_message_at: number | null;
}

const toRecord = (row: Row): ConversationRecord => ({
  id: row.id as ConversationId,
  title: row.title,
  createdAt: row.created_at,
  createdBy: row.created_by as UserId,
  lastMessageAt: row.last_message_at,
});

export function sqliteConversations(db: Db, rollups: Rollups): ConversationStore {
  const insert = db.prepare(
    "INSERT INTO conversations (id, title, created_at, created_by, last_message_at) VALUES (@id, @title, @createdAt, @createdBy, @lastMessageAt)",
  );
  const insertMember = db.prepare(
    "INSERT OR IGNORE INTO conversation_members (conversation_id, user_id, added_at) VALUES (?, ?, ?)",
  );
  const memberEvent = db.prepare(
    "INSERT INTO member_events (conversation_id, user_id, added_by, at) VALUES (?, ?, ?, ?)",
  );
  const get = db.prepare<[string], Row>(
    "SELECT id, title, created_at, created_by, last_message_at FROM conversations WHERE id = ?",
  );
  const listFor = db.prepare<[string], Row>(
    `SELECT c.id, c.title, c.created_at, c.created_by, c.last_message_at
       FROM conversations c JOIN conversation_members m ON m.conversation_id = c.id
      WHERE m.user_id = ?
      ORDER BY COALESCE(c.last_message_at, c.created_at) DESC, c.created_at DESC, c.id`,
  );
  const rename = db.prepare("UPDATE conversations SET title = ? WHERE id = ?");
  const members = db.prepare<[string], { user_id: string }>(
    "SELECT user_id FROM conversation_members WHERE conversation_id = ? ORDER BY added_at, user_id",
  );
  const isMember = db.prepare<[string, string], { one: number }>(
    "SELECT 1 AS one FROM conversation_members WHERE conversation_id = ? AND user_id = ?",
  );
  const removeMember = db.prepare("DELETE FROM conversation_members WHERE conversation_id = ? AND user_id = ?");
  const touch = db.prepare(
    "UPDATE conversations SET last_message_at = MAX(COALESCE(last_message_at, 0), ?) WHERE id = ?",
  );
  const addMember = db.transaction((id: string, userId: string, at: number, addedBy: string | null) => {
    const added = insertMember.run(id, userId, at).changes > 0;
    if (added) {
      memberEvent.run(id, userId, addedBy, at);
      rollups.action("member.added", addedBy, id, at);
    }
    return added;
  });
  return {
    create: (conversation, memberIds) =>
      db.transaction(() => {
        insert.run(conversation);
        rollups.action("conversation.created", conversation.createdBy, conversation.id, conversation.createdAt);
        for (const userId of memberIds) {
          insertMember.run(conversation.id, userId, conversation.createdAt);
          if (userId !== conversation.createdBy) {
            memberEvent.run(conversation.id, userId, conversation.createdBy, conversation.createdAt);
            rollups.action("member.added", conversation.createdBy, conversation.id, conversation.createdAt);
          }
        }
      }).immediate(),
    get: (id) => {
      const row = get.get(id);
      return row && toRecord(row);
    },
    listFor: (userId) => listFor.all(userId).map(toRecord),
    rename: (id, title) => void rename.run(title, id),
    members: (id) => members.all(id).map((r) => r.user_id as UserId),
    isMember: (id, userId) => isMember.get(id, userId) !== undefined,
    addMember: (id, userId, at, addedBy) => addMember.immediate(id, userId, at, addedBy),
    removeMember: (id, userId) => removeMember.run(id, userId).changes > 0,
    touch: (id, at) => void touch.run(at, id),
  };
}
