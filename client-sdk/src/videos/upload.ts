/**
 * One video upload over tus (tus-js-client): chunks, progress, pause/resume/abort, and what to do
 * when a request fails. Short outages are retried by tus itself (`retryDelays`); a longer one
 * leaves the upload `waiting` until the network is back (the client's connection comes back, or
 * a timer with backoff), and it then resumes from the server's offset. Refusals settle it.
 */
import type { ConversationId, MessageId, VideoId } from "@wbk/shared";
import { DetailedError, Upload, type HttpRequest, type HttpResponse } from "tus-js-client";
import { ChatError } from "../errors.js";
import { Emitter } from "../events.js";
import type { FileStore } from "../storage.js";
import type { SharedVideo, UploadProgress, VideoUploadEvents, VideoUploadState, VideoUploadWait } from "../types.js";
import type { QueuedVideo, UploadRecords } from "./records.js";
import type { VideoSource } from "./source.js";
import { StallGuardedStack, requestBody } from "./transport.js";

/** tus's own quick retries of a failed request before the upload waits for the network. */
const RETRY_DELAYS = [0, 1000, 3000];
/** First and longest wait between attempts while the network is gone (the client's connection coming back wakes it sooner). */
const FIRST_WAIT_MS = 2000;
const MAX_WAIT_MS = 30_000;
/** How long `abort()` tries to reach the server with its DELETE. */
const ABORT_TIMEOUT_MS = 5000;
/** Codes that mean "this session is gone" (the client then asks the app to sign in). */
const SESSION_CODES = new Set(["unauthenticated", "session_expired", "session_revoked"]);

/** What the client gives every upload. */
export interface UploadContext {
  /** `<baseUrl>/api/uploads` */
  endpoint: string;
  chunkBytes: number;
  /** A request whose bytes stop moving with no answer for this long is given up and retried. */
  stallMs: number;
  token(): Promise<string | null>;
  records: UploadRecords;
  files: FileStore | undefined;
  onSessionRefused(code: string): void;
  /** Whether another upload of this client is running (its end frees a server slot). */
  othersRunning(upload: VideoUpload): boolean;
  /** The upload reached an end state. */
  settled(upload: VideoUpload): void;
}

export interface UploadPlan {
  id: string;
  conversationId: ConversationId;
  filename: string;
  type: string;
  source: VideoSource;
  /** Content fingerprint (size and SHA-256 of the ends), or null: no resume entry. */
  fingerprint: string | null;
  /** The queue entry when the video was copied into the device's file store. */
  queued: QueuedVideo | null;
  paused: boolean;
}

const isEnd = (state: VideoUploadState) => state === "done" || state === "failed" || state === "aborted" || state === "stopped";

/** A running video upload, as `shareVideo` and `client.pendingUploads()` return it. */
export class VideoUpload extends Emitter<VideoUploadEvents> {
  /** Local id of this upload (stable across restarts for a queued video). */
  readonly id: string;
  readonly conversationId: ConversationId;
  readonly filename: string;
  /**
   * Resolves with the video's ids once the server has every byte and found it a video; rejects
   * with a ChatError: the server's code on a refusal (`unsupported_media_type`,
   * `payload_too_large`, `forbidden`, …), `aborted`, or `closed` when the client stopped.
   */
  readonly message: Promise<SharedVideo>;
  private resolveMessage!: (video: SharedVideo) => void;
  private rejectMessage!: (error: ChatError) => void;
  private current: VideoUploadState = "waiting";
  /** What a `waiting` upload waits for, and (for the rate limit) until when. */
  private wait: { for: VideoUploadWait; retryAt: number | null } = { for: "network", retryAt: null };
  private sent = 0;
  private tus: Upload | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private waitMs = FIRST_WAIT_MS;
  /** A wait for the rate limit is not cut short by the network coming back. */
  private notBefore = 0;
  private ids: SharedVideo | null = null;
  private restarted = false;
  private lookingUp = false;

