/** Conversations and their members (membership lives in SQLite, never in the document). */
import { WbkError, randomId, type Conversation, type ConversationId, type UserId } from "@wbk/shared";
import type { Access } from "../access.js";
import type { SocketRegistry } from "../collab/sockets.js";
import type { Storage } from "../storage/types.js";
import type { VideoService } from "../videos/service.js";
import { presentConversation } from "./present.js";

export function createConversationService(deps: {
  storage: Storage;
  access: Access;
  sockets: SocketRegistry;
  /** Ends a leaving member's unfinished uploads to the conversation. */
  videos: Pick<VideoService, "memberLeft">;
  now?: () => number;
}) {
  const { storage, access } = deps;
  const now = deps.now ?? Date.now;

  /** Resolves member ids and emails to users; unknown ones are a 404 naming them all. */
  function resolveMembers(memberIds: readonly string[], memberEmails: readonly string[]): UserId[] {
    const unknownIds = memberIds.filter((id) => !storage.users.byId(id as UserId));
    const found: UserId[] = memberIds.filter((id) => !unknownIds.includes(id)) as UserId[];
    const unknownEmails: string[] = [];
    for (const email of memberEmails) {
      const user = storage.users.byEmail(email);
      if (user) found.push(user.id);
      else unknownEmails.push(email);
    }
    if (unknownEmails.length > 0 || unknownIds.length > 0) {
      const details: Record<string, string[]> = {};
      const problems: string[] = [];
      if (unknownEmails.length > 0) {
        details.emails = unknownEmails;
        problems.push(`no account has the email ${unknownEmails.join(", ")}`);
      }
      if (unknownIds.length > 0) {
        details.userIds = unknownIds;
        problems.push(`no user has the id ${unknownIds.join(", ")}`);
      }
      throw new WbkError("user_not_found", problems.join("; "), details);
    }
    return found;
  }

  return {
    create(userId: UserId, input: { title: string; memberIds?: string[]; memberEmails?: string[] }): Conversation {
      const members = new Set([userId, ...resolveMembers(input.memberIds ?? [], input.memberEmails ?? [])]);
      const record = {
        id: randomId() as ConversationId,
        title: input.title,
        createdAt: now(),
        createdBy: userId,
        lastMessageAt: null,
      };
      storage.conversations.create(record, [...members]);
      return presentConversation(storage, record);
    },

    list(userId: UserId): Conversation[] {
      return storage.conversations.listFor(userId).map((c) => presentConversation(storage, c));
    },

    get(userId: UserId, id: ConversationId): Conversation {
      return presentConversation(storage, access.requireMember(userId, id));
    },

    rename(userId: UserId, id: ConversationId, title: string): Conversation {
      access.requireMember(userId, id);
      storage.conversations.rename(id, title);
      return presentConversation(storage, access.requireMember(userId, id));
    },

    addMember(userId: UserId, id: ConversationId, who: { userId: string } | { email: string }): Conversation {
      const conversation = access.requireMember(userId, id);
      const [added] = "userId" in who ? resolveMembers([who.userId], []) : resolveMembers([], [who.email]);
      storage.conversations.addMember(id, added as UserId, now(), userId);
      return presentConversation(storage, conversation);
    },

    /**
     * Removes a member; anyone may leave, the creator or an admin may remove others. Their
     * sockets on it close and their unfinished uploads to it end "failed" before this returns.
     */
    async removeMember(userId: UserId, id: ConversationId, memberId: UserId): Promise<void> {
      const conversation = access.requireMember(userId, id);
      if (memberId !== userId && conversation.createdBy !== userId && !access.isAdmin(userId)) {
        throw new WbkError("forbidden", "only the conversation's creator or an admin may remove other members");
      }
      if (!storage.conversations.removeMember(id, memberId)) {
        throw new WbkError("not_found", "that user is not a member of this conversation");
      }
      deps.sockets.closeMember(id, memberId);
      await deps.videos.memberLeft(id, memberId);
    },
  };
}

export type ConversationService = ReturnType<typeof createConversationService>;
