/**
 * The SDK's public types. Every event the SDK emits is listed in `ChatClientEvents` and
 * `ConversationEvents`; their names are the keys.
 */
import type { Conversation, Limits, Message, MessageId, User, UserId, VideoId, VideoInfo, VideoStatus } from "@wbk/shared";
import type { ChatError } from "./errors.js";
import type { StorageAdapter } from "./storage.js";
import type { VideoSource } from "./videos/source.js";

export type { Conversation, Limits, Message, MessageId, User, UserId, VideoId, VideoInfo, VideoStatus };

/**
 * How the client reaches the server: over its one WebSocket (`online`), trying to (`connecting`),
 * not at all (`offline`), or over HTTP sync because WebSockets are blocked (`fallback-http`).
 */
export type ConnectionState = "online" | "connecting" | "offline" | "fallback-http";

/** Sync status to show, per conversation and for the whole client. */
export interface SyncStatus {
  state: ConnectionState;
  /** Own messages the server has not confirmed as stored yet. */
  pendingCount: number;
  /** When the last sync or stored confirmation arrived (ms since the epoch), or null. */
  lastSyncedAt: number | null;
  /** false when messages are kept in memory only (memory storage, or the device store failed). */
  localSaving: boolean;
}

/**
 * Delivery of the device's own messages (DESIGN.md "Update log and delivery"):
 * `unsaved` → `pending` (on this device only) → `sent` (server applied it) → `stored`
 * (its update-log row is committed).
 */
export type DeliveryState = "unsaved" | "pending" | "sent" | "stored";

/** A message as the SDK shows it: the document fields, plus `delivery` on own messages. */
export interface ChatMessage extends Message {
  /** Set on the signed-in user's own messages only. */
  delivery?: DeliveryState;
}

/**
 * What `conversation.quoted(id)` returns for a reply: the quoted message (deleted ones have
 * `deleted: true` and text ""), or only its id with `deleted: true` when it is not there.
 */
export type QuotedMessage = ChatMessage | { id: MessageId; deleted: true };

export interface ChatClientOptions {
  /** Server origin, e.g. "http://localhost:3000". Default: the page's origin in browsers. */
  baseUrl?: string;
  /**
   * Native apps: returns the bearer token; called before every (re)authentication.
   * Browsers leave it out and use the `wbk_session` cookie.
   */
  getToken?: () => string | null | Promise<string | null>;
  /** Where conversations are kept on the device. Default: IndexedDB in browsers, memory elsewhere. */
  storage?: StorageAdapter;
  /** WebSocket implementation where there is no global one (Node 20: `ws`). */
  WebSocket?: unknown;
  /** fetch implementation; default: the global one. */
  fetch?: typeof fetch;
  /**
   * A connection that brings nothing for this long is dead, even when TCP says it is open
   * (the server sends a heartbeat every 2 s). Default 5000.
   */
  heartbeatTimeoutMs?: number;
  /** A REST call that has not answered after this long fails with `network_error`. Default 10000. */
  requestTimeoutMs?: number;
  /**
   * Bytes per upload request (tus PATCH). Default 8 MiB: a cut costs at most one chunk again,
   * and a phone keeps at most one chunk in memory.
   */
  uploadChunkBytes?: number;
  /**
   * Videos up to this size are copied into the device store when shared, so they upload after a
   * restart, also when shared offline. Larger ones resume only when the same file is shared
   * again. Default 200 MiB. Needs a persistent storage with `files`.
   */
  offlineQueueMaxBytes?: number;
  /** Opens a file path for `shareVideo` (the Node entry sets it). */
  openFile?: (path: string) => Promise<VideoSource>;
}

export interface SendOptions {
  replyTo?: MessageId;
  /** Your own id for the message (retries with the same id never double it). Default: random. */
  id?: MessageId;
}

/** Bytes of a video upload: sent so far (the server's offset after a resume) and in all. */
export interface UploadProgress {
  bytesSent: number;
  bytesTotal: number;
}

export interface ShareVideoOptions {
  /** Called as bytes go out (also `upload.on("progress")`). */
  onProgress?: (progress: UploadProgress) => void;
  /**
   * The name to show; default: the file's name ("video" for a nameless Blob or stream). Sharing
   * content that is still uploading to the same conversation returns that upload, which keeps
   * its first name.
   */
  filename?: string;
  /** The MIME type to claim; default: the file's. The server decides by content. */
  type?: string;
  /** Required for a stream: its exact size in bytes. */
  size?: number;
}

