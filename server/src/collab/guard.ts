/**
 * The update guard (DESIGN.md "Who may write what"): decodes an incoming Yjs update and checks
 * it against the document it would be applied to, before anything is applied or logged.
 * Pure: reads the document and the bindings it is given, writes nothing.
 */
import {
  MESSAGES_KEY,
  MESSAGE_ID_PATTERN,
  READS_KEY,
  WbkError,
  checkMessageText,
  isMessageKey,
  type Limits,
  type UserId,
} from "@wbk/shared";
import * as Y from "yjs";
import type { ActionKind, ClientBinding, NewMessageEntry } from "../storage/types.js";

export interface GuardContext {
  /** The user whose connection sent the update. */
  userId: UserId;
  isAdmin: boolean;
  limits: Limits;
  /** Stored bindings of these client ids in this conversation. */
  bindings(clientIds: readonly number[]): Map<number, ClientBinding>;
  /** Whether a message with this id already has a seq in this conversation. */
  messageIdTaken(messageId: string): boolean;
  /** The newest seq given in this conversation: no read position goes past it. */
  lastSeq(): number;
}

export interface GuardResult {
  actions: ActionKind[];
  /** Client-id bindings to create or advance with this update. */
  bindings: Map<number, ClientBinding>;
  newMessages: NewMessageEntry[];
  /** The acting connection's own client id in this update, if it wrote anything. */
  clientId: number | null;
  /** false when the update holds nothing the document lacks (a no-op resend). */
  changesDocument: boolean;
}

/** Where an item sits: a root type by name, or inside the type held by another item. */
type Parent = { root: string } | { item: AnyItem } | { orphan: true };
/** An item either already in the document or arriving in this update. */
type AnyItem = { source: "doc"; item: Y.Item } | { source: "update"; item: Y.Item };

interface Located {
  item: Y.Item;
  parent: Parent;
  parentSub: string | null;
}

/** The binding owner of the server's own client ids (REST posts, seq stamps). */
export const SERVER_USER = "__server__" as UserId;

/**
 * The update builds on changes the server does not have yet. Not a violation: a client sends
 * its new changes at once after reconnecting, possibly before the sync reply that carries
 * what they build on. Such an update is set aside unapplied; the sync brings it again.
 */
export class MissingDependencies extends Error {
  constructor() {
    super("the update depends on changes the server does not have");
    this.name = "MissingDependencies";
  }
}

function missing(): never {
  throw new MissingDependencies();
}

function refuse(message: string): never {
  throw new WbkError("update_refused", message);
}

const keyOf = (id: Y.ID) => `${id.client}:${id.clock}`;

