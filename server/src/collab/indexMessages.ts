/**
 * Keeps the search index in step with the documents. Every change to a message's text or
 * `deleted` flag, whatever brought it (socket, HTTP sync, REST, the server's own writes), is
 * indexed from the document right after the transaction that made it: a new message's text
 * goes in, an edit replaces it, a delete removes it (and asks for the purge of its text). A
 * document is reconciled with the index when it loads (a crash between a log commit and its
 * index write); conversations marked stale (an upgraded database, a failed index write) are
 * rebuilt from storage in the background, or at once when someone searches them.
 */
import type { Document, Extension, Hocuspocus } from "@hocuspocus/server";
import {
  conversationIdFromDocument,
  documentName,
  messageMaps,
  messagesArray,
  readMessage,
  type ConversationId,
  type MessageMap,
} from "@wbk/shared";
import * as Y from "yjs";
import type { Logger } from "../log.js";
import type { SearchEntry, Storage } from "../storage/types.js";
import { readStoredState } from "./persistDocument.js";
import type { DeletePurge } from "./purgeDeleted.js";

/** What the index holds for a message map: its text while it is a live text message, else nothing. */
function entryOf(map: MessageMap): SearchEntry | null {
  const message = readMessage(map);
  if (!message || message.kind !== "text" || message.deleted || message.text === "") return null;
  return { messageId: message.id, createdAt: message.createdAt, text: message.text };
}

function entriesOf(doc: Y.Doc): SearchEntry[] {
  const entries: SearchEntry[] = [];
  for (const map of messageMaps(doc)) {
    const entry = entryOf(map);
    if (entry) entries.push(entry);
  }
  return entries;
}

export class MessageIndexer {
  private hocuspocus: Hocuspocus | null = null;
  private stopped = false;
  /**
   * Messages changed since the last index write, per document. Written together once per
   * event-loop turn: one commit (and one fsync) for all the updates that arrived meanwhile,
   * instead of one per update, which was a third of the server's time under load.
   */
  private readonly pending = new Map<Document, Set<MessageMap>>();
  private flushQueued = false;

  constructor(
    private readonly storage: Storage,
    private readonly purge: DeletePurge,
    private readonly logger: Logger,
  ) {}

  bind(hocuspocus: Hocuspocus): void {
    this.hocuspocus = hocuspocus;
  }

  /** After the persistence's own afterLoadDocument (seq stamps of a recovered document). */
  extension(): Extension {
    return {
      extensionName: "indexMessages",
      afterLoadDocument: async ({ document }) => {
        this.rebuild(this.conversationOf(document), document);
        this.observe(document);
      },
    };
  }

  /** Rebuilds a stale conversation's index now (before it is searched). */
  ensureFresh(conversationId: ConversationId): void {
    // A search sees every change applied before it, also those still waiting for their write.
    this.flush();
    if (this.storage.search.isStale(conversationId)) this.rebuild(conversationId);
  }

  /**
   * Rebuilds every stale conversation, one per event-loop turn so the server keeps answering;
   * resolves when none is left (or the server stops).
   */
  async rebuildStale(): Promise<void> {
    const started = Date.now();
    try {
      const stale = this.storage.search.stale();
      if (stale.length === 0) return;
      for (const conversationId of stale) {
        await new Promise((resolve) => setImmediate(resolve));
        if (this.stopped) return;
        if (this.storage.search.isStale(conversationId)) this.rebuild(conversationId);
      }
      this.logger.info({ conversations: stale.length, ms: Date.now() - started }, "search index rebuilt");
    } catch (error) {
      this.logger.error({ err: error }, "rebuilding the search index failed; stale conversations are rebuilt when searched");
    }
  }

  stop(): void {
    this.flush();
    this.stopped = true;
  }

