/**
 * One open conversation on the device: its Y.Doc, its local store, its provider on the shared
 * socket, and the delivery state of the device's own messages.
 */
import { HocuspocusProvider, type HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import {
  appendTextMessage,
  checkMessageText,
  documentName,
  editMessageText,
  findMessageMap,
  fromBase64Url,
  markMessageDeleted,
  reactionsMap,
  readPositions,
  readPositionsWritten,
  setReaction,
  setReadPosition,
  MESSAGE_ID_PATTERN,
  listMessages,
  parseStatelessMessage,
  randomId,
  type ConversationId,
  type Limits,
  type Message,
  type MessageId,
  type SearchPage,
  type UserId,
} from "@wbk/shared";
import * as Y from "yjs";
import { ChatError } from "./errors.js";
import { StatusEmitter } from "./events.js";
import type { Http } from "./http.js";
import { HistoryWindow } from "./history.js";
import { HttpSync } from "./httpSync.js";
import { PresenceTracker } from "./presence.js";
import type { DocumentStore, StorageAdapter } from "./storage.js";
import type {
  ChatMessage,
  ConnectionState,
  ConversationEvents,
  DeliveryState,
  PresenceState,
  QuotedMessage,
  SendOptions,
  ShareVideoOptions,
  SyncStatus,
} from "./types.js";
import type { VideoInput } from "./videos/source.js";
import type { VideoUpload } from "./videos/upload.js";

export interface ConversationDeps {
  id: ConversationId;
  userId: UserId;
  storage: StorageAdapter;
  /** Local store name prefix of the signed-in user (stores are separate per user). */
  storePrefix: string;
  socket: HocuspocusProviderWebsocket;
  http: Http;
  token: () => Promise<string>;
  limits: () => Limits;
  /** Starts a video upload to this conversation (the client's upload queue). */
  shareVideo: (id: ConversationId, video: VideoInput, options: ShareVideoOptions) => Promise<VideoUpload>;
  /** Whether the signed-in user is an admin (may delete others' messages). */
  isAdmin: () => boolean;
  /** The server refused the session while opening this conversation. */
  onAuthFailure: (reason: string) => void;
  onClosed: (id: ConversationId) => void;
}

interface OwnMessage {
  state: DeliveryState;
  /** The message is covered by a state vector whose entry for `clientId` reaches `clock`. */
  clientId: number;
  clock: number;
}

const AUTH_REASONS = new Set(["session_expired", "session_revoked", "unauthenticated"]);
/** Bytes a new message's update takes beside its text (ids, keys, numbers), rounded up. */
const UPDATE_OVERHEAD_BYTES = 512;
/** How long to wait before asking again for a document the server could not load. */
const LOAD_RETRY_MS = 1000;
/** Wait after a `rate_limited` close that came without the server's stateless hint (an older server). */
const RATE_LIMIT_RETRY_MS = 10_000;

export class ConversationHandle extends StatusEmitter<ConversationEvents> {
  readonly id: ConversationId;
  private doc!: Y.Doc;
  private store!: DocumentStore;
  private provider: HocuspocusProvider | null = null;
  private readonly own = new Map<string, OwnMessage>();
  private current: ChatMessage[] = [];
  private loaded!: Promise<void>;
  private closed = false;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  /** The wait the server named just before closing this document with `rate_limited`. */
  private rateLimitedForMs: number | null = null;
  /** Set while the client syncs over HTTP because the WebSocket path is blocked. */
  private httpSync: HttpSync | null = null;
  private fallback = false;
  private connection: ConnectionState = "offline";
  private lastSyncedAt: number | null = null;
  /** false once the device store failed (or with memory storage): messages live in memory only. */
  private localSaving: boolean;
  /**
   * The highest own read position this handle has written or seen written, also in a write
   * that lost a concurrent one (two devices of the user): the SDK never writes less, and writes
   * this again when the document holds less (see `markRead`).
   */
  private readHigh = 0;
  private positions: Record<string, number> = {};
  private unread = 0;
  private lastReads = "";

  private readonly presenceTracker: PresenceTracker;
  private readonly history = new HistoryWindow<ChatMessage>();

  constructor(private readonly deps: ConversationDeps) {
    super();
    this.id = deps.id;
    this.presenceTracker = new PresenceTracker(deps.userId, (state) => this.emit("presence", state));
    this.localSaving = deps.storage.persistent;
    this.loaded = this.open();
  }

  /** Messages in display order (DESIGN.md "Order"), own ones with their delivery state. */
  get messages(): ChatMessage[] {
    return this.current;
  }

  /**
   * What a chat screen shows: the newest 50 messages, plus the older pages `loadOlder` brought
   * in, plus whatever arrives later. `messages` has them all.
   */
  get shownMessages(): ChatMessage[] {
    return this.history.shown(this.current);
  }

  /** Whether older messages than `shownMessages` are on the device. */
  get hasOlder(): boolean {
    return this.history.hasOlder(this.current);
  }

  /**
   * Shows the `count` (default 50) messages before `shownMessages` and resolves with them, in
   * display order; [] at the beginning. Pages the device's copy, which holds the whole
   * conversation once synced (GET …/messages?before= pages the server's, for apps without Yjs).
   */
  async loadOlder(count = 50): Promise<ChatMessage[]> {
    if (!Number.isInteger(count) || count < 1) {
      const problem = { path: "count", message: "count must be a positive integer" };
      throw new ChatError("validation_failed", problem.message, 400, [problem]);
    }
    await this.settled();
    const page = this.history.older(this.current, count);
    if (page.length > 0) this.emit("change", { messages: this.current });
    return page;
  }

  /** Resolves once the device's saved copy is loaded (history shows before the network answers). */
  get ready(): Promise<void> {
    return this.loaded;
  }

  /**
   * The raw Yjs document, for tools and tests. Writes outside the document layout are refused
   * by the server, and the SDK then reloads the conversation (DESIGN.md "Refusal").
   */
  get ydoc(): Y.Doc {
    return this.doc;
  }

  get synced(): boolean {
    return (this.provider?.isSynced ?? false) || this.httpSynced;
  }

  /** What the app can show: how this conversation syncs, what is still unconfirmed, and when it last synced. */
  get status(): SyncStatus {
    return {
      state: this.connection,
      pendingCount: this.current.filter((m) => m.delivery !== undefined && m.delivery !== "stored").length,
      lastSyncedAt: this.lastSyncedAt,
      localSaving: this.localSaving,
    };
  }

  /** Sends the (fresh) token again for this conversation on the current socket. */
  reauthenticate(): void {
    const provider = this.provider;
    if (!provider || this.closed) return;
    provider.detach();
    provider.attach();
  }

  /** Called by the client when the socket or the fallback changes state. */
  setConnection(state: ConnectionState): void {
    this.connection = state;
    this.presenceTracker.setOnline(state === "online");
    const useHttp = state === "fallback-http";
    if (useHttp !== this.fallback) {
      this.fallback = useHttp;
      this.restartHttpSync();
    }
    this.emitStatus();
  }

  deliveryState(id: string): DeliveryState | undefined {
    return this.current.find((m) => m.id === id)?.delivery;
  }

  /**
   * Sends a text message. Resolves with its id once it is in the local store (in memory when
   * local saving is off); rejects with `validation_failed` before writing anything.
   */
  async send(text: string, options: SendOptions = {}): Promise<MessageId> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    const problem = this.problemWith({ text, id: options.id, replyTo: options.replyTo });
    if (problem) throw new ChatError("validation_failed", problem.message, 400, [problem]);
    const id = (options.id ?? randomId()) as MessageId;
    await this.settled();
    if (this.own.has(id) || this.current.some((m) => m.id === id)) {
      throw new ChatError("message_id_conflict", "a message with this id exists");
    }
    this.write(id, text, Date.now(), options.replyTo);
    this.presenceTracker.setTyping(false);
    if (this.localSaving) {
      try {
        await this.store.flush();
        this.advance(id, "pending");
      } catch {
        // Not on the device after all: it stays `unsaved` and goes out from memory.
        this.localSavingFailed();
      }
    }
    return id;
  }

  /**
   * Replaces the text of an own message and sets `editedAt`. Rejects before writing anything:
   * `validation_failed` as `send`, `not_found`, or `forbidden` for another user's message or a
   * deleted one (the server refuses both).
   */
  async edit(messageId: string, text: string): Promise<void> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    const problem = this.problemWith({ text });
    if (problem) throw new ChatError("validation_failed", problem.message, 400, [problem]);
    await this.settled();
    const map = this.ownMessageMap(messageId, "edit");
    if (map.get("deleted") === true) throw new ChatError("forbidden", "a deleted message cannot be edited", 403);
    this.doc.transact(() => editMessageText(map, text, Date.now()));
  }

  /**
   * Deletes a message: `deleted` true and its text cleared, in one update. Deleting it again
   * changes nothing. Own messages, and any message for an admin (`client.isAdmin`); another
   * user's message is refused with `forbidden` otherwise.
   */
  async delete(messageId: string): Promise<void> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    await this.settled();
    const map = this.deps.isAdmin() ? findMessageMap(this.doc, messageId) : this.ownMessageMap(messageId, "delete");
    if (!map) throw new ChatError("not_found", "no such message", 404);
    if (map.get("deleted") === true) return;
    this.doc.transact(() => markMessageDeleted(map));
  }

  /**
   * One reaction per user and message: another emoji replaces the user's reaction, the same
   * one removes it. Resolves with the user's reaction afterwards (null when removed).
   */
  async react(messageId: string, emoji: string): Promise<string | null> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    // The server's rule (guard): a non-empty string of at most 32 UTF-16 units.
    if (typeof emoji !== "string" || emoji.length === 0 || emoji.length > 32) {
      const problem = { path: "emoji", message: "emoji must be 1-32 characters" };
      throw new ChatError("validation_failed", problem.message, 400, [problem]);
    }
    await this.settled();
    const map = findMessageMap(this.doc, messageId);
    if (!map) throw new ChatError("not_found", "no such message", 404);
    const reactions = reactionsMap(map);
    if (!reactions) throw new ChatError("forbidden", "this message takes no reactions", 403);
    const next = reactions.get(this.deps.userId) === emoji ? null : emoji;
    this.doc.transact(() => setReaction(reactions, this.deps.userId, next));
    return next;
  }

  /**
   * The message that `messageId` replies to: null when it is no reply (or unknown), the quoted
   * message (with `deleted: true` and text "" once deleted), or `{id, deleted: true}` when the
   * quoted message is not in the conversation: the UI shows "message deleted" for both.
   */
  quoted(messageId: string): QuotedMessage | null {
    const reply = this.current.find((m) => m.id === messageId);
    if (!reply?.replyTo) return null;
    return this.current.find((m) => m.id === reply.replyTo) ?? { id: reply.replyTo, deleted: true };
  }

  /**
   * Moves the user's read position (`reads.<userId>`, shared by all the user's devices) up to
   * `seq`, by default the highest `seq` present. It never moves down: a lower `seq` than the
   * position changes nothing. Two devices writing it concurrently may leave the lower value
   * (Yjs keeps one of them); whichever device sees the higher one written then writes it again.
   */
  async markRead(seq?: number): Promise<void> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    if (seq !== undefined && (!Number.isInteger(seq) || seq < 0)) {
      const problem = { path: "seq", message: "seq must be a non-negative integer" };
      throw new ChatError("validation_failed", problem.message, 400, [problem]);
    }
    await this.settled();
    // Never past the newest message this device has: the server refuses a position beyond its
    // newest seq, and this device cannot know of a later one.
    const newest = this.current.reduce((max, m) => Math.max(max, m.seq ?? 0), 0);
    const target = Math.min(seq ?? newest, newest);
    this.readHigh = Math.max(this.readHigh, target);
    this.keepReadPosition();
  }

  /** Messages of other users with a `seq` above the user's read position. */
  get unreadCount(): number {
    return this.unread;
  }

  /** Every member's read position (`seq`) as far as this device knows. */
  get readPositions(): Record<string, number> {
    return { ...this.positions };
  }

  /** The users whose read position reaches this message's `seq` (none while it has no `seq`). */
  readBy(messageId: string): string[] {
    const seq = this.current.find((m) => m.id === messageId)?.seq;
    if (seq === undefined) return [];
    return Object.entries(this.positions)
      .filter(([, position]) => position >= seq)
      .map(([user]) => user);
  }

  /**
   * Shares a video: a File/Blob, a stream with `options.size`, a `VideoSource`, or (Node entry) a
   * file path. Rejects before any request with `payload_too_large` for an empty file or one over
   * the server's `maxVideoBytes`. Resolves once the upload is under way, and (up to
   * `offlineQueueMaxBytes`) its copy is on the device: it then survives a restart and uploads
   * when the network is back. The server adds the video message (status "uploading") to the
   * conversation when the upload is created; `upload.message` resolves when it is complete.
   */
  async shareVideo(video: VideoInput, options: ShareVideoOptions = {}): Promise<VideoUpload> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    return this.deps.shareVideo(this.id, video, options);
  }

  /** Waits until the local copy is loaded, also across a reload after a refusal. */
  private async settled(): Promise<void> {
    let loaded: Promise<void>;
    do {
      loaded = this.loaded;
      await loaded;
    } while (loaded !== this.loaded);
  }

  /**
   * Finds messages by their text on the server (members only): newest match first, `limit`
   * (default 50) per page; pass `next` back as `cursor` for older matches. Needs the network.
   */
  async search(query: string, options: { cursor?: number; limit?: number } = {}): Promise<SearchPage> {
    if (this.closed) throw new ChatError("closed", "this conversation is closed");
    const params = new URLSearchParams({ q: query });
    if (options.cursor !== undefined) params.set("cursor", String(options.cursor));
    if (options.limit !== undefined) params.set("limit", String(options.limit));
    return this.deps.http.request<SearchPage>("GET", `/api/conversations/${encodeURIComponent(this.id)}/search?${params}`);
  }

  /** Other members here now, and who of them is typing (the `presence` event tells changes). */
  get presence(): PresenceState {
    return this.presenceTracker.state;
  }

  /**
   * Tells the others this user is typing: call it on every keystroke. It ends by itself after
   * 5 s without a call, and at once on `send` or `setTyping(false)`. Offline it does nothing.
   */
  setTyping(typing: boolean): void {
    if (!this.closed) this.presenceTracker.setTyping(typing);
  }

  /** Stops syncing this conversation on this device (its local copy stays). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.teardown(false);
    this.deps.onClosed(this.id);
    this.removeAllListeners();
  }

  /** Stops syncing and deletes the local copy (logout). */
  async destroy(): Promise<void> {
    this.closed = true;
    await this.teardown(true);
    this.removeAllListeners();
  }

  // ---- internals ----

  /** The map of an own message, or the ChatError the action is refused with. */
  private ownMessageMap(messageId: string, action: string) {
    const map = findMessageMap(this.doc, messageId);
    if (!map) throw new ChatError("not_found", "no such message", 404);
    if (map.get("authorId") !== this.deps.userId) {
      throw new ChatError("forbidden", `only the author may ${action} this message`, 403);
    }
    return map;
  }

  /** Writes `readHigh` when the document holds less (never a lower value than seen). */
  private keepReadPosition(): void {
    if (this.closed || this.readHigh === 0) return;
    const stored = readPositions(this.doc)[this.deps.userId] ?? 0;
    if (stored < this.readHigh) this.doc.transact(() => setReadPosition(this.doc, this.deps.userId, this.readHigh));
  }

  private httpSynced = false;

  private restartHttpSync(): void {
    this.httpSync?.stop();
    this.httpSync = null;
    this.httpSynced = false;
    if (!this.fallback || this.closed) return;
    const doc = this.doc;
    void this.loaded.then(() => {
      if (doc !== this.doc || !this.fallback || this.closed || this.httpSync) return;
      this.httpSync = new HttpSync(doc, this.deps.http, this.id, {
        onStored: (sv) => {
          this.markStored(sv);
          this.markSynced();
        },
        onSynced: () => {
          this.httpSynced = true;
          this.markSynced();
          this.emit("synced", {});
        },
        onRefused: (code) => this.handleRefusal(code),
        onRateLimited: (retryAfterSeconds) => this.emit("rate-limited", { retryAfterSeconds }),
      });
    });
  }

  private localSavingFailed(): void {
    if (!this.localSaving) return;
    this.localSaving = false;
    this.refresh();
  }

  /** Records a completed sync for `lastSyncedAt`. */
  private markSynced(): void {
    this.lastSyncedAt = Date.now();
    this.emitStatus();
  }

  /** A fresh Y.Doc with its local store; resolves once the saved state is in and syncing started. */
  private open(): Promise<void> {
    this.doc = new Y.Doc();
    this.store = this.deps.storage.open(`${this.deps.storePrefix}${this.id}`, this.doc, () => this.localSavingFailed());
    const doc = this.doc;
    doc.on("update", () => {
      if (doc === this.doc) this.refresh();
    });
    // Before garbage collection, so a position that lost a concurrent write is still readable.
    doc.on("afterTransaction", (transaction: Y.Transaction) => {
      if (doc !== this.doc) return;
      const written = readPositionsWritten(transaction, this.deps.userId);
      if (written.length > 0 && Math.max(...written) > this.readHigh) this.readHigh = Math.max(...written);
    });
    return this.store.whenLoaded.then(() => {
      if (doc !== this.doc || this.closed) return;
      this.refresh();
      this.connect();
    });
  }

  private connect(): void {
    const provider = new HocuspocusProvider({
      name: documentName(this.id),
      document: this.doc,
      websocketProvider: this.deps.socket,
      token: this.deps.token,
    });
    this.provider = provider;
    if (provider.awareness) this.presenceTracker.attach(provider.awareness, this.doc);
    provider.on("synced", () => {
      this.presenceTracker.announce();
      this.markSent();
      this.markSynced();
      this.emit("synced", {});
    });
    provider.on("unsyncedChanges", () => this.markSent());
    provider.on("stateless", ({ payload }: { payload: string }) => {
      const message = parseStatelessMessage(payload);
      if (message?.type === "stored") {
        this.markStored(message.sv);
        this.markSynced();
      } else if (message?.type === "rate_limited") {
        this.rateLimitedForMs = message.retryAfterSeconds * 1000;
      }
    });
    provider.on("authenticationFailed", ({ reason }: { reason: string }) => {
      if (provider === this.provider) this.handleRefusal(reason);
    });
    provider.on("close", ({ event }: { event: { code: number; reason: string } }) => {
      // The server closing just this document arrives as code 1000 with our error code as reason.
      if (event.code === 1000 && event.reason && provider === this.provider) this.handleRefusal(event.reason);
    });
    provider.attach();
    this.restartHttpSync();
  }

  /** The server refused this conversation on this device, over the socket or HTTP sync. */
  private handleRefusal(reason: string): void {
    const provider = this.provider;
    if (!provider || this.closed) return;
    if (AUTH_REASONS.has(reason)) {
      this.deps.onAuthFailure(reason);
    } else if (reason === "load_failed") {
      this.reattachAfter(provider, LOAD_RETRY_MS);
    } else if (reason === "rate_limited") {
      // Too many messages this minute: the update was refused unapplied. The messages stay
      // pending here; the sync on reattaching sends them, once, when the server takes them again.
      const waitMs = this.rateLimitedForMs ?? RATE_LIMIT_RETRY_MS;
      this.rateLimitedForMs = null;
      this.emit("rate-limited", { retryAfterSeconds: Math.ceil(waitMs / 1000) });
      this.reattachAfter(provider, waitMs);
    } else if (reason === "update_refused" || reason === "payload_too_large") {
      this.emit("refused", { reason });
      void this.recoverFromRefusal();
    } else if (reason !== "provider_initiated") {
      this.closed = true;
      this.teardown(false);
      this.emit("closed", { reason });
    }
  }

  /** Leaves the document on the socket now and asks for it again after `ms`. */
  private reattachAfter(provider: HocuspocusProvider, ms: number): void {
    provider.detach();
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (provider === this.provider && !this.closed) provider.attach();
    }, ms);
  }

  /**
   * DESIGN.md "Refusal": drop the local copy, load the conversation afresh under a new client
   * id, and write the still-pending valid messages again with the same ids.
   */
  private recoverFromRefusal(): void {
    const pending = listMessages(this.doc).filter(
      (m) => m.authorId === this.deps.userId && m.seq === undefined && m.kind === "text" && this.problemWith(m) === null,
    );
    const previous = this.loaded;
    // Replaced at once, so a send() from now on waits for the new copy instead of writing
    // into the one being thrown away.
    this.loaded = (async () => {
      await previous.catch(() => undefined);
      await this.teardown(true);
      await this.open();
      const provider = this.provider;
      if (!provider) return;
      const rewrite = () => {
        const have = new Set(listMessages(this.doc).map((m) => m.id));
        for (const m of pending) {
          if (!have.has(m.id)) this.write(m.id, m.text, m.createdAt, m.replyTo);
        }
      };
      if (provider.isSynced) rewrite();
      else {
        const once = () => {
          provider.off("synced", once);
          rewrite();
        };
        provider.on("synced", once);
      }
    })();
  }

  /**
   * Why the server would refuse this message (the limits of GET /api/config), or null. Checked
   * before the local write: a refused update costs a reload, and a message the server can never
   * take would be re-sent after every one.
   */
  private problemWith(message: {
    text: string;
    id?: string | undefined;
    replyTo?: string | undefined;
  }): { path: string; message: string } | null {
    const limits = this.deps.limits();
    const problem = checkMessageText(message.text, limits.maxMessageChars);
    if (problem) return { path: "text", message: problem };
    // The update carries the text as UTF-8 plus the message's other fields.
    if (new TextEncoder().encode(message.text).byteLength + UPDATE_OVERHEAD_BYTES > limits.maxUpdateBytes) {
      return { path: "text", message: `text must be at most ${limits.maxUpdateBytes - UPDATE_OVERHEAD_BYTES} bytes` };
    }
    for (const path of ["id", "replyTo"] as const) {
      const value: unknown = message[path];
      if (value !== undefined && (typeof value !== "string" || !MESSAGE_ID_PATTERN.test(value))) {
        return { path, message: `${path} must be 1-64 characters of A-Z a-z 0-9 _ -` };
      }
    }
    return null;
  }

  private write(id: MessageId, text: string, createdAt: number, replyTo?: MessageId): void {
    this.doc.transact(() => {
      const fields = { id, authorId: this.deps.userId, text, createdAt };
      appendTextMessage(this.doc, replyTo === undefined ? fields : { ...fields, replyTo });
    });
    this.own.set(id, { state: "unsaved", clientId: this.doc.clientID, clock: Y.getState(this.doc.store, this.doc.clientID) });
    this.refresh();
    this.emit("delivery", { messageId: id, state: "unsaved" });
  }

  private advance(id: string, state: DeliveryState): void {
    const own = this.own.get(id);
    const order: DeliveryState[] = ["unsaved", "pending", "sent", "stored"];
    if (!own || order.indexOf(state) <= order.indexOf(own.state)) return;
    own.state = state;
    this.refresh();
    this.emit("delivery", { messageId: id as MessageId, state });
  }

  private markSent(): void {
    const provider = this.provider;
    if (!provider || !provider.isSynced || provider.hasUnsyncedChanges) return;
    for (const [id, own] of this.own) if (own.state !== "stored") this.advance(id, "sent");
  }

  private markStored(encodedSv: string): void {
    const bytes = fromBase64Url(encodedSv);
    if (!bytes) return;
    const sv = Y.decodeStateVector(bytes);
    for (const [id, own] of this.own) {
      if ((sv.get(own.clientId) ?? 0) >= own.clock) this.advance(id, "stored");
    }
  }

  private refresh(): void {
    const messages = listMessages(this.doc);
    this.current = messages.map((m) => this.present(m));
    queueMicrotask(() => this.emitStatus());
    for (const m of messages) {
      // A seq is written only after the log commit: the message is stored.
      if (m.seq !== undefined && this.own.get(m.id)?.state !== "stored" && this.own.has(m.id)) {
        queueMicrotask(() => this.advance(m.id, "stored"));
      }
    }
    this.emit("change", { messages: this.current });
    this.refreshReads(messages);
  }

  /** Read positions and the unread count; emits `reads` when either changed. */
  private refreshReads(messages: Message[]): void {
    const me = this.deps.userId;
    const positions = readPositions(this.doc);
    const stored = positions[me] ?? 0;
    this.readHigh = Math.max(this.readHigh, stored);
    if (this.readHigh > 0) positions[me] = this.readHigh;
    if (stored < this.readHigh) {
      // The document lost the higher position to a concurrent write: write it again, after this
      // update's event (a transaction inside the update handler would nest).
      queueMicrotask(() => this.keepReadPosition());
    }
    this.positions = positions;
    // A deleted message has nothing left to read.
    this.unread = messages.filter((m) => m.authorId !== me && !m.deleted && m.seq !== undefined && m.seq > this.readHigh).length;
    const key = `${this.unread}|${JSON.stringify(Object.entries(positions).sort())}`;
    if (key === this.lastReads) return;
    this.lastReads = key;
    this.emit("reads", { unreadCount: this.unread, positions: { ...positions } });
  }

  private present(message: Message): ChatMessage {
    if (message.authorId !== this.deps.userId) return message;
    const tracked = this.own.get(message.id);
    const delivery: DeliveryState = tracked?.state ?? (message.seq !== undefined ? "stored" : this.localSaving ? "pending" : "unsaved");
    return { ...message, delivery };
  }

  private async teardown(clearLocal: boolean): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.httpSync?.stop();
    this.httpSync = null;
    const provider = this.provider;
    this.provider = null;
    this.presenceTracker.detach();
    if (provider) {
      provider.detach();
      provider.destroy();
    }
    const store = this.store;
    const doc = this.doc;
    if (clearLocal) await store.clear();
    else await store.close();
    doc.destroy();
  }
}
