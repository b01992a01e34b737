/**
 * The one access-control module: who may read and write a conversation, who is an admin.
 * REST, the socket and uploads all ask here.
 */
import { WbkError, type ConversationId, type UserId } from "@wbk/shared";
import type { ConversationRecord, Storage } from "./storage/types.js";

export function createAccess(storage: Storage, adminEmails: ReadonlySet<string>) {
  return {
    isMember(userId: UserId, conversationId: ConversationId): boolean {
      return storage.conversations.isMember(conversationId, userId);
    },

    /** The conversation, if the user is a member; `not_found` / `forbidden` otherwise. */
    requireMember(userId: UserId, conversationId: ConversationId): ConversationRecord {
      const conversation = storage.conversations.get(conversationId);
      if (!conversation) throw new WbkError("not_found", "no such conversation");
      if (!storage.conversations.isMember(conversationId, userId)) {
        throw new WbkError("forbidden", "you are not a member of this conversation");
      }
      return conversation;
    },

    isAdmin(userId: UserId): boolean {
      const user = storage.users.byId(userId);
      return user !== undefined && adminEmails.has(user.email);
    },
  };
}

export type Access = ReturnType<typeof createAccess>;
