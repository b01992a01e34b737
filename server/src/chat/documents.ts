/** REST's way into a conversation document: a Hocuspocus direct connection held while in use. */
import type { Document, Hocuspocus } from "@hocuspocus/server";
import { WbkError, documentName, type ConversationId, type UserId } from "@wbk/shared";

export type WithDocument = <T>(
  conversationId: ConversationId,
  userId: UserId,
  use: (document: Document) => T | Promise<T>,
) => Promise<T>;

export function documentOpener(hocuspocus: Hocuspocus): WithDocument {
  return async (conversationId, userId, use) => {
    let connection;
    try {
      connection = await hocuspocus.openDirectConnection(documentName(conversationId), { userId });
    } catch (error) {
      if ((error as { reason?: string })?.reason === "load_failed") {
        throw new WbkError("load_failed", "the conversation could not be loaded; try again");
      }
      throw error;
    }
    try {
      return await use(connection.document as Document);
    } finally {
      // Keep the document warm: the debounced snapshot (a no-op when nothing changed) unloads it.
      await connection.disconnect({ unloadImmediately: false });
    }
  };
}