  constructor(
    private readonly plan: UploadPlan,
    private readonly ctx: UploadContext,
  ) {
    super();
    this.id = plan.id;
    this.conversationId = plan.conversationId;
    this.filename = plan.filename;
    this.message = new Promise<SharedVideo>((resolve, reject) => {
      this.resolveMessage = resolve;
      this.rejectMessage = reject;
    });
    // An app that never awaits `message` must not see an unhandled rejection.
    this.message.catch(() => undefined);
  }

  get state(): VideoUploadState {
    return this.current;
  }

  /** What the upload waits for while `waiting`, else null. */
  get waitingFor(): VideoUploadWait | null {
    return this.current === "waiting" ? this.wait.for : null;
  }

  /** While waiting for the rate limit: when it tries again (ms since the epoch), else null. */
  get retryAt(): number | null {
    return this.current === "waiting" ? this.wait.retryAt : null;
  }

  get progress(): UploadProgress {
    return { bytesSent: this.sent, bytesTotal: this.plan.source.size };
  }

  get size(): number {
    return this.plan.source.size;
  }

  /** The tus upload URL once the server created the upload. */
  get uploadUrl(): string | null {
    return this.tus?.url ?? null;
  }

  /** The video's id once the server created the upload. */
  get videoId(): VideoId | null {
    return this.ids?.videoId ?? idsFromUrl(this.uploadUrl)?.videoId ?? null;
  }

  /** Whether the video is kept in the device's file store until it is uploaded. */
  get queued(): boolean {
    return this.plan.queued !== null;
  }

  /** @internal The content fingerprint (for "the same file again"). */
  get fingerprint(): string | null {
    return this.plan.fingerprint;
  }

  /** Stops sending; the upload keeps its place on the server until `resume()`. */
  pause(): void {
    if (isEnd(this.current) || this.current === "paused") return;
    this.halt();
    this.setState("paused");
    void this.saveQueued({ paused: true });
  }

  /** Continues from the server's offset (also wakes a waiting upload at once). */
  resume(): void {
    if (this.current !== "paused" && !(this.current === "waiting" && this.timer)) return;
    if (this.current === "paused") void this.saveQueued({ paused: false });
    this.notBefore = 0;
    this.run();
  }

  /**
   * Cancels the upload: the server deletes its bytes and ends the message "failed" (tus DELETE).
   * Local copies and resume entries go at once; rejects when the server could not be told
   * (its unfinished upload then expires there).
   */
  async abort(): Promise<void> {
    if (isEnd(this.current)) return;
    this.halt();
    this.setState("aborted");
    const failure = new ChatError("aborted", "the upload was cancelled");
    try {
      // A restored upload that never started this run knows its URL from its resume entry only.
      const url = this.tus?.url ?? (await this.savedUrl());
      if (url) await this.terminate(url);
    } finally {
      await this.cleanup(true);
      this.rejectMessage(failure);
      this.ctx.settled(this);
    }
  }

  /** @internal Starts the upload (or leaves it paused, as it was saved). */
  start(): void {
    if (this.plan.paused) this.setState("paused");
    else this.run();
  }

  /** @internal The network may be back: a waiting upload tries again now. */
  wake(): void {
    // Only our own wait: during tus's quick retries, tus has its own timer running.
    if (this.current === "waiting" && this.timer && Date.now() >= this.notBefore) this.run();
  }

  /** @internal The client closed or signed out: stop, keep what the device remembers. */
  stop(): void {
    if (isEnd(this.current)) return;
    this.halt();
    this.setState("stopped");
    void this.plan.source.close?.();
    this.rejectMessage(new ChatError("closed", "the client stopped; a queued video uploads after the next sign-in"));
  }

  // ---- internals ----

  private run(): void {
    this.clearTimer();
    this.setState("uploading");
    // Still looking for a resume entry: that start goes on once it is found.
    if (this.lookingUp) return;
    if (this.tus) {
      this.tus.start();
      return;
    }
    const upload = this.createTus();
    this.tus = upload;
    this.lookingUp = true;
    void this.firstStart(upload).finally(() => (this.lookingUp = false));
  }

