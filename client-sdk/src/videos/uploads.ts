/**
 * The signed-in user's video uploads on this device: `shareVideo` (checks, the offline copy,
 * one upload per content), the queue restored after a restart, waking waiting uploads when the
 * network is back, and forgetting everything at sign-out.
 */
import { randomId, type ConversationId, type Limits } from "@wbk/shared";
import { ChatError } from "../errors.js";
import type { StorageAdapter } from "../storage.js";
import type { ShareVideoOptions } from "../types.js";
import { UploadRecords, copiesPrefix, uploadsKey, type QueuedVideo } from "./records.js";
import { cleanFilename, contentFingerprint, openVideo, storedSource, type FileOpener, type VideoInput, type VideoSource } from "./source.js";
import { VideoUpload, type UploadContext, type UploadPlan } from "./upload.js";

/** Bytes copied per read into the device's file store. */
const COPY_BYTES = 4 * 1024 * 1024;
/** How long sign-out waits for each running upload's cancel to reach the server. */
const SIGN_OUT_CANCEL_MS = 3000;

export interface VideoUploadsOptions {
  baseUrl: string;
  storage: StorageAdapter;
  chunkBytes: number;
  offlineQueueMaxBytes: number;
  stallMs: number;
  openFile: FileOpener | undefined;
  token(): Promise<string | null>;
  limits(): Limits;
  onSessionRefused(code: string): void;
}

export class VideoUploads {
  private userId: string | null = null;
  private records: UploadRecords | null = null;
  private readonly active = new Set<VideoUpload>();
  /** The restore of the current user's queue, so a share waits for it. */
  private restoring: Promise<void> = Promise.resolve();

  constructor(private readonly options: VideoUploadsOptions) {}

  /** The current user's uploads that have not ended, oldest first. */
  pending(): VideoUpload[] {
    return [...this.active];
  }

  /** A user's session started: restart their queued videos (once per session), or wake them. */
  begin(userId: string): Promise<void> {
    if (this.userId === userId) {
      this.networkBack();
      return this.restoring;
    }
    this.end();
    this.userId = userId;
    const records = new UploadRecords(this.options.storage, userId);
    this.records = records;
    this.restoring = this.restore(userId, records).catch(() => undefined);
    return this.restoring;
  }

  /** The session ended (close, sign-out, another user): stop every upload, keep what is saved. */
  async end(): Promise<void> {
    for (const upload of this.active) upload.stop();
    this.active.clear();
    const records = this.records;
    this.userId = null;
    this.records = null;
    // What the session wrote last (a pause, say) is on the device before the next one reads it.
    await records?.settled();
  }

  /** The network may be back: waiting uploads try now. */
  networkBack(): void {
    for (const upload of this.active) upload.wake();
  }

  /** Sign-out: cancel the running uploads on the server, so their messages end "failed". */
  async cancelAll(): Promise<void> {
    const cancels = [...this.active].map((upload) =>
      Promise.race([upload.abort(), new Promise((resolve) => setTimeout(resolve, SIGN_OUT_CANCEL_MS))]).catch(() => undefined),
    );
    await Promise.all(cancels);
  }

  /** Deletes what the device keeps of a user's uploads: the queue, resume entries, copies. */
  async forget(userId: string): Promise<void> {
    await this.options.storage.writeMeta(uploadsKey(userId), null);
    const files = this.options.storage.files;
    if (!files) return;
    for (const name of await files.list(copiesPrefix(userId))) await files.remove(name);
  }

  async share(conversationId: ConversationId, input: VideoInput, options: ShareVideoOptions): Promise<VideoUpload> {
    await this.restoring;
    const { userId, records } = this.session();
    const source = await openVideo(input, options, this.options.openFile);
    let handedOver = false;
    try {
      const size = source.size;
      const { maxVideoBytes } = this.options.limits();
      // The server refuses `Upload-Length: 0` the same way.
      if (size === 0) throw new ChatError("validation_failed", "the video is empty", 400);
      if (size > maxVideoBytes) throw new ChatError("payload_too_large", `a video may be at most ${maxVideoBytes} bytes`, 413);
      const filename = cleanFilename(options.filename ?? source.name);
      const type = options.type ?? source.type ?? "";
      let fingerprint = await contentFingerprint(source);
      const same = this.sameContent(conversationId, fingerprint, options);
      if (same) return same;

      let queued: QueuedVideo | null = null;
      let uploadFrom: VideoSource = source;
      const files = this.options.storage.files;
      if (files && this.options.storage.persistent && size <= this.options.offlineQueueMaxBytes) {
        const id = randomId();
        const file = `${copiesPrefix(userId)}${id}`;
        await copyInto(files, file, source);
        uploadFrom = storedSource(files, file, { size, name: filename, type });
        fingerprint ??= await contentFingerprint(uploadFrom);
        const again = this.sameContent(conversationId, fingerprint, options);
        if (again || this.userId !== userId) {
          await files.remove(file);
          if (again) return again;
          throw new ChatError("closed", "signed out while the video was being saved");
        }
        queued = { id, conversationId, filename, type, size, file, paused: false, createdAt: Date.now() };
        const entry = queued;
        await records.update((saved) => void (saved.queue[id] = entry));
        await source.close?.();
      }
      handedOver = true;
      const upload = this.launch({
        id: queued?.id ?? randomId(),
        conversationId,
        filename,
        type,
        source: uploadFrom,
        fingerprint,
        queued,
        paused: false,
      });
      if (options.onProgress) upload.on("progress", options.onProgress);
      return upload;
    } finally {
      if (!handedOver) await source.close?.();
    }
  }

