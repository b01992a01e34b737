/**
 * Yjs sync over plain HTTP, for clients whose WebSocket path is blocked (DESIGN.md "REST API",
 * `/sync`): a state-vector diff with long-polling, and updates through the same guard and
 * update log as the socket.
 */
import type { Document } from "@hocuspocus/server";
import { WbkError, fromBase64Url, toBase64Url, type ConversationId, type UserId } from "@wbk/shared";
import * as Y from "yjs";
import type { Access } from "../access.js";
import { MissingDependencies } from "../collab/guard.js";
import type { WritePath } from "../collab/writePath.js";
import type { WithDocument } from "./documents.js";

/** Longest long-poll (DESIGN.md: `wait` ≤ 25000 ms). */
export const MAX_WAIT_MS = 25_000;

/** Transaction origin of updates that came over HTTP sync. */
const HTTP_SYNC = Symbol("http-sync");

function decodeStateVector(encoded: string | undefined): Uint8Array | undefined {
  if (encoded === undefined) return undefined;
  const bytes = fromBase64Url(encoded);
  // Yjs ignores trailing bytes; a vector that does not re-encode to itself is not one.
  if (bytes) {
    try {
      const again = Y.encodeStateVector(Y.decodeStateVector(bytes));
      if (again.length === bytes.length) return bytes;
    } catch {
      // reported below
    }
  }
  throw new WbkError("validation_failed", "sv must be a base64url-encoded Yjs state vector", [
    { path: "sv", message: "must be a base64url-encoded Yjs state vector" },
  ]);
}

/** Whether the document holds structs the state vector does not cover. */
function hasNews(document: Document, stateVector: Uint8Array | undefined): boolean {
  if (!stateVector) return true;
  const theirs = Y.decodeStateVector(stateVector);
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(document))) {
    if ((theirs.get(client) ?? 0) < clock) return true;
  }
  return false;
}

export function createSyncService(deps: { withDocument: WithDocument; writePath: WritePath; access: Access }) {
  return {
    /**
     * The update that brings a replica at `sv` up to date (null: nothing new after waiting
     * up to `waitMs`). Every answer carries the document's whole delete set.
     */
    async pull(
      userId: UserId,
      conversationId: ConversationId,
      query: { sv?: string; waitMs: number; signal?: AbortSignal },
    ): Promise<Uint8Array | null> {
      deps.access.requireMember(userId, conversationId);
      const stateVector = decodeStateVector(query.sv);
      return deps.withDocument(conversationId, userId, async (document) => {
        if (!hasNews(document, stateVector) && query.waitMs > 0) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              document.off("update", done);
              query.signal?.removeEventListener("abort", done);
              resolve();
            };
            const timer = setTimeout(done, query.waitMs);
            document.on("update", done);
            query.signal?.addEventListener("abort", done);
          });
        }
        if (!hasNews(document, stateVector)) return null;
        return Y.encodeStateAsUpdate(document, stateVector);
      });
    },

    /** Applies a client's update after the guard and the log commit; answers the new state vector. */
    async push(userId: UserId, conversationId: ConversationId, update: Uint8Array): Promise<{ sv: string }> {
      deps.access.requireMember(userId, conversationId);
      return deps.withDocument(conversationId, userId, (document) => {
        let result;
        try {
          result = deps.writePath.acceptClientUpdate(document, update, userId);
        } catch (error) {
          // Built on what the server lacks (its state went back, say after a restore): answer the
          // server's real state vector; the client pushes again from there.
          if (error instanceof MissingDependencies) return { sv: toBase64Url(Y.encodeStateVector(document)) };
          throw error;
        }
        if (result.changesDocument) {
          Y.applyUpdate(document, update, HTTP_SYNC);
          deps.writePath.applied(document, result);
        }
        return { sv: toBase64Url(Y.encodeStateVector(document)) };
      });
    },
  };
}

export type SyncService = ReturnType<typeof createSyncService>;