  /** Finds the resume entry of the same content first: the upload then continues where it was. */
  private async firstStart(upload: Upload): Promise<void> {
    if (this.plan.fingerprint) {
      try {
        const [previous] = await upload.findPreviousUploads();
        if (previous && upload === this.tus) upload.resumeFromPreviousUpload(previous);
      } catch {
        // unreadable resume entries: a new upload
      }
    }
    this.lookingUp = false;
    if (upload === this.tus && this.current === "uploading") upload.start();
  }

  private createTus(): Upload {
    const { plan, ctx } = this;
    const source = plan.source;
    const metadata: Record<string, string> = { conversationId: plan.conversationId, filename: plan.filename };
    if (plan.type) metadata.filetype = plan.type;
    return new Upload(source as never, {
      endpoint: ctx.endpoint,
      chunkSize: ctx.chunkBytes,
      metadata,
      // Keyed by content within this conversation: the same file shared elsewhere is another upload.
      fingerprint: (async () => (plan.fingerprint ? resumeKey(plan.conversationId, plan.fingerprint) : null)) as never,
      urlStorage: ctx.records.urlStorage(),
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      fileReader: { openFile: async () => readerOf(source) },
      httpStack: new StallGuardedStack(ctx.stallMs),
      retryDelays: RETRY_DELAYS,
      // Our own rule (tus's default gives up while the browser says it is offline; we wait instead).
      onShouldRetry: (error) => {
        const retry = isTransient(error);
        if (retry) this.setState("waiting", { for: "network", retryAt: null });
        return retry;
      },
      onBeforeRequest: async (req) => {
        const token = await ctx.token();
        if (token) req.setHeader("Authorization", `Bearer ${token}`);
        // Browsers: the wbk_session cookie also on a cross-origin API.
        const xhr = req.getUnderlyingObject() as { withCredentials?: boolean } | null;
        if (xhr && typeof xhr === "object" && "withCredentials" in xhr) xhr.withCredentials = true;
      },
      onAfterResponse: (_req, res) => {
        this.ids = idsFromHeaders(res) ?? this.ids;
        // tus's own retry got through.
        if (this.current === "waiting" && !this.timer) this.setState("uploading");
      },
      onProgress: (bytesSent) => {
        this.sent = bytesSent;
        this.emit("progress", this.progress);
      },
      onChunkComplete: () => {
        this.waitMs = FIRST_WAIT_MS;
      },
      onSuccess: ({ lastResponse }) => void this.succeeded(lastResponse),
      onError: (error) => void this.attemptFailed(error),
    });
  }

  private async succeeded(last: HttpResponse): Promise<void> {
    if (this.current !== "uploading" && this.current !== "waiting") return;
    const ids = idsFromHeaders(last) ?? this.ids ?? idsFromUrl(this.uploadUrl);
    this.current = "done";
    this.sent = this.plan.source.size;
    // tus asked for its resume entry to go before calling us: wait until it is gone.
    await this.ctx.records.settled();
    await this.cleanup(false);
    this.emit("progress", this.progress);
    this.emit("state", { state: "done" });
    if (ids) this.resolveMessage(ids);
    else this.rejectMessage(new ChatError("internal", "the server did not name the video"));
    this.ctx.settled(this);
  }