/** The video and its message, once the server has the whole file and found it a video. */
export interface SharedVideo {
  videoId: VideoId;
  messageId: MessageId;
}

/**
 * An upload's life: `uploading` ⇄ `waiting` (for the network, a free upload slot, the rate
 * limit or a new sign-in: see `VideoUploadWait`; it resumes by itself) ⇄ `paused` (until
 * `resume()`), then `done`, `failed` (refused: see the error), `aborted` (by `abort()`), or
 * `stopped` (the client closed or signed out; a queued upload starts again at the next sign-in
 * on this device).
 */
export type VideoUploadState = "uploading" | "waiting" | "paused" | "done" | "failed" | "aborted" | "stopped";

/**
 * What a `waiting` upload waits for; it goes on by itself in each case. `network`: no answer or
 * a server error (it tries again with backoff and as soon as the client's connection is back).
 * `upload-slot`: the server's limit of unfinished uploads per user (MAX_CONCURRENT_UPLOADS,
 * `limit_exceeded`) while another upload of this client runs; it tries again when one ends.
 * `rate-limit`: the user's uploads per hour (RATE_LIMIT_UPLOADS_PER_HOUR, `rate_limited`),
 * until `retryAt`. `sign-in`: the server refused the session (the client emits `auth-required`).
 */
export type VideoUploadWait = "network" | "upload-slot" | "rate-limit" | "sign-in";

export interface VideoUploadEvents {
  /** Bytes went out. */
  progress: UploadProgress;
  /**
   * The upload changed state, or a waiting one now waits for something else; `error` with
   * `failed`, `waitingFor` with `waiting`, and with `rate-limit` also `retryAt`, when it tries
   * again (milliseconds since the epoch, this device's clock).
   */
  state: { state: VideoUploadState; error?: ChatError; waitingFor?: VideoUploadWait; retryAt?: number };
}

export interface ChatClientEvents {
  /** The connection state, the pending count or the last sync time changed. */
  status: SyncStatus;
  /** The server refused the session (expired or revoked): sign in again. */
  "auth-required": { reason: "session_expired" | "session_revoked" | "unauthenticated" };
  /** The signed-in user changed (null after logout). */
  user: { user: User | null };
}

export interface ConversationEvents {
  /** The message list changed (new, edited, stamped, delivery state); `messages` in display order. */
  change: { messages: ChatMessage[] };
  /**
   * The unread count or a member's read position changed; `positions`: user id → `seq` (the
   * user's own one as this device knows it, never lower than it wrote).
   */
  reads: { unreadCount: number; positions: Record<string, number> };
  /** One own message moved to a new delivery state. */
  delivery: { messageId: MessageId; state: DeliveryState };
  /** A sync with the server finished (after each (re)connection). */
  synced: Record<string, never>;
  /** This conversation's state, pending count or last sync time changed. */
  status: SyncStatus;
  /**
   * The server refused an update from this device (`update_refused`): the SDK dropped its local
   * copy, reloaded the conversation and wrote its still-pending valid messages again.
   */
  refused: { reason: string };
  /**
   * The server took no more new messages from this user for now (`rate_limited`,
   * RATE_LIMIT_MESSAGES_PER_MIN): this device's unsent messages stay pending and go out by
   * themselves after `retryAfterSeconds`.
   */
  "rate-limited": { retryAfterSeconds: number };
  /** The server closed this conversation for this device (e.g. `forbidden` after removal). */
  closed: { reason: string };
  /** Who else has the conversation open, or is typing in it, changed. */
  presence: PresenceState;
}

/** A member as the server names them in presence: never what a client claimed. */
export interface PresenceUser {
  id: UserId;
  displayName: string;
}

/**
 * Other members with the conversation open now (this user's own devices are left out), and
 * those of them typing; each sorted by name. Empty while this device is offline.
 */
export interface PresenceState {
  online: PresenceUser[];
  typing: PresenceUser[];
}

export type Listener<T> = (payload: T) => void;

/** Every event the SDK emits, by emitter: `client.on(…)` and `conversation.on(…)`. */
export interface SdkEvents {
  client: ChatClientEvents;
  conversation: ConversationEvents;
  upload: VideoUploadEvents;
}
