/**
 * What the device remembers about one user's uploads between runs, as one meta value:
 * - resume entries: content fingerprint → tus upload URL (tus-js-client's `urlStorage`), so
 *   sharing the same file again, or a restart, continues the same upload from the server's offset;
 * - the queue: videos copied into the device's file store, re-started after a restart.
 * Writes are serialised: tus and the SDK update it from separate callbacks.
 */
import type { ConversationId } from "@wbk/shared";
import type { StorageAdapter } from "../storage.js";

/** One resume entry, as tus-js-client stores it (its `PreviousUpload` without the key). */
export interface ResumeEntry {
  uploadUrl: string | null;
  size: number | null;
  metadata: Record<string, string>;
  creationTime: string;
}

/** A video waiting in the device's file store. */
export interface QueuedVideo {
  /** The local id of the upload (also names its copy). */
  id: string;
  conversationId: ConversationId;
  filename: string;
  type: string;
  size: number;
  /** The name of the copy in `StorageAdapter.files`. */
  file: string;
  /** The user paused it: after a restart it waits for `resume()`. */
  paused: boolean;
  createdAt: number;
}

interface Saved {
  resume: Record<string, ResumeEntry>;
  queue: Record<string, QueuedVideo>;
}

/** tus-js-client's UrlStorage (its types are not exported by name). */
export interface TusUrlStorage {
  findAllUploads(): Promise<Array<ResumeEntry & { urlStorageKey: string; parallelUploadUrls: null }>>;
  findUploadsByFingerprint(fingerprint: string): Promise<Array<ResumeEntry & { urlStorageKey: string; parallelUploadUrls: null }>>;
  removeUpload(urlStorageKey: string): Promise<void>;
  addUpload(fingerprint: string, upload: ResumeEntry): Promise<string>;
}

/** Meta key of a user's upload records. */
export const uploadsKey = (userId: string) => `uploads:${userId}`;
/** File-store prefix of a user's queued copies (like the user's document prefix). */
export const copiesPrefix = (userId: string) => `wbk:${userId}:video:`;

export class UploadRecords {
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly storage: StorageAdapter,
    readonly userId: string,
  ) {}

  async read(): Promise<Saved> {
    await this.chain.catch(() => undefined);
    return this.load();
  }

  /** Applies `change` to the saved records; changes run one after another. */
  update(change: (saved: Saved) => void): Promise<void> {
    const next = this.chain
      .catch(() => undefined)
      .then(async () => {
        const saved = await this.load();
        change(saved);
        const empty = Object.keys(saved.resume).length === 0 && Object.keys(saved.queue).length === 0;
        await this.storage.writeMeta(uploadsKey(this.userId), empty ? null : JSON.stringify(saved));
      });
    this.chain = next;
    return next;
  }

  /** Resolves once every change asked for so far is written. */
  async settled(): Promise<void> {
    await this.chain.catch(() => undefined);
  }

  /** tus-js-client's `urlStorage`: one entry per fingerprint, keyed by it. */
  urlStorage(): TusUrlStorage {
    const found = (saved: Saved, key: string) => {
      const entry = saved.resume[key];
      return entry ? [{ ...entry, urlStorageKey: key, parallelUploadUrls: null }] : [];
    };
    return {
      findAllUploads: async () => {
        const saved = await this.read();
        return Object.keys(saved.resume).flatMap((key) => found(saved, key));
      },
      findUploadsByFingerprint: async (fingerprint) => found(await this.read(), fingerprint),
      removeUpload: (key) => this.update((saved) => void delete saved.resume[key]),
      addUpload: async (fingerprint, upload) => {
        const { uploadUrl, size, metadata, creationTime } = upload;
        await this.update((saved) => void (saved.resume[fingerprint] = { uploadUrl, size, metadata, creationTime }));
        return fingerprint;
      },
    };
  }

  private async load(): Promise<Saved> {
    const raw = await this.storage.readMeta(uploadsKey(this.userId));
    try {
      const saved = raw ? (JSON.parse(raw) as Partial<Saved>) : {};
      return { resume: saved.resume ?? {}, queue: saved.queue ?? {} };
    } catch {
      return { resume: {}, queue: {} };
    }
  }
}
