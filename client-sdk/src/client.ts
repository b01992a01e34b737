/**
 * `createChatClient`: auth and conversation calls over REST, and one WebSocket for every open
 * conversation. Browsers use the `wbk_session` cookie and never hold the token; native apps
 * pass `getToken`, and Node scripts may simply sign in (the token is then kept in memory).
 */
import { HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import {
  DEFAULT_LIMITS,
  type AuthResult,
  type Conversation,
  type ConversationId,
  type Limits,
  type User,
  type UserId,
} from "@wbk/shared";
import { ConversationHandle } from "./conversation.js";
import { ChatError } from "./errors.js";
import { StatusEmitter } from "./events.js";
import { Http } from "./http.js";
import { defaultStorage, type StorageAdapter } from "./storage.js";
import type { ChatClientEvents, ChatClientOptions, ConnectionState, SyncStatus } from "./types.js";
import type { VideoUpload } from "./videos/upload.js";
import { VideoUploads } from "./videos/uploads.js";

/** Failed WebSocket opens in a row before conversations sync over HTTP instead. */
const FALLBACK_AFTER_FAILED_OPENS = 3;
/** …or this long without an open WebSocket. */
const FALLBACK_AFTER_MS = 10_000;
/** How often the heartbeat watchdog looks (the bound is heartbeatTimeoutMs plus this). */
const WATCHDOG_INTERVAL_MS = 250;
/** Default upload chunk (tus PATCH): a cut costs at most this much again. */
const UPLOAD_CHUNK_BYTES = 8 * 1024 * 1024;
/** Default size up to which a shared video is copied to the device (survives restarts, uploads when back online). */
const OFFLINE_QUEUE_MAX_BYTES = 200 * 1024 * 1024;
/**
 * An upload request whose bytes stop moving and that gets no answer for this long is given up
 * and retried from the server's offset (a half-open line never fails by itself). Generous: the
 * final request waits while the server checks the whole video.
 */
const UPLOAD_STALL_MS = 30_000;

export interface LogoutOptions {
  /** Keep this user's conversations on the device (default: delete them). */
  keepLocalData?: boolean;
}

/** Meta key of the last signed-in user (for starting offline). */
const USER_KEY = "user";

const isBrowser = () => typeof window !== "undefined" && typeof document !== "undefined";

export class ChatClient extends StatusEmitter<ChatClientEvents> {
  private readonly http: Http;
  private readonly storage: StorageAdapter;
  private readonly baseUrl: string;
  private readonly getToken: ChatClientOptions["getToken"];
  private readonly WebSocketImpl: unknown;
  private readonly heartbeatTimeoutMs: number;
  /** Set when the server refused the session: no reconnects until the app signs in again. */
  private authBlocked = false;
  private refreshingToken = false;
  /** Set by `disconnect()`: no reconnects and no HTTP fallback until `connect()`. */
  private paused = false;
  /** The token last handed to the server, to tell a refreshed one from the refused one. */
  private lastToken: string | null = null;
  /** Token from sign-in, kept only outside browsers when no getToken is given. */
  private token: string | null = null;
  private socket: HocuspocusProviderWebsocket | null = null;
  private readonly open = new Map<string, ConversationHandle>();
  private limits: Limits = DEFAULT_LIMITS;
  private currentUser: User | null = null;
  /** Whether the server named the signed-in user an admin (false while that is unknown, offline). */
  private admin = false;
  private connection: ConnectionState = "offline";
  private failedOpens = 0;
  private fallbackTimer: ReturnType<typeof setTimeout> | null = null;
  private signingOut = false;
  private readonly uploads: VideoUploads;

  constructor(options: ChatClientOptions = {}) {
    super();
    const origin = isBrowser() ? window.location.origin : undefined;
    const baseUrl = options.baseUrl ?? origin;
    if (!baseUrl) throw new ChatError("validation_failed", "baseUrl is required outside browsers");
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.getToken = options.getToken;
    this.storage = options.storage ?? defaultStorage();
    this.WebSocketImpl = options.WebSocket;
    this.heartbeatTimeoutMs = options.heartbeatTimeoutMs ?? 5000;
    if (isBrowser()) {
      // Retry at once when the network comes back or the app returns to the foreground.
      const reconnect = () => this.reconnectNow();
      window.addEventListener("online", reconnect);
      // The browser knows the network is gone before any heartbeat can tell: say so at once.
      window.addEventListener("offline", () => this.socket?.onClose({ event: { code: 4499, reason: "browser offline" } } as never));
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") reconnect();
      });
    }
    this.http = new Http({
      baseUrl: this.baseUrl,
      timeoutMs: options.requestTimeoutMs ?? 10_000,
      fetch: options.fetch ?? ((...args) => globalThis.fetch(...args)),
      token: () => this.currentToken(),
      onSessionRefused: (code) => {
        if (this.currentUser && !this.signingOut) this.onAuthFailure(code);
      },
    });
    this.uploads = new VideoUploads({
      baseUrl: this.baseUrl,
      storage: this.storage,
      chunkBytes: positive(options.uploadChunkBytes, "uploadChunkBytes") ?? UPLOAD_CHUNK_BYTES,
      offlineQueueMaxBytes: positive(options.offlineQueueMaxBytes, "offlineQueueMaxBytes", true) ?? OFFLINE_QUEUE_MAX_BYTES,
      stallMs: UPLOAD_STALL_MS,
      openFile: options.openFile,
      token: () => this.currentToken(),
      limits: () => this.limits,
      onSessionRefused: (code) => {
        if (this.currentUser && !this.signingOut) this.onAuthFailure(code);
      },
    });
  }

  get user(): User | null {
    return this.currentUser;
  }

  /** The signed-in user is an admin (ADMIN_EMAILS): may delete any message and read reports. */
  get isAdmin(): boolean {
    return this.admin;
  }

  get state(): ConnectionState {
    return this.connection;
  }

  /** The whole client's sync status: the connection, own messages not yet stored, the last sync. */
  get status(): SyncStatus {
    let pendingCount = 0;
    let lastSyncedAt: number | null = null;
    let localSaving = this.storage.persistent;
    for (const handle of this.open.values()) {
      const status = handle.status;
      pendingCount += status.pendingCount;
      localSaving &&= status.localSaving;
      if (status.lastSyncedAt !== null && (lastSyncedAt === null || status.lastSyncedAt > lastSyncedAt)) {
        lastSyncedAt = status.lastSyncedAt;
      }
    }
    return { state: this.connection, pendingCount, lastSyncedAt, localSaving };
  }

  // ---- auth ----

  async register(input: { email: string; password: string; displayName: string }): Promise<User> {
    return this.signedIn(await this.http.request<AuthResult>("POST", "/api/auth/register", input));
  }

  async login(input: { email: string; password: string }): Promise<User> {
    return this.signedIn(await this.http.request<AuthResult>("POST", "/api/auth/login", input));
  }

  /**
   * The signed-in user (restores a session after a reload), or null. Offline, the user of the
   * last session on this device, so its conversations open from the local store.
   */
  async me(): Promise<User | null> {
    try {
      const { user, isAdmin } = await this.http.request<{ user: User; isAdmin: boolean }>("GET", "/api/me");
      await this.startSession(user, isAdmin === true);
      return user;
    } catch (error) {
      if (error instanceof ChatError && error.status === 401) {
        await this.storage.writeMeta(USER_KEY, null);
        return null;
      }
      if (error instanceof ChatError && error.code === "network_error") {
        const saved = await this.storage.readMeta(USER_KEY);
        if (saved) {
          const user = JSON.parse(saved) as User;
          await this.startSession(user);
          return user;
        }
      }
      throw error;
    }
  }

  /**
   * Signs out; deletes this user's local conversations, queued videos and upload resume entries
   * unless `keepLocalData` (running uploads are then cancelled on the server too, when it can be
   * reached).
   */
  async logout(options: LogoutOptions = {}): Promise<void> {
    const user = this.currentUser;
    if (!options.keepLocalData) await this.uploads.cancelAll();
    this.signingOut = true;
    try {
      await this.http.request<void>("POST", "/api/auth/logout");
    } catch (error) {
      // Signing out must work offline and with a dead session too.
      if (!(error instanceof ChatError) || (error.status !== 401 && error.code !== "network_error")) throw error;
    } finally {
      this.signingOut = false;
    }
    await this.endSession(options.keepLocalData ? "keep" : "delete");
    this.token = null;
    await this.storage.writeMeta(USER_KEY, null);
    if (user && !options.keepLocalData) {
      await this.storage.clearPrefix(this.storePrefix(user.id));
      await this.uploads.forget(user.id);
    }
  }

  async changePassword(currentPassword: string, newPassword: string): Promise<void> {
    await this.http.request<void>("POST", "/api/auth/password", { currentPassword, newPassword });
  }

  async updateProfile(input: { displayName: string }): Promise<User> {
    const { user } = await this.http.request<{ user: User }>("PATCH", "/api/me", input);
    this.currentUser = user;
    await this.storage.writeMeta(USER_KEY, JSON.stringify(user));
    this.emit("user", { user });
    return user;
  }

  // ---- conversations ----

  async listConversations(): Promise<Conversation[]> {
    return (await this.http.request<{ conversations: Conversation[] }>("GET", "/api/conversations")).conversations;
  }

  async createConversation(input: { title: string; memberIds?: string[]; memberEmails?: string[] }): Promise<Conversation> {
    return (await this.http.request<{ conversation: Conversation }>("POST", "/api/conversations", input)).conversation;
  }

  async renameConversation(id: string, title: string): Promise<Conversation> {
    const path = `/api/conversations/${encodeURIComponent(id)}`;
    return (await this.http.request<{ conversation: Conversation }>("PATCH", path, { title })).conversation;
  }

  async addMember(id: string, who: { userId: string } | { email: string }): Promise<Conversation> {
    const path = `/api/conversations/${encodeURIComponent(id)}/members`;
    return (await this.http.request<{ conversation: Conversation }>("POST", path, who)).conversation;
  }

  async removeMember(id: string, userId: string): Promise<void> {
    await this.http.request<void>("DELETE", `/api/conversations/${encodeURIComponent(id)}/members/${encodeURIComponent(userId)}`);
  }

  async leaveConversation(id: string): Promise<void> {
    const user = this.requireUser();
    this.open.get(id)?.close();
    await this.removeMember(id, user.id);
  }

  /** The open conversation with this id (the same handle on every call until it is closed). */
  conversation(id: string): ConversationHandle {
    const user = this.requireUser();
    const existing = this.open.get(id);
    if (existing) return existing;
    const handle = new ConversationHandle({
      id: id as ConversationId,
      userId: user.id as UserId,
      storage: this.storage,
      storePrefix: this.storePrefix(user.id),
      socket: this.requireSocket(),
      http: this.http,
      token: async () => (await this.currentToken()) ?? "",
      limits: () => this.limits,
      shareVideo: (conversationId, video, options) => this.uploads.share(conversationId, video, options),
      isAdmin: () => this.admin,
      onAuthFailure: (reason) => this.onAuthFailure(reason),
      onClosed: (closedId) => this.open.delete(closedId),
    });
    this.open.set(id, handle);
    handle.setConnection(this.connection);
    handle.on("status", () => this.emitStatus());
    return handle;
  }

  /**
   * The signed-in user's video uploads that have not ended: those shared in this run, and after a
   * restart the queued ones (restarted at sign-in; a paused one waits for `resume()`).
   */
  pendingUploads(): VideoUpload[] {
    return this.uploads.pending();
  }

  /**
   * Drops the connection on purpose (the app went to the background). Sending keeps working;
   * messages wait as `pending` until `connect()`.
   */
  disconnect(): void {
    this.paused = true;
    this.clearFallbackTimer();
    this.socket?.disconnect();
    // The provider reports the socket closed only once the close handshake ends; until then its
    // connect() sees "connected" and does nothing, so a connect() right after this one would
    // never reconnect. Declared closed now (as the heartbeat watchdog does).
    if (this.socket?.status === "connected") this.socket.onClose({ event: { code: 1000, reason: "disconnect()" } } as never);
    this.setState("offline");
  }

  /** Connects again after `disconnect()` (the app came back to the foreground). */
  connect(): void {
    this.paused = false;
    this.reconnectNow();
  }

  /** Closes the socket and every open conversation (local data stays). */
  async close(): Promise<void> {
    await this.endSession("keep");
    this.removeAllListeners();
  }

  // ---- internals ----

  private async currentToken(): Promise<string | null> {
    const token = this.getToken ? ((await this.getToken()) ?? null) : this.token;
    this.lastToken = token;
    return token;
  }

  private async signedIn(result: AuthResult): Promise<User> {
    if (!this.getToken && !isBrowser()) this.token = result.token;
    if (this.currentUser && this.currentUser.id !== result.user.id) await this.endSession("keep");
    await this.startSession(result.user);
    return result.user;
  }

  private async startSession(user: User, isAdmin?: boolean): Promise<void> {
    this.currentUser = user;
    this.admin = isAdmin ?? false;
    this.authBlocked = false;
    if (isAdmin === undefined) {
      // Signed in just now: the sign-in answer does not say it.
      this.http
        .request<{ user: User; isAdmin: boolean }>("GET", "/api/me")
        .then(({ user: current, isAdmin: admin }) => {
          if (this.currentUser?.id === current.id) this.admin = admin === true;
        })
        .catch(() => undefined);
    }
    await this.storage.writeMeta(USER_KEY, JSON.stringify(user));
    try {
      this.limits = (await this.http.request<{ limits: Limits }>("GET", "/api/config")).limits;
    } catch {
      // offline: the defaults match the server's unless an operator changed them
    }
    // Queued videos start again (they wait for the network by themselves).
    await this.uploads.begin(user.id);
    this.paused = false;
    if (this.socket?.status === "connected") {
      // Signed in again while the socket stayed open: the conversations ask again with the new session.
      for (const handle of this.open.values()) handle.reauthenticate();
    } else if (this.socket) void this.socket.connect();
    else this.requireSocket();
    this.emit("user", { user });
  }

  private async endSession(local: "keep" | "delete"): Promise<void> {
    const uploadsEnded = this.uploads.end();
    const handles = [...this.open.values()];
    this.open.clear();
    await Promise.all(handles.map((h) => (local === "delete" ? h.destroy() : Promise.resolve(h.close()))));
    this.socket?.destroy();
    this.socket = null;
    this.clearFallbackTimer();
    this.failedOpens = 0;
    this.setState("offline");
    if (this.currentUser) {
      this.currentUser = null;
      this.emit("user", { user: null });
    }
    await uploadsEnded;
  }

  /** Skips the backoff wait: the network may be back. */
  private reconnectNow(): void {
    if (this.socket && this.currentUser && !this.authBlocked && !this.paused && this.connection !== "online") {
      void this.socket.connect();
    }
  }

  /**
   * The server refused the session. An expired one: ask `getToken` once more; a fresh token
   * means the socket's next attempt signs in again by itself. Otherwise stop reconnecting and
   * wait for the app to sign in (pending changes stay on the device and go out then, under
   * that user). A revoked session ends signed out.
   */
  private onAuthFailure(reason: string): void {
    if (this.authBlocked || this.refreshingToken) return;
    if (reason === "session_expired" && this.getToken) {
      const failed = this.lastToken;
      this.refreshingToken = true;
      void this.currentToken()
        .catch(() => failed)
        .then((token) => {
          this.refreshingToken = false;
          if (!token || token === failed) this.blockUntilSignIn(reason);
          else for (const handle of this.open.values()) handle.reauthenticate();
        });
      return;
    }
    this.blockUntilSignIn(reason);
  }

  private blockUntilSignIn(reason: string): void {
    this.authBlocked = true;
    this.clearFallbackTimer();
    this.socket?.disconnect();
    this.setState("offline");
    this.emit("auth-required", { reason: reason as ChatClientEvents["auth-required"]["reason"] });
    if (reason === "session_revoked") {
      this.token = null;
      void this.endSession("keep");
    }
  }

  private requireUser(): User {
    if (!this.currentUser) throw new ChatError("unauthenticated", "sign in first");
    return this.currentUser;
  }

  private requireSocket(): HocuspocusProviderWebsocket {
    if (this.socket) return this.socket;
    const url = `${this.baseUrl.replace(/^http/, "ws")}/collab`;
    const socket = new HocuspocusProviderWebsocket({
      url,
      ...(this.WebSocketImpl ? { WebSocketPolyfill: this.WebSocketImpl } : {}),
      // Our watchdog below drops a silent socket; the provider's own check is only a backstop.
      messageReconnectTimeout: this.heartbeatTimeoutMs * 3,
      // Exponential backoff with jitter, capped: a phone retries quickly, a crowd does not stampede.
      delay: 500,
      factor: 2,
      minDelay: 250,
      maxDelay: 15_000,
      jitter: true,
      maxAttempts: 0,
    });
    socket.on("status", ({ status }: { status: string }) => {
      if (status === "connected") {
        this.failedOpens = 0;
        this.clearFallbackTimer();
        this.setState("online");
        return;
      }
      if (!this.paused) this.armFallbackTimer();
      // While syncing over HTTP, the socket's retries are only probes.
      if (this.connection !== "fallback-http") this.setState(status === "connecting" ? "connecting" : "offline");
    });
    socket.on("close", () => {
      if (this.connection === "online" || this.authBlocked) return;
      this.failedOpens += 1;
      if (this.failedOpens >= FALLBACK_AFTER_FAILED_OPENS) this.enterFallback();
    });
    socket.on("disconnect", ({ event }: { event: { code: number; reason: string } }) => {
      if (event.code === 4401) this.onAuthFailure(event.reason);
    });
    this.watchHeartbeat(socket);
    this.socket = socket;
    return socket;
  }

  /**
   * A socket that brings nothing for heartbeatTimeoutMs is dead, even when TCP says it is open
   * (the server sends a Ping every 2 s). Counted from the open too, so a line that goes silent
   * before its first message is noticed as well.
   */
  private watchHeartbeat(socket: HocuspocusProviderWebsocket): void {
    let lastHeard = Date.now();
    const heard = () => (lastHeard = Date.now());
    socket.on("open", heard);
    socket.on("message", heard);
    const timer = setInterval(() => {
      const ws = socket.webSocket as { readyState?: number } | null;
      if (ws?.readyState !== 1 || Date.now() - lastHeard <= this.heartbeatTimeoutMs) return;
      lastHeard = Date.now();
      // A stalled socket ignores close(); declare it closed so the provider reconnects.
      socket.onClose({ event: { code: 4408, reason: "heartbeat timeout" } } as never);
    }, WATCHDOG_INTERVAL_MS);
    (timer as { unref?: () => void }).unref?.();
    socket.on("destroy", () => clearInterval(timer));
  }

  private setState(state: ConnectionState): void {
    if (state === this.connection) return;
    this.connection = state;
    for (const handle of this.open.values()) handle.setConnection(state);
    // The server answers again: uploads waiting for the network go on now.
    if (state === "online" || state === "fallback-http") this.uploads.networkBack();
    this.emitStatus();
  }

  /**
   * The WebSocket path looks blocked: if plain HTTP reaches the server, conversations sync over
   * it while the socket keeps probing with its backoff. Otherwise the device is just offline.
   */
  private enterFallback(): void {
    this.clearFallbackTimer();
    if (!this.currentUser || this.authBlocked || this.paused || this.connection === "online" || this.connection === "fallback-http") {
      return;
    }
    this.http.send("GET", "/healthz").then(
      () => {
        if (this.currentUser && !this.authBlocked && this.connection !== "online") this.setState("fallback-http");
      },
      () => undefined,
    );
  }

  private armFallbackTimer(): void {
    if (this.fallbackTimer || this.connection === "fallback-http") return;
    this.fallbackTimer = setTimeout(() => {
      this.fallbackTimer = null;
      this.enterFallback();
    }, FALLBACK_AFTER_MS);
  }

  private clearFallbackTimer(): void {
    if (this.fallbackTimer) clearTimeout(this.fallbackTimer);
    this.fallbackTimer = null;
  }

  private storePrefix(userId: string): string {
    return `wbk:${userId}:`;
  }
}

/** A whole positive number option (or 0 where allowed), or undefined for the default. */
function positive(value: number | undefined, name: string, zeroAllowed = false): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isSafeInteger(value) || value < (zeroAllowed ? 0 : 1)) {
    throw new ChatError("validation_failed", `${name} must be a whole number of bytes${zeroAllowed ? "" : " above 0"}`);
  }
  return value;
}

export function createChatClient(options: ChatClientOptions = {}): ChatClient {
  return new ChatClient(options);
}