export function guardUpdate(doc: Y.Doc, update: Uint8Array, ctx: GuardContext): GuardResult {
  if (update.byteLength > ctx.limits.maxUpdateBytes) {
    throw new WbkError("payload_too_large", `update of ${update.byteLength} bytes is over ${ctx.limits.maxUpdateBytes}`);
  }
  let decoded: { structs: Array<Y.Item | Y.GC | Y.Skip>; ds: { clients: Map<number, Array<{ clock: number; len: number }>> } };
  try {
    decoded = Y.decodeUpdate(update) as typeof decoded;
  } catch {
    refuse("the update cannot be decoded");
  }

  // ---- index the update's new items; refuse gaps (items Yjs would keep pending) ----
  const byClient = new Map<number, Y.Item[]>();
  const newItems: Y.Item[] = [];
  const nextClock = new Map<number, number>();
  /** Garbage-collected ranges this update adds: clocks of a client id, written like items. */
  const newGc: Array<{ client: number; end: number }> = [];
  for (const struct of decoded.structs) {
    const { client, clock } = struct.id;
    // A Skip carries nothing: what follows it builds on clocks the server lacks.
    if (struct instanceof Y.Skip) continue;
    const expected = nextClock.get(client) ?? Y.getState(doc.store, client);
    if (clock > expected) missing();
    const end = clock + struct.length;
    if (end > expected) nextClock.set(client, end);
    if (!(struct instanceof Y.Item)) {
      if (end > Y.getState(doc.store, client)) newGc.push({ client, end });
      continue;
    }
    const list = byClient.get(client) ?? [];
    list.push(struct);
    byClient.set(client, list);
    if (end > Y.getState(doc.store, client)) newItems.push(struct);
  }

  const findItem = (id: Y.ID): AnyItem | null => {
    // A clock the document has is the document's item: Yjs drops an update's copy of it, so a
    // copy's claims (another parent, say) must never decide where a new item goes.
    if (id.clock < Y.getState(doc.store, id.client)) {
      const struct = Y.getItem(doc.store, id) as Y.Item | Y.GC;
      return struct instanceof Y.Item ? { source: "doc", item: struct } : null;
    }
    // Binary search: an update's items of one client come in clock order (a linear scan made a
    // long chain of items quadratic: seconds of CPU for one update).
    const list = byClient.get(id.client);
    if (list) {
      let low = 0;
      let high = list.length - 1;
      while (low <= high) {
        const middle = (low + high) >> 1;
        const item = list[middle]!;
        if (id.clock < item.id.clock) high = middle - 1;
        else if (id.clock >= item.id.clock + item.length) low = middle + 1;
        else return { source: "update", item };
      }
    }
    return null;
  };

  // ---- locate every new item (parent and key), resolving inherited parent info ----
  const located = new Map<string, Located>();
  const locate = (item: Y.Item): Located => {
    const known = located.get(keyOf(item.id));
    if (known) return known;
    let result: Located;
    if (item.parent !== null) {
      const raw = item.parent as unknown;
      if (typeof raw === "string") {
        result = { item, parent: { root: raw }, parentSub: item.parentSub };
      } else {
        const parentItem = findItem(raw as Y.ID);
        if (!parentItem) missing();
        result = { item, parent: { item: parentItem }, parentSub: item.parentSub };
      }
    } else {
      const neighbourId = item.origin ?? item.rightOrigin;
      const neighbour = neighbourId ? findItem(neighbourId) : null;
      if (!neighbour) {
        if (neighbourId && neighbourId.clock < Y.getState(doc.store, neighbourId.client)) {
          // Next to garbage-collected content: Yjs integrates it as garbage too.
          result = { item, parent: { orphan: true }, parentSub: null };
        } else {
          missing();
        }
      } else if (neighbour.source === "update") {
        const inherited = locate(neighbour.item);
        result = { item, parent: inherited.parent, parentSub: inherited.parentSub };
      } else {
        result = { item, parent: parentOfDocItem(doc, neighbour.item), parentSub: neighbour.item.parentSub };
      }
    }
    located.set(keyOf(item.id), result);
    return result;
  };

  const storedBindings = ctx.bindings([...new Set([...newItems.map((i) => i.id.client), ...newGc.map((g) => g.client)])]);
  const bindings = new Map<number, ClientBinding>();
  /** The user a new item is written by, through its client id's binding. */
  const writerOf = (item: Y.Item): UserId => writerOfClocks(item.id.client, item.id.clock + item.length);
  /** The user who writes a client id's clocks up to `end` (items, or garbage-collected ranges). */
  const writerOfClocks = (client: number, end: number): UserId => {
    const current = bindings.get(client) ?? storedBindings.get(client);
    if (!current) {
      bindings.set(client, { userId: ctx.userId, nextClock: end });
      return ctx.userId;
    }
    if (current.userId !== ctx.userId && end > current.nextClock) {
      // Relaying what the server once accepted is fine; writing new items under it is not.
      refuse(`client id ${client} belongs to another user`);
    }
    bindings.set(client, { userId: current.userId, nextClock: Math.max(current.nextClock, end) });
    return current.userId;
  };

  // New garbage-collected clocks claim their client id like items do: under another user's
  // client id they would make the server skip that user's next writes.
  for (const { client, end } of newGc) writerOfClocks(client, end);

  const deletedByUpdate = deleteSetIndex(decoded.ds.clients);
  const isDeleted = (item: Y.Item) => item.content instanceof Y.ContentDeleted || deletedByUpdate(item);

  // ---- classify ----
  interface NewMessage {
    item: Y.Item;
    /** The values its fields end with (a field whose last value is deleted is absent). */
    fields: Map<string, unknown>;
  }
  const newMessages = new Map<string, NewMessage>();
  const fieldWrites: Array<{ located: Located; message: AnyItem; writer: UserId }> = [];
  const reactionWrites: Array<{ located: Located; writer: UserId }> = [];
  const replaced = new Set<string>();
  const actions: ActionKind[] = [];
  let clientId: number | null = null;

  for (const item of newItems) {
    const loc = locate(item);
    if (item.id.clock < Y.getState(doc.store, item.id.client)) continuesInPlace(doc, item, loc);
    const writer = writerOf(item);
    // Only a relay of what the server itself once wrote can carry its client id (see writerOf).
    if (writer === SERVER_USER) continue;
    if (writer === ctx.userId && clientId === null) clientId = item.id.client;
    const parent = loc.parent;
    if ("orphan" in parent) continue;
    if ("root" in parent) {
      if (parent.root === MESSAGES_KEY) {
        if (loc.parentSub !== null) refuse("messages is a list");
        if (item.content instanceof Y.ContentDeleted) continue;
        if (!(item.content instanceof Y.ContentType) || !(item.content.type instanceof Y.Map)) {
          refuse("messages may only hold message maps");
        }
        // The delete-set check further down covers what the document already has, not this.
        if (deletedByUpdate(item)) refuse("messages are never removed; set deleted instead");
        newMessages.set(keyOf(item.id), { item, fields: new Map() });
      } else if (parent.root === READS_KEY) {
        if (loc.parentSub === null) refuse("reads is a map of user ids");
        if (loc.parentSub !== writer) refuse("a read position may only be set by its user");
        const value = anyValue(item);
        if (value !== DELETED && (typeof value !== "number" || !Number.isInteger(value) || value < 0)) {
          refuse("a read position is a seq");
        }
        // Past the newest message it would mark messages read before they are sent.
        if (typeof value === "number" && value > ctx.lastSeq()) refuse("a read position is at most the newest message's seq");
        actions.push("read.updated");
      } else {
        refuse(`unknown top-level key "${parent.root}"`);
      }
      continue;
    }
    const container = classifyContainer(doc, parent.item, locate);
    if (container === "message") {
      if (loc.parentSub === null) refuse("a message is a map");
      fieldWrites.push({ located: loc, message: parent.item, writer });
    } else if (container === "reactions") {
      if (loc.parentSub === null) refuse("reactions is a map of user ids");
      replaced.add(`${keyOf(parent.item.item.id)}/${loc.parentSub}`);
      reactionWrites.push({ located: loc, writer });
    } else {
      refuse("the update writes outside the document layout");
    }
  }

  // ---- the value each written message key ends with ----
  // A new message: Yjs keeps a map key's rightmost item, and one client writes a new message in
  // one update, each value right after the one before; any other shape lets a sender pick which
  // value stays (a deleted one placed last would drop a field), so it is refused.
  // A message the document has: only its author, or an admin deleting it, writes to it (below),
  // and their writes may meet another device's concurrent ones or come again from a stale
  // state vector, so no shape is required of them; each live value is checked, and a delete
  // range may remove the earlier values of the keys they write.
  const chains = new Map<string, { message: AnyItem; key: string; items: Y.Item[] }>();
  for (const { located: loc, message } of fieldWrites) {
    const slot = `${keyOf(message.item.id)}/${loc.parentSub}`;
    const chain = chains.get(slot) ?? { message, key: loc.parentSub as string, items: [] };
    chain.items.push(loc.item);
    chains.set(slot, chain);
  }
  /** What a written key holds after the update: its last value, or DELETED. */
  const written = new Map<string, unknown>();
  for (const [slot, { message, key, items }] of chains) {
    const entry = newMessages.get(keyOf(message.item.id));
    if (message.source === "update" && entry) {
      const last = lastOfChain(doc, items, key);
      const value = isDeleted(last) ? DELETED : anyValue(last);
      written.set(slot, value);
      if (value !== DELETED) entry.fields.set(key, value);
      continue;
    }
    const live = items.filter((item) => !isDeleted(item));
    written.set(slot, live.length > 0 ? anyValue(live[live.length - 1]) : DELETED);
    replaced.add(slot);
  }
  const writtenValue = (message: AnyItem, key: string): unknown => written.get(`${keyOf(message.item.id)}/${key}`);

  // ---- new messages: complete, owned, unique ----
  const result: NewMessageEntry[] = [];
  const seenIds = new Set<string>();
  for (const { item, fields: values } of newMessages.values()) {
    const id = values.get("id");
    const authorId = values.get("authorId");
    if (typeof id !== "string" || !MESSAGE_ID_PATTERN.test(id)) refuse("a new message needs an id of 1-64 A-Z a-z 0-9 _ -");
    if (seenIds.has(id) || ctx.messageIdTaken(id)) refuse(`message id "${id}" is already used`);
    seenIds.add(id);
    const creator = writerOf(item);
    if (authorId !== creator) refuse("a message's authorId must be its writer");
    if (values.get("kind") !== "text") refuse("clients may only create text messages");
    const createdAt = values.get("createdAt");
    if (typeof createdAt !== "number" || !Number.isFinite(createdAt)) refuse("createdAt must be a number");
    if (typeof values.get("text") !== "string") refuse("a new message needs text");
    result.push({ messageId: id, authorId: creator });
    actions.push("message.sent");
  }

  // ---- field writes ----
  for (const { located: loc, message, writer } of fieldWrites) {
    const key = loc.parentSub as string;
    const isNew = message.source === "update" && newMessages.has(keyOf(message.item.id));
    const messageMap = (message.item.content as Y.ContentType).type as Y.Map<unknown>;
    const author = isNew ? writtenValue(message, "authorId") : messageMap.get("authorId");
    if (!isMessageKey(key)) refuse(`unknown message key "${key}"`);
    if (isDeleted(loc.item)) {
      // A deleted value placed last would remove the field: nobody else may put one there.
      if (!isNew && writer !== author && !ctx.isAdmin) refuse("message fields are never removed");
      // Otherwise one replaced within this update: never seen.
      continue;
    }
    const value = anyValue(loc.item);
    switch (key) {
      case "id":
      case "authorId":
      case "kind":
      case "createdAt":
      case "replyTo":
      case "reactions":
        if (!isNew) refuse(`"${key}" is set only when a message is created`);
        if (writer !== author) refuse("only the author writes a message");
        if (key === "replyTo" && (typeof value !== "string" || !MESSAGE_ID_PATTERN.test(value))) {
          refuse("replyTo must be a message id");
        }
        if (key === "reactions" && !(loc.item.content instanceof Y.ContentType && loc.item.content.type instanceof Y.Map)) {
          refuse("reactions must be a map");
        }
        break;
      case "text": {
        const deleting = writtenValue(message, "deleted") === true || (!isNew && messageMap.get("deleted") === true);
        if (deleting) {
          // A delete clears the text (DESIGN.md layout), so whoever may delete may clear it; a
          // deleted message never gets text again.
          if (writer !== author && !ctx.isAdmin) refuse("only the author or an admin may delete a message");
          if (value !== "") refuse("a deleted message's text stays empty");
          break;
        }
        if (writer !== author) refuse("only the author may edit a message");
        if (typeof value !== "string") refuse("text must be a string");
        const problem = checkMessageText(value, ctx.limits.maxMessageChars);
        if (problem) refuse(problem);
        if (!isNew) actions.push("message.edited");
        break;
      }
      case "editedAt":
        if (writer !== author) refuse("only the author may edit a message");
        if (typeof value !== "number" || !Number.isFinite(value)) refuse("editedAt must be a number");
        break;
      case "deleted":
        if (writer !== author && !ctx.isAdmin) refuse("only the author or an admin may delete a message");
        // A message sent and deleted offline reaches the server deleted: kept as deleted.
        if (value !== true) refuse("deleted can only be true");
        actions.push("message.deleted");
        break;
      case "video":
      case "seq":
      case "serverTime":
        refuse(`"${key}" is written only by the server`);
    }
  }

  for (const { located: loc, writer } of reactionWrites) {
    if (loc.parentSub !== writer) refuse("a reaction may only be set by its user");
    const value = anyValue(loc.item);
    if (value !== DELETED && (typeof value !== "string" || value.length === 0 || value.length > 32)) {
      refuse("a reaction is one emoji");
    }
    actions.push("reaction.set");
  }

  // ---- deletions ----
  let deletes = false;
  for (const [client, ranges] of decoded.ds.clients) {
    for (const range of ranges) {
      const end = range.clock + range.len;
      if (end > (nextClock.get(client) ?? Y.getState(doc.store, client))) missing();
      if (range.clock >= Y.getState(doc.store, client)) continue; // items of this very update
      for (const item of docItemsIn(doc, client, range.clock, end)) {
        if (item.deleted) continue;
        deletes = true;
        checkDeletion(doc, item, replaced, ctx.userId);
      }
    }
  }

  return {
    actions: [...new Set(actions)],
    bindings,
    newMessages: result,
    clientId,
    changesDocument: newItems.length > 0 || deletes,
  };
}

