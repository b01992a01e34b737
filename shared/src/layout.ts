/**
 * The conversation document layout (DESIGN.md "Document layout"). These helpers are the only
 * code that touches the raw Y types; the SDK and the server both go through them.
 */
import * as Y from "yjs";
import type { MessageId, UserId, VideoId } from "./ids.js";

export const MESSAGES_KEY = "messages";
export const READS_KEY = "reads";
/** The only top-level types a conversation document may contain. */
export const TOP_LEVEL_KEYS: ReadonlySet<string> = new Set([MESSAGES_KEY, READS_KEY]);

export type MessageKind = "text" | "video";
export type VideoStatus = "uploading" | "ready" | "failed";

export interface VideoInfo {
  videoId: VideoId;
  filename: string;
  mime: string;
  size: number;
  durationMs: number | null;
  status: VideoStatus;
}

/** One message as read from the document (and as served by REST, where seq/serverTime are set). */
export interface Message {
  id: MessageId;
  authorId: UserId;
  kind: MessageKind;
  text: string;
  createdAt: number;
  replyTo?: MessageId;
  editedAt?: number;
  deleted?: true;
  reactions: Record<string, string>;
  video?: VideoInfo;
  seq?: number;
  serverTime?: number;
}

/** Value types of each key of a message map; the server's update guard checks them. */
export const MESSAGE_KEY_TYPES = {
  id: "string",
  authorId: "string",
  kind: "string",
  text: "string",
  createdAt: "number",
  replyTo: "string",
  editedAt: "number",
  deleted: "boolean",
  reactions: "map",
  video: "object",
  seq: "number",
  serverTime: "number",
} as const;
export type MessageKey = keyof typeof MESSAGE_KEY_TYPES;

export function isMessageKey(key: string): key is MessageKey {
  return Object.hasOwn(MESSAGE_KEY_TYPES, key);
}


export type MessageMap = Y.Map<unknown>;

export function messagesArray(doc: Y.Doc): Y.Array<MessageMap> {
  return doc.getArray<MessageMap>(MESSAGES_KEY);
}

/**
 * The message maps of a document, skipping anything else the list holds. The server never lets
 * anything else in, but a document stored before a guard fix might have it, and reading one
 * must not fail the whole conversation.
 */
export function* messageMaps(doc: Y.Doc): Generator<MessageMap> {
  for (const entry of messagesArray(doc) as Iterable<unknown>) if (entry instanceof Y.Map) yield entry as MessageMap;
}

export function readsMap(doc: Y.Doc): Y.Map<number> {
  return doc.getMap<number>(READS_KEY);
}

/** Reads one message map; null when it lacks the required fields (never shown, never served). */
export function readMessage(map: MessageMap): Message | null {
  const id = map.get("id");
  const authorId = map.get("authorId");
  const kind = map.get("kind");
  const text = map.get("text");
  const createdAt = map.get("createdAt");
  if (typeof id !== "string" || typeof authorId !== "string") return null;
  if (kind !== "text" && kind !== "video") return null;
  if (typeof text !== "string" || typeof createdAt !== "number") return null;
  const message: Message = {
    id: id as MessageId,
    authorId: authorId as UserId,
    kind,
    text,
    createdAt,
    reactions: {},
  };
  const replyTo = map.get("replyTo");
  if (typeof replyTo === "string") message.replyTo = replyTo as MessageId;
  const editedAt = map.get("editedAt");
  if (typeof editedAt === "number") message.editedAt = editedAt;
  if (map.get("deleted") === true) message.deleted = true;
  const reactions = map.get("reactions");
  if (reactions instanceof Y.Map) {
    for (const [user, emoji] of reactions.entries()) {
      if (typeof emoji === "string") message.reactions[user] = emoji;
    }
  }
  const video = map.get("video");
  if (video && typeof video === "object" && !(video instanceof Y.AbstractType)) {
    message.video = video as VideoInfo;
  }
  const seq = map.get("seq");
  if (typeof seq === "number") message.seq = seq;
  const serverTime = map.get("serverTime");
  if (typeof serverTime === "number") message.serverTime = serverTime;
  return message;
}

/**
 * Messages in display order (DESIGN.md "Order"): stamped ones by `seq`, then the not yet
 * stamped ones in Yjs order.
 */
export function listMessages(doc: Y.Doc): Message[] {
  const stamped: Message[] = [];
  const unstamped: Message[] = [];
  for (const map of messageMaps(doc)) {
    const message = readMessage(map);
    if (!message) continue;
    (message.seq === undefined ? unstamped : stamped).push(message);
  }
  stamped.sort((a, b) => (a.seq as number) - (b.seq as number));
  return stamped.concat(unstamped);
}

