/**
 * Storage interfaces (STYLE.md "Storage behind small interfaces"). The SQLite implementations
 * live in ./sqlite; a second backend is a new folder implementing these.
 */
import type { ConversationId, ReportAction, UserId, VideoId, WeeklyReport } from "@wbk/shared";

export interface UserRecord {
  id: UserId;
  email: string;
  displayName: string;
  passwordHash: string;
  createdAt: number;
}

export interface UserStore {
  create(user: UserRecord): void;
  byId(id: UserId): UserRecord | undefined;
  byEmail(email: string): UserRecord | undefined;
  byIds(ids: readonly UserId[]): UserRecord[];
  setDisplayName(id: UserId, displayName: string): void;
  setPasswordHash(id: UserId, hash: string): void;
}

export interface SessionRecord {
  /** SHA-256 of the token, hex; the token itself is never stored. */
  id: string;
  userId: UserId;
  createdAt: number;
  expiresAt: number;
  revokedAt: number | null;
}

export interface SessionStore {
  create(session: SessionRecord): void;
  get(id: string): SessionRecord | undefined;
  extend(id: string, expiresAt: number): void;
  revoke(id: string, at: number): void;
  /** Revokes every live session of the user except `keep`; returns the revoked ids. */
  revokeAllOf(userId: UserId, at: number, keep?: string): string[];
}

export interface ConversationRecord {
  id: ConversationId;
  title: string;
  createdAt: number;
  createdBy: UserId;
  lastMessageAt: number | null;
}

export interface ConversationStore {
  create(conversation: ConversationRecord, memberIds: readonly UserId[]): void;
  get(id: ConversationId): ConversationRecord | undefined;
  /** The user's conversations, most recent activity first. */
  listFor(userId: UserId): ConversationRecord[];
  rename(id: ConversationId, title: string): void;
  members(id: ConversationId): UserId[];
  isMember(id: ConversationId, userId: UserId): boolean;
  /** Adds a member (and records who added them, for reports); false when already one. */
  addMember(id: ConversationId, userId: UserId, at: number, addedBy: UserId | null): boolean;
  /** Removes a member; false when not one. */
  removeMember(id: ConversationId, userId: UserId): boolean;
  touch(id: ConversationId, at: number): void;
}

/** Latest stored Yjs snapshot per document, with the last update-log row it covers. */
export interface SnapshotStore {
  get(conversationId: ConversationId): { state: Uint8Array; coveredLogSeq: number } | undefined;
  /** Stores the snapshot and drops the bytes of the log rows it covers, in one transaction. */
  put(conversationId: ConversationId, state: Uint8Array, coveredLogSeq: number): void;
}

/** The kinds of action one update holds (reports count them). */
export type ActionKind =
  | "message.sent"
  | "message.edited"
  | "message.deleted"
  | "video.shared"
  | "reaction.set"
  | "read.updated"
  | "server.stamp"
  | "server.purge";

export interface NewMessageEntry {
  messageId: string;
  authorId: UserId;
}

/** Who a Yjs client id belongs to in one conversation, and how far the server has seen it write. */
export interface ClientBinding {
  userId: UserId;
  /** One past the highest clock accepted from this client id. */
  nextClock: number;
}

export interface LogEntry {
  conversationId: ConversationId;
  /** The acting user; null for the server's own housekeeping (seq stamps). */
  userId: UserId | null;
  clientId: number | null;
  serverTime: number;
  update: Uint8Array;
  actions: readonly ActionKind[];
  /** Client-id bindings this update creates or advances (DESIGN.md "Who may write what"). */
  bindings: ReadonlyMap<number, ClientBinding>;
  /** Messages created by this update: they get their `seq` in the same commit. */
  newMessages: readonly NewMessageEntry[];
}

export interface CommittedEntry {
  logSeq: number;
  /** seq given to each new message, in the order of `newMessages`. */
  seqs: number[];
}

export interface MessageSeqRecord {
  messageId: string;
  seq: number;
  authorId: UserId;
  serverTime: number;
}

/**
 * The update log, the per-conversation message order and the client-id bindings: written
 * together in one transaction per accepted update.
 */
