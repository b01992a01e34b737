/**
 * A deleted message's text leaves the server as soon as the delete is stored (DESIGN.md "Update
 * log and delivery"). Yjs keeps a replaced value only until the transaction ends (the server's
 * documents garbage-collect), but the text still sits in the update-log rows and the snapshot
 * written before the delete. So once the delete is applied and every logged row is in memory,
 * a snapshot is stored at once, which drops the bytes of every row it covers; the search index
 * entry went with the delete (collab/indexMessages.ts). A delete that left the text in place
 * (a client that set only `deleted`, or an edit that won a race against the delete) is first
 * cleared by the server. Then the WAL is checkpointed, so no page image of the text stays there.
 * Clients keep their own history until their next local compaction: not the server's to purge.
 */
import type { Document, Extension } from "@hocuspocus/server";
import { findMessageMap, messageMaps } from "@wbk/shared";
import type { Logger } from "../log.js";
import type { Storage } from "../storage/types.js";
import type { DocumentPersistence } from "./persistDocument.js";
import type { WritePath } from "./writePath.js";

/** A checkpoint another process's reader blocks is retried after 1, 2, 4, 8 s. */
const CHECKPOINT_ATTEMPTS = 5;
const CHECKPOINT_RETRY_MS = 1000;

export class DeletePurge {
  /** Deleted message ids per document whose purge is still to run. */
  private readonly waiting = new WeakMap<Document, Set<string>>();
  private checkpointScheduled = false;

  constructor(
    private readonly storage: Storage,
    private readonly writePath: WritePath,
    private readonly persistence: DocumentPersistence,
    private readonly logger: Logger,
  ) {
    writePath.onSettled((document) => this.run(document, true));
  }

  /**
   * After the persistence's afterLoadDocument: deleted messages that still hold text (stored
   * before the server cleared them, e.g. an admin's delete, which could not clear it) are
   * purged when their document loads.
   */
  extension(): Extension {
    return {
      extensionName: "purgeDeleted",
      afterLoadDocument: async ({ document }) => {
        const ids: string[] = [];
        for (const map of messageMaps(document)) {
          const id = map.get("id");
          if (typeof id === "string" && map.get("deleted") === true && map.get("text") !== "") ids.push(id);
        }
        if (ids.length > 0) this.request(document, ids);
      },
    };
  }

  /**
   * Messages of the document were deleted (or written to while deleted). Called right after
   * the transaction, where the document may not be written to: a clearing write waits a turn.
   */
  request(document: Document, messageIds: readonly string[]): void {
    const ids = this.waiting.get(document) ?? new Set<string>();
    for (const id of messageIds) ids.add(id);
    this.waiting.set(document, ids);
    this.run(document, false);
  }

  private run(document: Document, mayWrite: boolean): void {
    const ids = this.waiting.get(document);
    if (!ids || document.isDestroyed) return;
    // A client's update is applied after its transaction ends: wait until it is in memory.
    if (!this.writePath.isSettled(document)) return;
    try {
      const uncleared = [...ids]
        .map((id) => findMessageMap(document, id))
        .filter((map) => map !== undefined && map.get("deleted") === true && map.get("text") !== "");
      if (uncleared.length > 0) {
        if (!mayWrite) {
          setImmediate(() => this.run(document, true));
          return;
        }
        // This write's own transaction requests the purge again, and that one stores it.
        this.writePath.serverWrite(document, null, ["server.purge"], [], () => {
          for (const map of uncleared) map?.set("text", "");
        });
        return;
      }
      this.waiting.delete(document);
      this.persistence.storeNow(document);
      this.logger.info({ document: document.name, messages: ids.size }, "deleted text purged");
      this.scheduleCheckpoint();
    } catch (error) {
      // The debounced snapshot that follows every change retries the log part.
      this.logger.error({ err: error, document: document.name }, "purging deleted text failed");
    }
  }

  /** One checkpoint for the purges of an event-loop turn; a busy one is tried again a few times. */
  private scheduleCheckpoint(attempt = 0): void {
    if (this.checkpointScheduled) return;
    this.checkpointScheduled = true;
    const retry = () => {
      this.checkpointScheduled = false;
      let done = false;
      try {
        done = this.storage.checkpoint();
      } catch (error) {
        this.logger.warn({ err: error }, "WAL checkpoint after a purge failed");
        return;
      }
      if (done) return;
      if (attempt + 1 >= CHECKPOINT_ATTEMPTS) {
        this.logger.warn("WAL checkpoint after a purge kept meeting readers; old page images may stay in the WAL until the next purge");
        return;
      }
      setTimeout(() => this.scheduleCheckpoint(attempt + 1), CHECKPOINT_RETRY_MS * 2 ** attempt).unref();
    };
    setImmediate(retry);
  }
}
