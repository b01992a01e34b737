/** Storage records to the wire objects of DESIGN.md "REST API". */
import type { Conversation, User } from "@wbk/shared";
import type { ConversationRecord, Storage, UserRecord } from "../storage/types.js";

const iso = (ms: number) => new Date(ms).toISOString();

export function presentUser(user: UserRecord): User {
  return { id: user.id, email: user.email, displayName: user.displayName, createdAt: iso(user.createdAt) };
}

export function presentConversation(storage: Storage, conversation: ConversationRecord): Conversation {
  const members = storage.users.byIds(storage.conversations.members(conversation.id));
  return {
    id: conversation.id,
    title: conversation.title,
    createdAt: iso(conversation.createdAt),
    createdBy: conversation.createdBy,
    members: members.map((m) => ({ id: m.id, displayName: m.displayName })),
    lastMessageAt: conversation.lastMessageAt === null ? null : iso(conversation.lastMessageAt),
  };
}