export function findMessageMap(doc: Y.Doc, id: string): MessageMap | undefined {
  for (const map of messageMaps(doc)) {
    if (map.get("id") === id) return map;
  }
  return undefined;
}

export interface NewTextMessage {
  id: MessageId;
  authorId: UserId;
  text: string;
  createdAt: number;
  replyTo?: MessageId;
}

/** Appends a text message; call inside `doc.transact` when batching. */
export function appendTextMessage(doc: Y.Doc, fields: NewTextMessage): MessageMap {
  const map: MessageMap = new Y.Map<unknown>();
  map.set("id", fields.id);
  map.set("authorId", fields.authorId);
  map.set("kind", "text");
  map.set("text", fields.text);
  map.set("createdAt", fields.createdAt);
  if (fields.replyTo !== undefined) map.set("replyTo", fields.replyTo);
  // Created with the message, so two members' first reactions never race to create it.
  map.set("reactions", new Y.Map<string>());
  messagesArray(doc).push([map]);
  return map;
}

export interface NewVideoMessage {
  id: MessageId;
  authorId: UserId;
  createdAt: number;
  video: VideoInfo;
}

/** Appends a video message (server only: the server writes it when an upload is created). */
export function appendVideoMessage(doc: Y.Doc, fields: NewVideoMessage): MessageMap {
  const map: MessageMap = new Y.Map<unknown>();
  map.set("id", fields.id);
  map.set("authorId", fields.authorId);
  map.set("kind", "video");
  map.set("text", "");
  map.set("createdAt", fields.createdAt);
  map.set("reactions", new Y.Map<string>());
  map.set("video", { ...fields.video });
  messagesArray(doc).push([map]);
  return map;
}

/** Replaces a video message's video object (a plain value: written whole, never merged). */
export function setVideoInfo(map: MessageMap, video: VideoInfo): void {
  map.set("video", { ...video });
}

/** Writes the server's order stamp into a message map (server only). */
export function stampMessage(map: MessageMap, seq: number, serverTime: number): void {
  map.set("seq", seq);
  map.set("serverTime", serverTime);
}

/**
 * Edits a text (author only, DESIGN.md "Who may write what"); call inside `doc.transact` to
 * write text and `editedAt` as one update.
 */
export function editMessageText(map: MessageMap, text: string, editedAt: number): void {
  map.set("text", text);
  map.set("editedAt", editedAt);
}

/** Marks a message deleted and clears its text (the layout's `deleted`: text is then ""). */
export function markMessageDeleted(map: MessageMap): void {
  map.set("deleted", true);
  map.set("text", "");
}

/** The message's reactions map (created with the message), or undefined on a malformed one. */
export function reactionsMap(map: MessageMap): Y.Map<string> | undefined {
  const reactions = map.get("reactions");
  return reactions instanceof Y.Map ? (reactions as Y.Map<string>) : undefined;
}

/** Sets (emoji) or removes (null) one user's reaction; only that user may write it. */
export function setReaction(reactions: Y.Map<string>, userId: UserId, emoji: string | null): void {
  if (emoji === null) reactions.delete(userId);
  else reactions.set(userId, emoji);
}

/** Every member's read position (a `seq`), ignoring values that are not one. */
export function readPositions(doc: Y.Doc): Record<string, number> {
  const positions: Record<string, number> = {};
  for (const [user, seq] of readsMap(doc).entries()) {
    if (typeof seq === "number" && Number.isInteger(seq) && seq >= 0) positions[user] = seq;
  }
  return positions;
}

/** Writes the user's read position; callers never write a lower one than they have seen. */
export function setReadPosition(doc: Y.Doc, userId: UserId, seq: number): void {
  readsMap(doc).set(userId, seq);
}

/**
 * The read positions of `userId` among the items a transaction added, including ones that lost
 * a concurrent write to the same key (still readable in `afterTransaction`, before garbage
 * collection): how a device sees a higher position that Yjs conflict resolution dropped.
 */
export function readPositionsWritten(transaction: Y.Transaction, userId: UserId): number[] {
  const reads = readsMap(transaction.doc);
  const values: number[] = [];
  for (const [client, after] of transaction.afterState) {
    const before = transaction.beforeState.get(client) ?? 0;
    if (after <= before) continue;
    const structs = transaction.doc.store.clients.get(client);
    if (!structs) continue;
    for (let i = Y.findIndexSS(structs, before); i < structs.length; i++) {
      const struct = structs[i] as Y.Item | Y.GC;
      if (struct.id.clock >= after) break;
      if (!(struct instanceof Y.Item) || struct.parent !== reads || struct.parentSub !== userId) continue;
      if (struct.content instanceof Y.ContentAny) {
        for (const value of struct.content.getContent()) {
          if (typeof value === "number" && Number.isInteger(value) && value >= 0) values.push(value);
        }
      }
    }
  }
  return values;
}
