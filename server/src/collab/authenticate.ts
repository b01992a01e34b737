/**
 * Step 1 of the data path: who is on this socket, and may they open this document?
 * An unknown token closes the socket with 4401; an expired or revoked one, or a non-member,
 * gets the document refused (reason `session_expired`, `session_revoked`, `forbidden`) and
 * nothing of it. Live sockets of sessions that end are closed by the SocketRegistry.
 */
import type { connectedPayload, Extension, onAuthenticatePayload, onDisconnectPayload } from "@hocuspocus/server";
import { WbkError, closeEventFor, conversationIdFromDocument, type UserId } from "@wbk/shared";
import type { WebSocket } from "ws";
import type { Access } from "../access.js";
import type { SessionService } from "../auth/sessions.js";
import type { SocketRegistry } from "./sockets.js";

/** What each socket's documents know about it (Hocuspocus context). */
export interface SocketContext {
  ws: WebSocket;
  /** The `wbk_session` cookie of the upgrade request, for browsers. */
  cookieToken: string | null;
  userId?: UserId;
  sessionId?: string;
}

/** Thrown to Hocuspocus: its `reason` reaches the provider as the refusal reason. */
export function refusal(code: WbkError["code"]): { reason: string } {
  return { reason: code };
}

export function authenticateExtension(deps: {
  sessions: SessionService;
  access: Access;
  sockets: SocketRegistry;
  maxDocsPerSocket: number;
}): Extension {
  return {
    extensionName: "authenticate",
    async onAuthenticate({ token, context, documentName }: onAuthenticatePayload<SocketContext>) {
      let session;
      try {
        session = deps.sessions.validate(token || context.cookieToken).session;
      } catch (error) {
        const code = error instanceof WbkError ? error.code : "unauthenticated";
        if (code === "unauthenticated") {
          // A token that never was: let the refusal reach the client, then cut the socket.
          const event = closeEventFor(code);
          setImmediate(() => context.ws.close(event.code, event.reason));
        }
        // A token that was valid once (expired, revoked) only refuses this document: the client
        // may fetch a fresh token and authenticate again on the same socket.
        throw refusal(code);
      }
      const conversationId = conversationIdFromDocument(documentName);
      if (!conversationId || !deps.access.isMember(session.userId, conversationId)) throw refusal("forbidden");
      if (!deps.sockets.canOpen(context.ws, documentName, deps.maxDocsPerSocket)) throw refusal("limit_exceeded");
      return { userId: session.userId, sessionId: session.id };
    },
    // Counted once the document is really open: a load that fails leaves nothing behind.
    async connected({ context, documentName }: connectedPayload<SocketContext>) {
      deps.sockets.openDocument(context.ws, context.sessionId as string, context.userId as UserId, documentName);
    },
    async onDisconnect({ context, documentName }: onDisconnectPayload<SocketContext>) {
      if (context.ws) deps.sockets.closeDocument(context.ws, documentName);
    },
  };
}