  private async attemptFailed(error: Error): Promise<void> {
    if (this.current !== "uploading" && this.current !== "waiting") return;
    const detailed = error instanceof DetailedError ? error : null;
    const cause = detailed?.causingError ?? (detailed ? null : error);
    if (cause instanceof ChatError && cause.code === "read_failed") return this.fail(cause);
    if (!detailed || !detailed.originalRequest) return this.fail(new ChatError("read_failed", error.message));
    if (isTransient(detailed)) return this.waitForNetwork();
    const response = detailed.originalResponse!;
    const status = response.getStatus();
    const failure = errorOf(response);
    if (status === 401 || SESSION_CODES.has(failure.code)) {
      this.ctx.onSessionRefused(failure.code);
      return this.waitFor(MAX_WAIT_MS, "sign-in");
    }
    if (failure.code === "rate_limited") {
      const seconds = Number(response.getHeader("Retry-After") ?? "");
      const delay = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : MAX_WAIT_MS;
      this.notBefore = Date.now() + delay;
      return this.waitFor(delay, "rate-limit", this.notBefore);
    }
    // Too many unfinished uploads: this client's own running ones free a slot as they end.
    if (failure.code === "limit_exceeded" && this.ctx.othersRunning(this)) return this.waitFor(MAX_WAIT_MS, "upload-slot");
    const method = detailed.originalRequest.getMethod();
    if ((status === 404 || status === 410) && method !== "POST" && this.plan.source.seekable && !this.restarted) {
      // The server no longer has the upload (expired): start it again, once.
      this.restarted = true;
      return this.restartFresh();
    }
    return this.fail(failure);
  }

  private waitForNetwork(): void {
    const delay = this.waitMs;
    this.waitMs = Math.min(this.waitMs * 2, MAX_WAIT_MS);
    this.waitFor(delay, "network");
  }

  private waitFor(delayMs: number, reason: VideoUploadWait, retryAt: number | null = null): void {
    this.setState("waiting", { for: reason, retryAt });
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.notBefore = 0;
      if (this.current === "waiting") this.run();
    }, delayMs);
  }

  private async restartFresh(): Promise<void> {
    const old = this.tus;
    this.tus = null;
    await old?.abort(false);
    if (this.plan.fingerprint) {
      const key = resumeKey(this.plan.conversationId, this.plan.fingerprint);
      await this.ctx.records.update((saved) => void delete saved.resume[key]).catch(() => undefined);
    }
    if (this.current === "uploading" || this.current === "waiting") this.run();
  }

  private async fail(error: ChatError): Promise<void> {
    this.halt();
    this.current = "failed";
    await this.cleanup(true);
    this.emit("state", { state: "failed", error });
    this.rejectMessage(error);
    this.ctx.settled(this);
  }

  /** Stops the requests and timers (the server keeps the upload). */
  private halt(): void {
    this.clearTimer();
    void this.tus?.abort(false);
  }

  /** Deletes the upload on the server (tus DELETE), with one short round of retries. */
  private async terminate(url: string): Promise<void> {
    // A restored upload that never started has no tus upload yet: its options carry the session.
    const options = { ...(this.tus ?? this.createTus()).options, retryDelays: [0, 1000] };
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Upload.terminate(url, options),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("no answer")), ABORT_TIMEOUT_MS))),
      ]);
    } catch (error) {
      const response = error instanceof DetailedError ? error.originalResponse : null;
      // Already gone on the server: nothing left to cancel.
      if (response && (response.getStatus() === 404 || response.getStatus() === 410)) return;
      throw response ? errorOf(response) : new ChatError("network_error", "could not reach the server to cancel the upload");
    } finally {
      clearTimeout(timer);
    }
  }

  private async savedUrl(): Promise<string | null> {
    const { fingerprint, conversationId } = this.plan;
    if (!fingerprint) return null;
    const saved = await this.ctx.records.read().catch(() => null);
    return saved?.resume[resumeKey(conversationId, fingerprint)]?.uploadUrl ?? null;
  }

  /** Forgets what the device kept for this upload: its queue entry and copy, and (on failure) its resume entry. */
  private async cleanup(forgetResume: boolean): Promise<void> {
    const { plan, ctx } = this;
    await plan.source.close?.();
    const key = plan.fingerprint ? resumeKey(plan.conversationId, plan.fingerprint) : null;
    if (plan.queued || (forgetResume && key)) {
      await ctx.records
        .update((saved) => {
          delete saved.queue[plan.id];
          if (forgetResume && key) delete saved.resume[key];
        })
        .catch(() => undefined);
    }
    if (plan.queued) await ctx.files?.remove(plan.queued.file).catch(() => undefined);
  }

  private async saveQueued(change: Partial<QueuedVideo>): Promise<void> {
    const queued = this.plan.queued;
    if (!queued) return;
    Object.assign(queued, change);
    await this.ctx.records
      .update((saved) => {
        if (saved.queue[queued.id]) saved.queue[queued.id] = { ...saved.queue[queued.id]!, ...change };
      })
      .catch(() => undefined);
  }

  /** Emits `state` on a change of state, or of what a waiting upload waits for. */
  private setState(state: VideoUploadState, wait?: { for: VideoUploadWait; retryAt: number | null }): void {
    const same = state === this.current && (!wait || (wait.for === this.wait.for && wait.retryAt === this.wait.retryAt));
    if (same) return;
    this.current = state;
    if (wait) this.wait = wait;
    const event: VideoUploadEvents["state"] = { state };
    if (state === "waiting") event.waitingFor = this.wait.for;
    if (state === "waiting" && this.wait.retryAt !== null) event.retryAt = this.wait.retryAt;
    this.emit("state", event);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}

