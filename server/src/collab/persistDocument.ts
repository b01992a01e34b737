/**
 * Step 5 of the data path: snapshots through @hocuspocus/extension-database. A document loads
 * as its snapshot plus every log row the snapshot does not cover. A load failure is never
 * stored (Hocuspocus unloads it and the clients are refused with `load_failed`, then retry);
 * a store failure keeps the document in memory and retries with backoff until one succeeds.
 */
import { Database } from "@hocuspocus/extension-database";
import type { Document, Extension, Hocuspocus, onStoreDocumentPayload } from "@hocuspocus/server";
import { conversationIdFromDocument, type ConversationId } from "@wbk/shared";
import * as Y from "yjs";
import type { Logger } from "../log.js";
import type { Storage } from "../storage/types.js";
import type { WritePath } from "./writePath.js";

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 60_000;

function conversationOf(name: string): ConversationId {
  const id = conversationIdFromDocument(name);
  if (!id) throw new Error(`not a conversation document: ${name}`);
  return id;
}

/** A conversation's stored state: its snapshot merged with every log row after it (null: nothing stored). */
export function readStoredState(storage: Storage, conversationId: ConversationId): { state: Uint8Array | null; coveredLogSeq: number } {
  const snapshot = storage.snapshots.get(conversationId);
  const coveredLogSeq = snapshot?.coveredLogSeq ?? 0;
  const rows = storage.log.updatesSince(conversationId, coveredLogSeq);
  const parts = snapshot ? [snapshot.state, ...rows] : rows;
  if (parts.length === 0) return { state: null, coveredLogSeq };
  return { state: parts.length === 1 ? (parts[0] as Uint8Array) : Y.mergeUpdates(parts), coveredLogSeq };
}

export class DocumentPersistence {
  /** Log row each loaded document's stored snapshot covers; a store that would add nothing is skipped. */
  private readonly storedLogSeq = new WeakMap<Document, number>();
  /** What the snapshot read at load covers, until afterLoadDocument hands over the document. */
  private readonly loadedLogSeq = new Map<string, number>();
  private readonly failures = new Map<string, { attempts: number; timer: NodeJS.Timeout | null }>();
  private hocuspocus: Hocuspocus | null = null;

  constructor(
    private readonly storage: Storage,
    private readonly writePath: WritePath,
    private readonly logger: Logger,
  ) {}

  bind(hocuspocus: Hocuspocus): void {
    this.hocuspocus = hocuspocus;
  }

  extensions(): Extension[] {
    const database = new Database({
      fetch: async ({ documentName }) => this.fetch(documentName),
      store: async (payload) => this.store(payload as onStoreDocumentPayload & { state: Buffer }),
    });
    const lifecycle: Extension = {
      extensionName: "documentLifecycle",
      afterLoadDocument: async ({ document }) => {
        this.storedLogSeq.set(document, this.loadedLogSeq.get(document.name) ?? 0);
        this.loadedLogSeq.delete(document.name);
        this.writePath.attach(document);
        this.writePath.reconcileStamps(document);
      },
      beforeUnloadDocument: async ({ documentName }) => {
        // Throwing here keeps the document in memory: it still holds changes no snapshot has.
        if (this.failures.has(documentName)) throw new Error(`${documentName} has unstored changes`);
      },
    };
    return [database, lifecycle];
  }

  /** Has every loaded document's state in a snapshot (shutdown). */
  storeAll(): void {
    for (const document of this.hocuspocus?.documents.values() ?? []) {
      if (document.isLoading) continue;
      try {
        this.put(document);
      } catch (error) {
        this.logger.error({ err: error, document: document.name }, "snapshot at shutdown failed; the update log still has it");
      }
    }
  }

  /**
   * Stores a snapshot of the document now (not debounced), dropping the bytes of every log row
   * it covers: what a delete needs so the old text leaves the log (collab/purgeDeleted.ts).
   */
  storeNow(document: Document): void {
    this.put(document);
  }

  private fetch(documentName: string): Uint8Array | null {
    try {
      const { state, coveredLogSeq } = readStoredState(this.storage, conversationOf(documentName));
      this.loadedLogSeq.set(documentName, coveredLogSeq);
      if (!state) return null;
      // Check it decodes here, so a corrupt row fails the load instead of a half-applied document.
      Y.decodeUpdate(state);
      return state;
    } catch (error) {
      this.logger.error({ err: error, document: documentName }, "document load failed");
      throw Object.assign(new Error(`loading ${documentName} failed`), { reason: "load_failed" });
    }
  }

  private async store(payload: onStoreDocumentPayload & { state: Buffer }): Promise<void> {
    const { document } = payload;
    try {
      this.put(document, payload.state);
    } catch (error) {
      this.scheduleRetry(document, payload, error);
      throw error;
    }
  }

  private put(document: Document, state?: Uint8Array): void {
    const covered = this.writePath.appliedLogSeq(document);
    if (this.storedLogSeq.get(document) === covered && !this.failures.has(document.name)) return;
    this.storage.snapshots.put(conversationOf(document.name), state ?? Y.encodeStateAsUpdate(document), covered);
    this.storedLogSeq.set(document, covered);
    const failure = this.failures.get(document.name);
    if (failure) {
      if (failure.timer) clearTimeout(failure.timer);
      this.failures.delete(document.name);
      this.logger.info({ document: document.name, attempts: failure.attempts }, "snapshot stored after retry");
    }
  }

  private scheduleRetry(document: Document, payload: onStoreDocumentPayload, error: unknown): void {
    const failure = this.failures.get(document.name) ?? { attempts: 0, timer: null };
    failure.attempts += 1;
    const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (failure.attempts - 1));
    this.logger.warn({ err: error, document: document.name, attempt: failure.attempts, retryInMs: delay }, "snapshot store failed");
    if (failure.timer) clearTimeout(failure.timer);
    failure.timer = setTimeout(() => {
      failure.timer = null;
      void this.hocuspocus?.storeDocumentHooks(document, payload, true);
    }, delay);
    failure.timer.unref();
    this.failures.set(document.name, failure);
  }
}