  /** From the loaded document when there is one, else from storage (snapshot and log). */
  private rebuild(conversationId: ConversationId, loaded?: Document): void {
    try {
      const open = this.hocuspocus?.documents.get(documentName(conversationId));
      const live = loaded ?? (open && !open.isLoading && !open.isDestroyed ? open : undefined);
      if (live) {
        this.storage.search.replaceAll(conversationId, entriesOf(live));
        return;
      }
      const doc = new Y.Doc();
      const { state } = readStoredState(this.storage, conversationId);
      if (state) Y.applyUpdate(doc, state);
      this.storage.search.replaceAll(conversationId, entriesOf(doc));
      doc.destroy();
    } catch (error) {
      this.logger.error({ err: error, conversationId }, "search index rebuild failed");
      this.markStale(conversationId);
    }
  }

  private observe(document: Document): void {
    const messages = messagesArray(document);
    const touched = new Set<MessageMap>();
    messages.observeDeep((events) => {
      for (const event of events) {
        if (event.target === messages) {
          for (const item of event.changes.added) {
            if (item.content instanceof Y.ContentType && item.content.type instanceof Y.Map) touched.add(item.content.type);
          }
        } else if (
          event instanceof Y.YMapEvent &&
          event.target.parent === messages &&
          (event.keysChanged.has("text") || event.keysChanged.has("deleted"))
        ) {
          touched.add(event.target as MessageMap);
        }
      }
    });
    // After the transaction's garbage collection: a snapshot taken from here holds no replaced text.
    document.on("afterTransactionCleanup", () => {
      if (touched.size === 0) return;
      const waiting = this.pending.get(document) ?? new Set<MessageMap>();
      let deletes = false;
      for (const map of touched) {
        waiting.add(map);
        deletes ||= map.get("deleted") === true;
      }
      touched.clear();
      this.pending.set(document, waiting);
      // A delete is written at once: its purge (which runs from here) must find the index
      // already without the text, and must not wait past an unload.
      if (deletes) {
        this.flush();
        return;
      }
      if (this.flushQueued) return;
      this.flushQueued = true;
      setImmediate(() => this.flush());
    });
  }

  /** Writes what changed since the last turn, for every document, in one transaction. */
  flush(): void {
    this.flushQueued = false;
    if (this.pending.size === 0) return;
    const waiting = [...this.pending];
    this.pending.clear();
    let batches: Array<{ document: Document } & ReturnType<MessageIndexer["changesOf"]>> = [];
    try {
      batches = waiting.map(([document, maps]) => ({ document, ...this.changesOf([...maps]) }));
      this.storage.transaction(() => {
        for (const { document, put, remove } of batches) {
          const conversationId = this.conversationOf(document);
          if (put.length > 0) this.storage.search.put(conversationId, put);
          if (remove.length > 0) this.storage.search.remove(conversationId, remove);
        }
      });
    } catch (error) {
      this.logger.error({ err: error, documents: waiting.map(([document]) => document.name) }, "search index write failed; rebuilding later");
      for (const [document] of waiting) this.markStale(this.conversationOf(document));
    }
    // After the index write: a purge stores the document and checkpoints, index included.
    for (const { document, deleted } of batches) if (deleted.length > 0) this.purge.request(document, deleted);
  }

  private changesOf(maps: readonly MessageMap[]): { put: SearchEntry[]; remove: string[]; deleted: string[] } {
    const put: SearchEntry[] = [];
    const remove: string[] = [];
    const deleted: string[] = [];
    for (const map of maps) {
      const id = map.get("id");
      if (typeof id !== "string") continue;
      if (map.get("deleted") === true) deleted.push(id);
      const entry = entryOf(map);
      if (entry) put.push(entry);
      else remove.push(id);
    }
    return { put, remove, deleted };
  }

  private markStale(conversationId: ConversationId): void {
    try {
      this.storage.search.markStale(conversationId);
    } catch (error) {
      this.logger.error({ err: error, conversationId }, "could not mark the search index stale");
    }
  }

  private conversationOf(document: Document): ConversationId {
    const id = conversationIdFromDocument(document.name);
    if (!id) throw new Error(`not a conversation document: ${document.name}`);
    return id;
  }
}