  // ---- internals ----

  /** An unfinished upload of the same content to the same conversation: sharing it again continues it. */
  private sameContent(conversationId: ConversationId, fingerprint: string | null, options: ShareVideoOptions): VideoUpload | null {
    if (!fingerprint) return null;
    for (const upload of this.active) {
      if (upload.conversationId === conversationId && upload.fingerprint === fingerprint) {
        if (options.onProgress) upload.on("progress", options.onProgress);
        upload.resume();
        return upload;
      }
    }
    return null;
  }

  private session(): { userId: string; records: UploadRecords } {
    if (!this.userId || !this.records) throw new ChatError("unauthenticated", "sign in first");
    return { userId: this.userId, records: this.records };
  }

  private launch(plan: UploadPlan): VideoUpload {
    const upload = new VideoUpload(plan, this.context());
    this.active.add(upload);
    upload.start();
    return upload;
  }

  private context(): UploadContext {
    const { records } = this.session();
    return {
      endpoint: `${this.options.baseUrl}/api/uploads`,
      chunkBytes: this.options.chunkBytes,
      stallMs: this.options.stallMs,
      token: this.options.token,
      records,
      files: this.options.storage.files,
      onSessionRefused: this.options.onSessionRefused,
      othersRunning: (upload) =>
        [...this.active].some((other) => other !== upload && (other.state === "uploading" || other.state === "waiting")),
      settled: (upload) => {
        if (!this.active.delete(upload)) return;
        // A server slot may have freed up.
        this.networkBack();
      },
    };
  }

  /** Restarts the queued videos of a restarted app; drops copies no queue entry names (a copy cut short). */
  private async restore(userId: string, records: UploadRecords): Promise<void> {
    const files = this.options.storage.files;
    if (!files || !this.options.storage.persistent) return;
    const saved = await records.read();
    const present = new Set(await files.list(copiesPrefix(userId)));
    const entries = Object.values(saved.queue).sort((a, b) => a.createdAt - b.createdAt);
    for (const entry of entries) {
      if (this.userId !== userId) return;
      if (!present.has(entry.file)) {
        await records.update((s) => void delete s.queue[entry.id]);
        continue;
      }
      const source = storedSource(files, entry.file, { size: entry.size, name: entry.filename, type: entry.type });
      const fingerprint = await contentFingerprint(source);
      if (this.userId !== userId) return;
      this.launch({ id: entry.id, conversationId: entry.conversationId, filename: entry.filename, type: entry.type, source, fingerprint, queued: entry, paused: entry.paused });
    }
    const kept = new Set(entries.map((e) => e.file));
    for (const name of present) if (!kept.has(name)) await files.remove(name);
  }
}

/** Copies a source into the file store, front to back (a stream is read once, here). */
async function copyInto(files: NonNullable<StorageAdapter["files"]>, file: string, source: VideoSource): Promise<void> {
  try {
    for (let start = 0; start < source.size; start += COPY_BYTES) {
      const end = Math.min(start + COPY_BYTES, source.size);
      const bytes = await source.read(start, end);
      if (bytes.byteLength !== end - start) {
        throw new ChatError("read_failed", `the video ended after ${start + bytes.byteLength} bytes; its size is ${source.size}`);
      }
      await files.append(file, bytes);
    }
  } catch (error) {
    await files.remove(file).catch(() => undefined);
    if (error instanceof ChatError) throw error;
    throw new ChatError("read_failed", `could not keep the video on the device: ${(error as Error).message}`);
  }
}