const DELETED = Symbol("deleted");

/** The single JSON value an item holds (map entries), or DELETED. */
function anyValue(item: Y.Item | undefined): unknown {
  if (!item) return undefined;
  const content = item.content;
  if (content instanceof Y.ContentDeleted) return DELETED;
  if (content instanceof Y.ContentAny) {
    if (content.arr.length !== 1) refuse("a map entry holds one value");
    return content.arr[0];
  }
  if (content instanceof Y.ContentType) return content.type;
  refuse("unsupported content in a message");
}

/**
 * Orders the new values an update writes to one map key: each must follow the one before it
 * (its origin is that item's last clock), none may name a right neighbour, and only the first
 * may start elsewhere (at the document's value, or nowhere). Returns the last: the one Yjs keeps.
 */
function lastOfChain(doc: Y.Doc, items: readonly Y.Item[], key: string): Y.Item {
  const broken = (): never => refuse(`a message's "${key}" values must follow one another`);
  const byLastId = new Map(items.map((item) => [keyOf(lastIdOf(item)), item]));
  const next = new Map<Y.Item, Y.Item>();
  let first: Y.Item | null = null;
  for (const item of items) {
    if (item.rightOrigin !== null) broken();
    const origin = item.origin;
    if (origin === null || origin.clock < Y.getState(doc.store, origin.client)) {
      if (first !== null) broken();
      first = item;
      continue;
    }
    const before = byLastId.get(keyOf(origin));
    if (!before || next.has(before)) broken();
    next.set(before!, item);
  }
  if (first === null) broken();
  let last = first!;
  let count = 1;
  for (let item = next.get(last); item; item = next.get(item)) {
    last = item;
    count++;
  }
  if (count !== items.length) broken();
  return last;
}

