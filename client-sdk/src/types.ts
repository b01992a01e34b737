/**
 * The SDK's public types. Every event the SDK emits is listed in `ChatClientEvents` and
 * `ConversationEvents`; their names are the keys.
 */
import type { Conversation, Limits, Message, MessageId, User, UserId } from "@wbk/shared";
import type { StorageAdapter } from "./storage.js";

export type { Conversation, Limits, Message, MessageId, User, UserId };

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
}

export interface SendOptions {
  replyTo?: MessageId;
  /** Your own id for the message (retries with the same id never double it). Default: random. */
  id?: MessageId;
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
  /** The server closed this conversation for this device (e.g. `forbidden` after removal). */
  closed: { reason: string };
}

export type Listener<T> = (payload: T) => void;

/** Every event the SDK emits, by emitter: `client.on(…)` and `conversation.on(…)`. */
export interface SdkEvents {
  client: ChatClientEvents;
  conversation: ConversationEvents;
}