/** The resume entry key: the content within one conversation. */
export const resumeKey = (conversationId: string, fingerprint: string) => `${conversationId}:${fingerprint}`;

/** A VideoSource as tus-js-client's file source; a short read is an error, never a short upload. */
function readerOf(source: VideoSource) {
  return {
    size: source.size,
    async slice(start: number, end: number) {
      const stop = Math.min(end, source.size);
      let bytes: Uint8Array;
      try {
        bytes = await source.read(start, stop);
      } catch (error) {
        throw error instanceof ChatError ? error : new ChatError("read_failed", `could not read the video: ${(error as Error).message}`);
      }
      if (bytes.byteLength !== stop - start) {
        throw new ChatError("read_failed", `the video ended after ${start + bytes.byteLength} bytes; its size is ${source.size}`);
      }
      return { value: requestBody(bytes), done: stop >= source.size };
    },
    close: () => undefined,
  };
}

/** No answer, a server error, an offset conflict or a locked upload: try again. */
function isTransient(error: DetailedError): boolean {
  const cause = error.causingError;
  if (cause instanceof ChatError && cause.code === "read_failed") return false;
  const status = error.originalResponse?.getStatus() ?? 0;
  return status === 0 || status >= 500 || status === 409 || status === 423;
}

/** The JSON error body of DESIGN.md "Errors" (a HEAD answer has none: the status decides). */
function errorOf(response: HttpResponse): ChatError {
  const status = response.getStatus();
  try {
    const { error } = JSON.parse(response.getBody()) as { error: { code: string; message: string; details?: unknown } };
    if (error?.code) return new ChatError(error.code, error.message, status, error.details);
  } catch {
    // not our body
  }
  const code = { 401: "unauthenticated", 403: "forbidden", 404: "not_found", 410: "upload_expired", 413: "payload_too_large", 415: "unsupported_media_type" }[status];
  return new ChatError(code ?? "http_error", `HTTP ${status}`, status);
}

function idsFromHeaders(response: HttpResponse): SharedVideo | null {
  const videoId = response.getHeader("Wbk-Video-Id");
  const messageId = response.getHeader("Wbk-Message-Id");
  return videoId && messageId ? { videoId: videoId as VideoId, messageId: messageId as MessageId } : null;
}

/**
 * The ids when no answer carried them (an upload found complete by HEAD after a restart): the
 * upload id is the video id, and its message is `video-<id>` (DESIGN.md).
 */
function idsFromUrl(url: string | null): SharedVideo | null {
  const id = url?.match(/\/([0-9a-f]{32})\/?$/)?.[1];
  return id ? { videoId: id as VideoId, messageId: `video-${id}` as MessageId } : null;
}

export type { HttpRequest };
