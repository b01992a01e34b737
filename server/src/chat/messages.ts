/**
 * Messages over REST, on the same documents as the socket: reads and writes go through a
 * Hocuspocus direct connection and the one write path, so a REST post is logged, stamped and
 * broadcast exactly like a socket update.
 */
import type { Document } from "@hocuspocus/server";
import {
  WbkError,
  appendTextMessage,
  findMessageMap,
  listMessages,
  readMessage,
  type ConversationId,
  type MessageDto,
  type MessageId,
  type UserId,
} from "@wbk/shared";
import type { Access } from "../access.js";
import type { WritePath } from "../collab/writePath.js";
import type { WithDocument } from "./documents.js";

export interface MessagePage {
  messages: MessageDto[];
  next: number | null;
}

export function createMessageService(deps: {
  withDocument: WithDocument;
  writePath: WritePath;
  access: Access;
  /** Throws `rate_limited` when the user may post no more messages now (RATE_LIMIT_MESSAGES_PER_MIN). */
  admitMessages?: (userId: UserId, count: number) => void;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  const { withDocument } = deps;

  const stamped = (document: Document): MessageDto[] =>
    listMessages(document).filter((m): m is MessageDto & typeof m => m.seq !== undefined && m.serverTime !== undefined);

  return {
    async list(
      userId: UserId,
      conversationId: ConversationId,
      query: { after?: number; before?: number; limit: number },
    ): Promise<MessagePage> {
      deps.access.requireMember(userId, conversationId);
      if (query.after !== undefined && query.before !== undefined) {
        throw new WbkError("validation_failed", "give after or before, not both", [
          { path: "before", message: "cannot be combined with after" },
        ]);
      }
      const all = await withDocument(conversationId, userId, stamped);
      if (query.before !== undefined) {
        const older = all.filter((m) => m.seq < (query.before as number));
        const page = older.slice(Math.max(0, older.length - query.limit));
        return { messages: page, next: older.length > page.length ? (page[0]?.seq ?? null) : null };
      }
      const after = query.after ?? 0;
      const newer = all.filter((m) => m.seq > after);
      const page = newer.slice(0, query.limit);
      return { messages: page, next: newer.length > page.length ? (page.at(-1)?.seq ?? null) : null };
    },

    /** Posts a text message; the same id and text again answers the stored one (created: false). */
    async post(
      userId: UserId,
      conversationId: ConversationId,
      input: { id: string; text: string; replyTo?: string | undefined },
    ): Promise<{ created: boolean; message: MessageDto }> {
      deps.access.requireMember(userId, conversationId);
      return withDocument(conversationId, userId, (document) => {
        const existing = findMessageMap(document, input.id);
        if (!existing) {
          // Counted only when it is new: the same post again (a retry) answers unchanged, free.
          deps.admitMessages?.(userId, 1);
          deps.writePath.serverWrite(document, userId, ["message.sent"], [{ messageId: input.id, authorId: userId }], (doc) => {
            const fields = { id: input.id as MessageId, authorId: userId, text: input.text, createdAt: now() };
            appendTextMessage(doc, input.replyTo === undefined ? fields : { ...fields, replyTo: input.replyTo as MessageId });
          });
        }
        deps.writePath.flushStamps();
        const message = readMessage(findMessageMap(document, input.id) ?? existing!);
        if (!message || message.seq === undefined || message.serverTime === undefined) {
          throw new Error(`message ${input.id} was not stamped`);
        }
        if (existing && (message.authorId !== userId || message.text !== input.text)) {
          throw new WbkError("message_id_conflict", "a different message already has this id");
        }
        return { created: !existing, message: message as MessageDto };
      });
    },
  };
}

export type MessageService = ReturnType<typeof createMessageService>;
