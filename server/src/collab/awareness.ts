/**
 * Presence (Hocuspocus awareness) as the server vouches for it: every state a connection
 * announces is rewritten to the connection's own identity plus `typing`, and states for Yjs
 * client ids that belong to another user are dropped. Awareness is never stored; Hocuspocus sends it only
 * to the document's connections, which are members (authenticate.ts).
 *
 * A client id belongs to the user bound to it in the update log (DESIGN.md "Who may write
 * what"), or, before it wrote anything, to the first connection that announced it, for as long
 * as that connection has the document open.
 */
import type { beforeHandleAwarenessPayload, Extension, onDisconnectPayload } from "@hocuspocus/server";
import { conversationIdFromDocument, type ConversationId, type UserId } from "@wbk/shared";
import type { Storage } from "../storage/types.js";
import type { SocketContext } from "./authenticate.js";

/** The identity other members see in a presence state: always the server's. */
export interface PresenceUser {
  id: UserId;
  displayName: string;
}

/** Client ids one connection may announce presence for in one document. */
const MAX_CLIENT_IDS_PER_CONNECTION = 4;

/**
 * What a presence state may say: who (always the server's word) and whether they are typing.
 * Other fields are dropped, so no client can put a name or id of its choosing in front of
 * others under any key.
 */
function presenceState(state: Record<string, unknown>, user: PresenceUser): Record<string, unknown> {
  return typeof state.typing === "boolean" ? { user, typing: state.typing } : { user };
}

/** Client ids announced per open document, and the connection that announced each. */
type Claims = Map<number, { userId: UserId; socketId: string }>;

export function awarenessExtension(storage: Pick<Storage, "users" | "log">): Extension {
  const claimsByDocument = new Map<string, Claims>();

  /** Stored bindings already read, per document: they never change, and awareness is frequent. */
  const boundByDocument = new Map<string, Map<number, UserId>>();

  /** The user a client id belongs to in this conversation, or null when nobody has it yet. */
  const ownerOf = (documentName: string, conversationId: ConversationId, clientId: number): UserId | null => {
    let bound = boundByDocument.get(documentName);
    if (!bound) {
      bound = new Map();
      boundByDocument.set(documentName, bound);
    }
    let owner = bound.get(clientId);
    if (owner === undefined) {
      owner = storage.log.bindings(conversationId, [clientId]).get(clientId)?.userId;
      if (owner !== undefined) bound.set(clientId, owner);
    }
    return owner ?? claimsByDocument.get(documentName)?.get(clientId)?.userId ?? null;
  };

  return {
    extensionName: "awareness",
    async beforeHandleAwareness({ states, context, documentName, socketId }: beforeHandleAwarenessPayload<SocketContext>) {
      // Server-side writes (no connection) announce nothing of their own.
      const userId = context?.userId;
      const conversationId = conversationIdFromDocument(documentName);
      if (!userId || !conversationId) {
        states.clear();
        return;
      }
      const user = storage.users.byId(userId);
      let claims = claimsByDocument.get(documentName);
      if (!claims) {
        claims = new Map();
        claimsByDocument.set(documentName, claims);
      }
      for (const [clientId, state] of states) {
        const owner = ownerOf(documentName, conversationId, clientId);
        if ((owner !== null && owner !== userId) || !user) {
          states.delete(clientId);
          continue;
        }
        // A provider announces its own document's client id; a few more cover a reload on the
        // same connection. More is someone announcing on others' behalf.
        const claimed = [...claims.values()].filter((claim) => claim.socketId === socketId).length;
        if (!claims.has(clientId) && claimed >= MAX_CLIENT_IDS_PER_CONNECTION) {
          states.delete(clientId);
          continue;
        }
        claims.set(clientId, { userId, socketId });
        states.set(clientId, presenceState(state, { id: userId, displayName: user.displayName }));
      }
    },
    async onDisconnect({ documentName, socketId }: onDisconnectPayload<SocketContext>) {
      const claims = claimsByDocument.get(documentName);
      if (!claims) return;
      for (const [clientId, claim] of claims) if (claim.socketId === socketId) claims.delete(clientId);
      if (claims.size === 0) {
        claimsByDocument.delete(documentName);
        boundByDocument.delete(documentName);
      }
    },
  };
}
