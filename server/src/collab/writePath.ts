/**
 * The one write path to conversation documents (DESIGN.md "Update log and delivery"): every
 * accepted update — from a socket, HTTP sync, REST or the server itself — is checked, committed
 * to the update log, and only then applied and broadcast. New messages get their `seq` in the
 * same commit; the stamp is written into the document right after (batched per event-loop turn).
 */
import type { Document } from "@hocuspocus/server";
import {
  conversationIdFromDocument,
  messageMaps,
  stampMessage,
  type ConversationId,
  type Limits,
  type UserId,
} from "@wbk/shared";
import * as Y from "yjs";
import type { Logger } from "../log.js";
import type { ActionKind, CommittedEntry, NewMessageEntry, Storage } from "../storage/types.js";
import { guardUpdate, SERVER_USER, type GuardResult } from "./guard.js";

/** Transaction origin of the server's own writes; carries what the log row needs. */
class ServerWrite {
  committed: CommittedEntry | null = null;
  constructor(
    readonly userId: UserId | null,
    readonly actions: readonly ActionKind[],
    readonly newMessages: readonly NewMessageEntry[],
  ) {}
}

/** How far the log has reached a document's memory (a snapshot may only cover applied rows). */
interface DocumentLogState {
  logged: number;
  pendingApply: number;
  applied: number;
}

export interface WritePathOptions {
  storage: Storage;
  limits: Limits;
  isAdmin(userId: UserId): boolean;
  /** Throws `rate_limited` when the user may not write this many new messages now (RATE_LIMIT_MESSAGES_PER_MIN). */
  admitMessages?(userId: UserId, count: number): void;
  /** Throws `rate_limited` when the user's clients may not send this update now (RATE_LIMIT_UPDATES_PER_MIN, …_BYTES_PER_MIN). */
  admitUpdate?(userId: UserId, bytes: number): void;
  logger: Logger;
  now?: () => number;
}

export class WritePath {
  /**
   * Per loaded document object, not per name: while one copy unloads, a reconnecting client
   * may already have loaded the next one.
   */
  private readonly state = new WeakMap<Document, DocumentLogState>();
  private readonly pendingStamps = new Map<string, { document: Document; stamps: Map<string, [number, number]> }>();
  private stampScheduled = false;
  private readonly settledListeners: Array<(document: Document) => void> = [];
  private readonly now: () => number;