const lastIdOf = (item: Y.Item): Y.ID => Y.createID(item.id.client, item.id.clock + item.length - 1);

/** Whether any clock of an item falls in an update's delete set (ranges merged, binary search). */
function deleteSetIndex(clients: Map<number, Array<{ clock: number; len: number }>>): (item: Y.Item) => boolean {
  const merged = new Map<number, Array<{ clock: number; end: number }>>();
  for (const [client, ranges] of clients) {
    const sorted = ranges.map((r) => ({ clock: r.clock, end: r.clock + r.len })).sort((a, b) => a.clock - b.clock);
    const out: Array<{ clock: number; end: number }> = [];
    for (const range of sorted) {
      const previous = out[out.length - 1];
      if (previous && range.clock <= previous.end) previous.end = Math.max(previous.end, range.end);
      else out.push(range);
    }
    merged.set(client, out);
  }
  return (item) => {
    const ranges = merged.get(item.id.client);
    if (!ranges) return false;
    const end = item.id.clock + item.length;
    let low = 0;
    let high = ranges.length - 1;
    let found = -1;
    while (low <= high) {
      const middle = (low + high) >> 1;
      if (ranges[middle]!.clock < end) {
        found = middle;
        low = middle + 1;
      } else high = middle - 1;
    }
    return found >= 0 && ranges[found]!.end > item.id.clock;
  };
}

