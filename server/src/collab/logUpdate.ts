/**
 * Steps 3 and 4 of the data path on the socket: every Yjs update a client sends goes through the
 * guard and into the update log before Hocuspocus applies it; afterwards the writer is told
 * `stored` with the state vector that is now durable.
 */
import type { afterHandleMessagePayload, beforeHandleMessagePayload, Connection, Extension } from "@hocuspocus/server";
import { WbkError, closeEventFor, toBase64Url, type RateLimitedMessage, type StoredMessage, type UserId } from "@wbk/shared";
import * as decoding from "lib0/decoding";
import * as Y from "yjs";
import { retryAfterSeconds as retryAfterSecondsOf } from "../http/errors.js";
import type { Logger } from "../log.js";
import { MissingDependencies, type GuardResult } from "./guard.js";
import type { WritePath } from "./writePath.js";
import type { SocketContext } from "./authenticate.js";

// y-protocols / Hocuspocus message framing
const MESSAGE_SYNC = 0;
const MESSAGE_SYNC_REPLY = 4;
const SYNC_STEP_2 = 1;
const SYNC_UPDATE = 2;

/** The Yjs update inside a Hocuspocus sync message, or null for every other message. */
export function readSyncUpdate(message: Uint8Array): Uint8Array | null {
  const decoder = decoding.createDecoder(message);
  decoding.readVarString(decoder);
  const type = decoding.readVarUint(decoder);
  if (type !== MESSAGE_SYNC && type !== MESSAGE_SYNC_REPLY) return null;
  const syncType = decoding.readVarUint(decoder);
  if (syncType !== SYNC_STEP_2 && syncType !== SYNC_UPDATE) return null;
  return decoding.readVarUint8Array(decoder);
}

export function storedMessage(doc: Y.Doc): string {
  const message: StoredMessage = { type: "stored", sv: toBase64Url(Y.encodeStateVector(doc)) };
  return JSON.stringify(message);
}

function rateLimitedMessage(retryAfterSeconds: number): string {
  const message: RateLimitedMessage = { type: "rate_limited", retryAfterSeconds };
  return JSON.stringify(message);
}

export function logUpdateExtension(writePath: WritePath, logger: Logger): Extension {
  const accepted = new WeakMap<Connection, GuardResult>();
  return {
    extensionName: "logUpdate",
    async beforeHandleMessage({ update: message, document, context, connection }: beforeHandleMessagePayload<SocketContext>) {
      let update: Uint8Array | null;
      try {
        update = readSyncUpdate(message);
      } catch {
        throw closeEventFor("update_refused");
      }
      if (!update) return;
      try {
        accepted.set(connection, writePath.acceptClientUpdate(document, update, context.userId as UserId));
      } catch (error) {
        if (error instanceof MissingDependencies) {
          // Hocuspocus decodes this same buffer next: make it an empty update (no structs, no
          // deletions), so nothing unchecked is applied or left pending in the document.
          update[0] = 0;
          update[1] = 0;
          logger.debug({ document: document.name }, "update set aside until its dependencies arrive");
          return;
        }
        if (error instanceof WbkError) {
          logger.info({ document: document.name, userId: context.userId, code: error.code, why: error.message }, "update refused");
          // The close reason is only the code: the wait goes first, as a stateless message.
          const retryAfterSeconds = retryAfterSecondsOf(error);
          if (retryAfterSeconds !== null) connection.sendStateless(rateLimitedMessage(retryAfterSeconds));
          throw closeEventFor(error.code);
        }
        logger.error({ err: error, document: document.name }, "update could not be logged");
        throw closeEventFor("internal");
      }
    },
    async afterHandleMessage({ document, connection }: afterHandleMessagePayload<SocketContext>) {
      const result = accepted.get(connection);
      if (!result) return;
      accepted.delete(connection);
      writePath.applied(document, result);
      connection.sendStateless(storedMessage(document));
    },
  };
}