  constructor(private readonly options: WritePathOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Called once a document is loaded with everything the log holds for it. */
  attach(document: Document): void {
    const conversationId = this.conversationOf(document);
    const logged = this.options.storage.log.lastLogSeq(conversationId);
    this.state.set(document, { logged, pendingApply: 0, applied: logged });
    document.on("afterTransaction", (transaction: Y.Transaction) => {
      if (transaction.origin instanceof ServerWrite) this.commitServerWrite(document, transaction);
    });
  }

  /** The newest log row whose update is in the document's memory (what a snapshot now covers). */
  appliedLogSeq(document: Document): number {
    return this.state.get(document)?.applied ?? 0;
  }

  /** Whether every row logged for the document is in its memory (a snapshot now covers them all). */
  isSettled(document: Document): boolean {
    const state = this.state.get(document);
    return state !== undefined && state.pendingApply === 0 && state.applied === state.logged;
  }

  /** Calls `listener` each time a client's update is applied and leaves the document settled. */
  onSettled(listener: (document: Document) => void): void {
    this.settledListeners.push(listener);
  }

  /**
   * Checks and logs an update a client sent; throws `update_refused` / `payload_too_large` /
   * `rate_limited`. The caller applies it afterwards and then calls `applied`.
   */
  acceptClientUpdate(document: Document, update: Uint8Array, userId: UserId): GuardResult {
    const conversationId = this.conversationOf(document);
    const { storage } = this.options;
    // An update without items (what a client's sync sends on every reconnect when it has
    // nothing new: its whole delete set) counts only once the guard found it deletes something;
    // one with items counts before any work is done on it.
    const hasItems = update.byteLength > 0 && update[0] !== 0;
    if (hasItems) this.options.admitUpdate?.(userId, update.byteLength);
    const result = guardUpdate(document, update, {
      userId,
      isAdmin: this.options.isAdmin(userId),
      limits: this.options.limits,
      bindings: (clientIds) => storage.log.bindings(conversationId, clientIds),
      messageIdTaken: (messageId) => storage.log.messageSeq(conversationId, messageId) !== undefined,
      lastSeq: () => storage.log.lastSeq(conversationId),
    });
    if (!result.changesDocument) return result;
    if (!hasItems) this.options.admitUpdate?.(userId, update.byteLength);
    // Only the user's own new messages count: relaying others' (restoring what the server lost) is not writing.
    const own = result.newMessages.filter((message) => message.authorId === userId).length;
    if (own > 0) this.options.admitMessages?.(userId, own);
    const serverTime = this.now();
    const committed = storage.log.append({
      conversationId,
      userId,
      clientId: result.clientId,
      serverTime,
      update,
      actions: result.actions,
      bindings: result.bindings,
      newMessages: result.newMessages,
    });
    const state = this.stateOf(document);
    state.logged = committed.logSeq;
    state.pendingApply += 1;
    this.queueStamps(document, result.newMessages, committed.seqs, serverTime);
    return result;
  }

  /** Marks the update accepted by `acceptClientUpdate` as applied to the document. */
  applied(document: Document, result: GuardResult): void {
    if (!result.changesDocument) return;
    const state = this.stateOf(document);
    state.pendingApply = Math.max(0, state.pendingApply - 1);
    if (state.pendingApply !== 0) return;
    state.applied = state.logged;
    for (const listener of this.settledListeners) listener(document);
  }

  /**
   * Runs `change` on the document as the server acting for `userId` (null: housekeeping).
   * The update is logged before Hocuspocus broadcasts it; returns the committed row.
   */
  serverWrite(
    document: Document,
    userId: UserId | null,
    actions: readonly ActionKind[],
    newMessages: readonly NewMessageEntry[],
    change: (doc: Y.Doc) => void,
  ): CommittedEntry | null {
    const origin = new ServerWrite(userId, actions, newMessages);
    document.transact(() => change(document), origin);
    if (origin.committed && newMessages.length > 0) {
      this.queueStamps(document, newMessages, origin.committed.seqs, this.now());
    }
    return origin.committed;
  }

  /**
   * Writes every queued `seq` stamp now (REST answers need theirs before they reply). A stamp
   * whose message is not in memory (unloaded meanwhile) waits for the next load's reconcile.
   */
  flushStamps(): void {
    this.stampScheduled = false;
    const batches = [...this.pendingStamps.values()];
    this.pendingStamps.clear();
    for (const { document, stamps } of batches) {
      if (document.isDestroyed) continue;
      this.serverWrite(document, null, ["server.stamp"], [], (doc) => {
        for (const map of messageMaps(doc)) {
          const stamp = stamps.get(map.get("id") as string);
          if (stamp && map.get("seq") === undefined) stampMessage(map, stamp[0], stamp[1]);
        }
      });
    }
  }

  /**
   * Stamps messages the document holds without a `seq` (a crash between commit and stamp, or
   * content a member's copy restored): with the stored seq, or a new one.
   */
  reconcileStamps(document: Document): void {
    const conversationId = this.conversationOf(document);
    const { log } = this.options.storage;
    const known = log.messageSeqs(conversationId);
    const stamps: Array<[Y.Map<unknown>, number, number]> = [];
    for (const map of messageMaps(document)) {
      const id = map.get("id");
      const authorId = map.get("authorId");
      if (typeof id !== "string" || typeof authorId !== "string" || map.get("seq") !== undefined) continue;
      const record = known.get(id);
      if (record) {
        stamps.push([map, record.seq, record.serverTime]);
      } else {
        const serverTime = this.now();
        stamps.push([map, log.assignSeq(conversationId, id, authorId as UserId, serverTime), serverTime]);
      }
    }
    if (stamps.length === 0) return;
    this.options.logger.info({ document: document.name, count: stamps.length }, "stamping messages found without seq");
    this.serverWrite(document, null, ["server.stamp"], [], () => {
      for (const [map, seq, serverTime] of stamps) stampMessage(map, seq, serverTime);
    });
  }

  private commitServerWrite(document: Document, transaction: Y.Transaction): void {
    const origin = transaction.origin as ServerWrite;
    const before = transaction.beforeState;
    const after = transaction.afterState;
    let changed = transaction.deleteSet.clients.size > 0;
    for (const [client, clock] of after) if ((before.get(client) ?? 0) !== clock) changed = true;
    if (!changed) return;
    const update = Y.encodeStateAsUpdate(document, Y.encodeStateVector(before));
    const ownClock = after.get(document.clientID) ?? 0;
    origin.committed = this.options.storage.log.append({
      conversationId: this.conversationOf(document),
      userId: origin.userId,
      clientId: document.clientID,
      serverTime: this.now(),
      update,
      actions: origin.actions,
      bindings: new Map([[document.clientID, { userId: SERVER_USER, nextClock: ownClock }]]),
      newMessages: origin.newMessages,
    });
    const state = this.stateOf(document);
    state.logged = origin.committed.logSeq;
    if (state.pendingApply === 0) state.applied = state.logged;
  }

  private queueStamps(document: Document, messages: readonly NewMessageEntry[], seqs: number[], serverTime: number) {
    if (messages.length === 0) return;
    const batch = this.pendingStamps.get(document.name) ?? { document, stamps: new Map() };
    messages.forEach((message, i) => batch.stamps.set(message.messageId, [seqs[i] as number, serverTime]));
    this.pendingStamps.set(document.name, batch);
    if (!this.stampScheduled) {
      this.stampScheduled = true;
      setImmediate(() => this.flushStamps());
    }
  }

  private stateOf(document: Document): DocumentLogState {
    let state = this.state.get(document);
    if (!state) {
      state = { logged: 0, pendingApply: 0, applied: 0 };
      this.state.set(document, state);
    }
    return state;
  }

  private conversationOf(document: Document): ConversationId {
    const id = conversationIdFromDocument(document.name);
    if (!id) throw new Error(`not a conversation document: ${document.name}`);
    return id;
  }
}