/**
 * An item that starts at clocks the document has and goes on past them: Yjs keeps only the new
 * part and puts it right after the document's item at the clock before, wherever that is,
 * under the parent the update claims. An honest client sends this only for a run of its own
 * items that were merged into one (they share their place); anywhere else the new part would
 * land in one place while claiming another (and delete what it lands next to), so it is refused.
 */
function continuesInPlace(doc: Y.Doc, item: Y.Item, loc: Located): void {
  const before = Y.getItem(doc.store, Y.createID(item.id.client, Y.getState(doc.store, item.id.client) - 1)) as Y.Item | Y.GC;
  const place = before instanceof Y.Item ? parentOfDocItem(doc, before) : null;
  const same =
    place !== null &&
    before instanceof Y.Item &&
    before.parentSub === loc.parentSub &&
    (("root" in place && "root" in loc.parent && place.root === loc.parent.root) ||
      ("item" in place && "item" in loc.parent && keyOf(place.item.item.id) === keyOf(loc.parent.item.item.id)));
  if (!same) refuse("a change that overlaps what the server has must continue it in the same place");
}

function parentOfDocItem(doc: Y.Doc, item: Y.Item): Parent {
  const parent = item.parent as Y.AbstractType<unknown> | null;
  if (!parent) return { orphan: true };
  if (parent._item === null) return { root: Y.findRootTypeKey(parent) };
  return { item: { source: "doc", item: parent._item } };
}