export interface UpdateLogStore {
  /** Commits the row, the bindings and the new messages' seqs atomically. */
  append(entry: LogEntry): CommittedEntry;
  /** Log rows whose bytes are still kept, after `afterLogSeq`, in order. */
  updatesSince(conversationId: ConversationId, afterLogSeq: number): Uint8Array[];
  bindings(conversationId: ConversationId, clientIds: readonly number[]): Map<number, ClientBinding>;
  messageSeqs(conversationId: ConversationId): Map<string, MessageSeqRecord>;
  messageSeq(conversationId: ConversationId, messageId: string): MessageSeqRecord | undefined;
  /** Gives a seq to a message the document holds but the table does not (recovery). */
  assignSeq(conversationId: ConversationId, messageId: string, authorId: UserId, serverTime: number): number;
  count(conversationId: ConversationId): number;
  /** The newest log sequence number of the conversation (0 when none). */
  lastLogSeq(conversationId: ConversationId): number;
  /** The newest message `seq` given in the conversation (0 when none). */
  lastSeq(conversationId: ConversationId): number;
}

/** One row of the request log: a REST or tus request, or a socket that signed in or closed. */
export interface RequestLogEntry {
  /** Server time when the request arrived (ms). */
  at: number;
  kind: "http" | "socket.connect" | "socket.disconnect";
  /** The signed-in user; null for anonymous requests. */
  userId: UserId | null;
  /** HTTP method and Hono route pattern (`/api/conversations/:id`), never the raw URL. */
  method: string | null;
  route: string | null;
  status: number | null;
  /** Request time until the answer was sent; for a disconnect, how long the socket was signed in. */
  durationMs: number | null;
  /** Request body (Content-Length) and bytes sent back, headers included; null when unknown. */
  bytesIn: number | null;
  bytesOut: number | null;
}

export interface RequestLogStore {
  /** Appends the entries in one transaction. */
  append(entries: readonly RequestLogEntry[]): void;
}

/**
 * The time line of activity is kept in 15-minute slices of UTC: every zone's offset and change
 * of offset falls on a quarter hour, so a slice never straddles a local hour.
 */
export const ACTIVITY_SLICE_MS = 900_000;

export interface ActionCount {
  kind: ReportAction;
  /** Who acted (null when the log does not know, e.g. members added before reports existed). */
  userId: UserId | null;
  conversationId: ConversationId | null;
  count: number;
  /** Earliest and latest instant of these actions. */
  first: number;
  last: number;
  /** `video.shared`: the videos' bytes. */
  bytes?: number;
}

export interface RequestCount {
  userId: UserId | null;
  method: string;
  route: string;
  count: number;
  first: number;
  last: number;
}

/** Actions of every kind in the slice starting at `at` (a multiple of ACTIVITY_SLICE_MS). */
export interface SliceCount {
  at: number;
  count: number;
}

/** What happened in one week, as the report reads it. */
export interface WeekActivity {
  /** Actions by kind, user and conversation. */
  actions: ActionCount[];
  /** REST and tus requests by user, method and route. */
  requests: RequestCount[];
  /** Actions per slice, in time order; slices without actions are left out. */
  timeline: SliceCount[];
}

/** A week of REPORT_TZ: its label and [from, to). */
export interface WeekSpan {
  week: string;
  from: number;
  to: number;
}

/** Read-only view of what happened, for the reports; each call reads one snapshot of the database. */
export interface ActivityStore {
  /**
   * The week's activity from the counts kept as rows are written (few rows a week, whatever
   * the traffic). A week of another zone than the storage's REPORT_TZ is counted from the logs.
   */
  week(span: WeekSpan): WeekActivity;
  /** The same, counted from the log tables (slow; the reference, and what `--recompute` uses). */
  weekFromLogs(from: number, to: number): WeekActivity;
  /** The earliest instant anything was logged or created; null on a fresh database. */
  firstActivity(): number | null;
}

export interface StoredReport {
  report: WeeklyReport;
  from: number;
  to: number;
  /** Log rows of this week before this instant were deleted (RETENTION_DAYS); null when none were. */
  compactedThrough: number | null;
}

/** Stored weekly reports; the week is the key, so no week is ever stored twice. */
export interface ReportStore {
  /** Stores the report unless its week is stored already (by anyone); true when this call stored it. */
  putIfAbsent(report: WeeklyReport, from: number, to: number): boolean;
  /** Replaces (or stores) the week's report; false, changing nothing, once its log rows were compacted. */
  replace(report: WeeklyReport, from: number, to: number): boolean;
  get(week: string): StoredReport | undefined;
  /** Stored week labels, oldest first. */
  weeks(): string[];
  /**
   * Deletes update-log metadata (rows whose bytes a snapshot already covers) and request-log
   * rows older than `before` inside stored weeks, marking those weeks; returns them.
   */
  compact(before: number): string[];
}