type Container = "message" | "reactions" | "other";

/** What the type held by `holder` is: a message map, a message's reactions map, or neither. */
function classifyContainer(doc: Y.Doc, holder: AnyItem, locate: (item: Y.Item) => Located): Container {
  const holderLoc: Located =
    holder.source === "update"
      ? locate(holder.item)
      : { item: holder.item, parent: parentOfDocItem(doc, holder.item), parentSub: holder.item.parentSub };
  const content = holder.item.content;
  if (!(content instanceof Y.ContentType) || !(content.type instanceof Y.Map)) return "other";
  const parent = holderLoc.parent;
  if ("root" in parent) return parent.root === MESSAGES_KEY && holderLoc.parentSub === null ? "message" : "other";
  if ("item" in parent && holderLoc.parentSub === "reactions") {
    return classifyContainer(doc, parent.item, locate) === "message" ? "reactions" : "other";
  }
  return "other";
}

function* docItemsIn(doc: Y.Doc, client: number, clock: number, end: number): Generator<Y.Item> {
  const structs = doc.store.clients.get(client);
  if (!structs) return;
  for (let i = Y.findIndexSS(structs, clock); i < structs.length; i++) {
    const struct = structs[i] as Y.Item | Y.GC;
    if (struct.id.clock >= end) break;
    if (struct instanceof Y.Item) yield struct;
  }
}

function checkDeletion(doc: Y.Doc, item: Y.Item, replaced: ReadonlySet<string>, userId: UserId): void {
  const parent = item.parent as Y.AbstractType<unknown> | null;
  if (!parent) return;
  if (parent._item === null) {
    const root = Y.findRootTypeKey(parent);
    if (root === MESSAGES_KEY) refuse("messages are never removed; set deleted instead");
    if (root === READS_KEY && item.parentSub !== userId && item.right === null) {
      refuse("a read position may only be cleared by its user");
    }
    return;
  }
  const key = item.parentSub;
  if (key === null) refuse("the update deletes outside the document layout");
  // An older value of a map key that a newer one replaces may always go.
  if (item.right !== null || replaced.has(`${keyOf(parent._item.id)}/${key}`)) return;
  const holder: AnyItem = { source: "doc", item: parent._item };
  const container = classifyContainer(doc, holder, () => refuse("unexpected"));
  if (container === "reactions" && key === userId) return;
  refuse(container === "reactions" ? "a reaction may only be removed by its user" : "message fields are never removed");
}