export type UploadStatus = "uploading" | "ready" | "failed";

export interface UploadRecord {
  /** The tus upload id; also the video id once it is finished. */
  id: VideoId;
  conversationId: ConversationId;
  userId: UserId;
  filename: string;
  /** The type the client claimed (may be empty); content decides the served type. */
  claimedType: string;
  size: number;
  createdAt: number;
  status: UploadStatus;
  endedAt: number | null;
}

export interface VideoRecord {
  /** Completion order across the server; the listing cursor. */
  seq: number;
  id: VideoId;
  conversationId: ConversationId;
  uploaderId: UserId;
  filename: string;
  /** Decided from the bytes (DESIGN.md: never the name or the claimed type). */
  mime: string;
  codec: string | null;
  size: number;
  durationMs: number | null;
  sha256: string;
  /** When the upload completed. */
  createdAt: number;
}

/** Uploads in flight and the videos they became. */
export interface VideoStore {
  /**
   * Records a new upload unless the user already has `maxUnfinished` uploads in flight
   * (checked and written in one transaction); false when over.
   */
  createUpload(upload: Omit<UploadRecord, "status" | "endedAt">, maxUnfinished: number): boolean;
  upload(id: VideoId): UploadRecord | undefined;
  /** How many uploads the user created after `since` (an upload exactly an hour old has left the window), and the oldest one's time (the per-hour rate limit). */
  createdSince(userId: UserId, since: number): { count: number; oldest: number | null };
  /** Marks an unfinished upload failed; false when it was not unfinished. */
  fail(id: VideoId, at: number): boolean;
  /** Marks the upload ready and records the video, in one transaction. */
  finish(video: Omit<VideoRecord, "seq">): VideoRecord;
  /** Unfinished uploads created before `before`, oldest first. */
  unfinishedBefore(before: number): UploadRecord[];
  /** The user's unfinished uploads to one conversation (ended when they leave it). */
  unfinishedIn(conversationId: ConversationId, userId: UserId): UploadRecord[];
  video(id: VideoId): VideoRecord | undefined;
  /** A conversation's videos in completion order after the cursor. */
  videos(conversationId: ConversationId, afterSeq: number, limit: number): VideoRecord[];
}

/** What the search index holds for one message (its text at the time it was indexed). */
export interface SearchEntry {
  messageId: string;
  /** The message's `createdAt` (the writer's clock, ms). */
  createdAt: number;
  text: string;
}

/** One match, newest first; `match` is where the text matched, in UTF-16 code units of `text`. */
export interface SearchHit {
  messageId: string;
  seq: number;
  authorId: UserId;
  createdAt: number;
  text: string;
  match: { start: number; end: number } | null;
}

/**
 * The full-text index of live message text (DESIGN.md "REST API", search). Only messages with
 * a `seq` are found. A deleted message's entry is removed, leaving no trace of its text.
 */
export interface SearchStore {
  /** Indexes or re-indexes these messages (an unchanged text is left alone), in one transaction. */
  put(conversationId: ConversationId, entries: readonly SearchEntry[]): void;
  /** Drops these messages from the index. */
  remove(conversationId: ConversationId, messageIds: readonly string[]): void;
  /** Makes the conversation's index hold exactly `entries` and clears its `stale` mark. */
  replaceAll(conversationId: ConversationId, entries: readonly SearchEntry[]): void;
  /** Marks the conversation as needing `replaceAll` (an index write failed, or it predates search). */
  markStale(conversationId: ConversationId): void;
  isStale(conversationId: ConversationId): boolean;
  /** Conversations marked stale, oldest mark first. */
  stale(): ConversationId[];
  /** Matches of the trimmed, non-empty `text` with a seq below `beforeSeq`, newest first. */
  search(conversationId: ConversationId, text: string, beforeSeq: number | null, limit: number): SearchHit[];
}

export interface Storage {
  users: UserStore;
  sessions: SessionStore;
  conversations: ConversationStore;
  snapshots: SnapshotStore;
  log: UpdateLogStore;
  requestLog: RequestLogStore;
  activity: ActivityStore;
  reports: ReportStore;
  videos: VideoStore;
  search: SearchStore;
  /**
   * Copies the write-ahead log into the database file and truncates it, so page images of
   * purged content (a deleted message's text) do not linger in the WAL file. false when a
   * reader (another process) kept it from finishing.
   */
  checkpoint(): boolean;
  /** Runs `fn` in one IMMEDIATE transaction (read-then-write without races). */
  transaction<T>(fn: () => T): T;
  close(): void;
}
