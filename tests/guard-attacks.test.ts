/**
 * Hand-built Yjs updates that a hostile member could send (found by security passes): values
 * of one message key that do not form one chain (Yjs would keep another one than the guard
 * checked), a deleted value placed last to remove a field, garbage-collected or skipped ranges
 * over another member's next clocks with a delete range, and a long chain of items that used
 * to cost the guard quadratic time; and what an honest offline client writes, which must pass.
 * All go through HTTP sync, which runs the same guard as the socket.
 */
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";
import { editMessageText, findMessageMap, markMessageDeleted, readPositions, setReadPosition, type UserId } from "@wbk/shared";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, type TestUser } from "./helpers/users.js";

type Id = [client: number, clock: number];
type Struct =
  | { gc: number }
  | { skip: number }
  | { parentRoot?: string; parentId?: Id; parentSub?: string; origin?: Id; rightOrigin?: Id; value?: unknown; map?: true; deleted?: number };

/** Encodes a Yjs v1 update by hand: what no Yjs client would produce. */
function buildUpdate(clients: Array<{ client: number; clock: number; structs: Struct[] }>, ds: Array<{ client: number; ranges: Id[] }> = []): Uint8Array {
  const e = encoding.createEncoder();
  encoding.writeVarUint(e, clients.length);
  for (const { client, clock, structs } of clients) {
    encoding.writeVarUint(e, structs.length);
    encoding.writeVarUint(e, client);
    encoding.writeVarUint(e, clock);
    for (const s of structs) {
      if ("gc" in s) {
        encoding.writeUint8(e, 0);
        encoding.writeVarUint(e, s.gc);
        continue;
      }
      if ("skip" in s) {
        encoding.writeUint8(e, 10);
        encoding.writeVarUint(e, s.skip);
        continue;
      }
      const ref = s.map ? 7 : s.deleted !== undefined ? 1 : 8;
      const placed = s.origin !== undefined || s.rightOrigin !== undefined;
      encoding.writeUint8(e, ref | (s.origin ? 0x80 : 0) | (s.rightOrigin ? 0x40 : 0) | (s.parentSub !== undefined && !placed ? 0x20 : 0));
      for (const neighbour of [s.origin, s.rightOrigin]) {
        if (!neighbour) continue;
        encoding.writeVarUint(e, neighbour[0]);
        encoding.writeVarUint(e, neighbour[1]);
      }
      if (!placed) {
        if (s.parentRoot !== undefined) {
          encoding.writeVarUint(e, 1);
          encoding.writeVarString(e, s.parentRoot);
        } else {
          encoding.writeVarUint(e, 0);
          encoding.writeVarUint(e, s.parentId![0]);
          encoding.writeVarUint(e, s.parentId![1]);
        }
        if (s.parentSub !== undefined) encoding.writeVarString(e, s.parentSub);
      }
      if (s.map) encoding.writeVarUint(e, 1);
      else if (s.deleted !== undefined) encoding.writeVarUint(e, s.deleted);
      else {
        encoding.writeVarUint(e, 1);
        encoding.writeAny(e, s.value as never);
      }
    }
  }
  encoding.writeVarUint(e, ds.length);
  for (const { client, ranges } of ds) {
    encoding.writeVarUint(e, client);
    encoding.writeVarUint(e, ranges.length);
    for (const [clock, len] of ranges) {
      encoding.writeVarUint(e, clock);
      encoding.writeVarUint(e, len);
    }
  }
  return encoding.toUint8Array(e);
}

/** A new message map from `client` at clock 0 with the given fields, one item each. */
function messageStructs(client: number, fields: Array<[string, Struct]>): Struct[] {
  return [{ parentRoot: "messages", map: true }, ...fields.map(([key, s]) => ({ parentId: [client, 0] as Id, parentSub: key, ...s }))];
}

describe("hand-built updates from a hostile member", () => {
  const cast = useTwoPeople({ RATE_LIMIT_MESSAGES_PER_MIN: "0" });
  const syncPath = () => `/api/conversations/${cast.conversationId}/sync`;

  async function push(user: TestUser, update: Uint8Array) {
    const response = await fetch(`${cast.server.url}${syncPath()}`, {
      method: "POST",
      headers: { authorization: `Bearer ${user.token}`, "content-type": "application/octet-stream" },
      body: Buffer.from(update),
    });
    return { status: response.status, body: (await response.json()) as { error?: { code: string; message: string } } };
  }
  async function listed(): Promise<Array<{ id: string; authorId: string; text: string }>> {
    const { body } = await api<{ messages: Array<{ id: string; authorId: string; text: string }> }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages?limit=200`,
      { token: cast.ann.token },
    );
    return body.messages.map(({ id, authorId, text }) => ({ id, authorId, text }));
  }
  /** Ann's own replica, synced from the server, writing with her own client id. */
  async function annReplica(): Promise<Y.Doc> {
    const response = await fetch(`${cast.server.url}${syncPath()}`, { headers: { authorization: `Bearer ${cast.ann.token}` } });
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()));
    return doc;
  }
  async function annSends(doc: Y.Doc, id: string, text: string): Promise<void> {
    const before = Y.encodeStateVector(doc);
    writeRawMessage(doc, id, cast.ann.user.id, text);
    expect((await push(cast.ann, Y.encodeStateAsUpdate(doc, before))).status).toBe(200);
  }

  it("refuses a new message with two live authorIds (Yjs would keep the other one)", async () => {
    const before = await listed();
    const client = 91_000_001;
    const fields: Array<[string, Struct]> = [
      ["id", { value: "forged-1" }],
      ["authorId", { value: cast.ann.user.id }],
    ];
    const structs = messageStructs(client, fields);
    // A second authorId placed to the left of the first: Yjs keeps Ann's, a naive check reads Ben's.
    structs.push({ rightOrigin: [client, 2], value: cast.ben.user.id });
    structs.push(
      { parentId: [client, 0], parentSub: "kind", value: "text" },
      { parentId: [client, 0], parentSub: "text", value: "Ben may come to the sleepover, love Ann" },
      { parentId: [client, 0], parentSub: "createdAt", value: 1_700_000_000_000 },
    );
    const answer = await push(cast.ben, buildUpdate([{ client, clock: 0, structs }]));
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: 'a message\'s "authorId" values must follow one another' } } });
    expect(await listed()).toEqual(before);
  });

  it("refuses a new message whose text is already deleted", async () => {
    const client = 91_000_002;
    const structs = messageStructs(client, [
      ["id", { value: "no-text" }],
      ["authorId", { value: cast.ben.user.id }],
      ["kind", { value: "text" }],
      ["text", { deleted: 1 }],
      ["createdAt", { value: 1_700_000_000_000 }],
    ]);
    const answer = await push(cast.ben, buildUpdate([{ client, clock: 0, structs }]));
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "a new message needs text" } } });
  });

  /** What Yjs itself makes of an update on an empty document: the attack is real, not guessed. */
  function textAfterYjs(update: Uint8Array): unknown {
    const map = afterYjs(new Y.Doc(), update).getArray<Y.Map<unknown>>("messages").get(0);
    return map ? map.get("text") : "(no message)";
  }
  /** What Yjs itself makes of `update` on a copy of `doc`: the attack is real, not guessed. */
  function afterYjs(doc: Y.Doc, update: Uint8Array): Y.Doc {
    const copy = new Y.Doc();
    Y.applyUpdate(copy, Y.encodeStateAsUpdate(doc));
    Y.applyUpdate(copy, update);
    return copy;
  }
  const textIn = (doc: Y.Doc, id: string) => findMessageMap(doc, id)?.get("text");
  const benMessage = (client: number, id: string): Struct[] =>
    messageStructs(client, [
      ["id", { value: id }],
      ["authorId", { value: cast.ben.user.id }],
      ["kind", { value: "text" }],
      ["text", { value: "hi" }],
      ["createdAt", { value: 1_700_000_000_000 }],
    ]);

  it("refuses a new message whose text a deleted value placed after it would drop", async () => {
    const client = 91_000_005;
    // Placed right of the text (clock 4), the deleted item becomes the key's value: no text.
    const update = buildUpdate([{ client, clock: 0, structs: [...benMessage(client, "lost-text"), { origin: [client, 4], deleted: 1 }] }]);
    expect(textAfterYjs(update)).toBe(undefined);
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "a new message needs text" } } });
    expect((await listed()).map((m) => m.id)).not.toContain("lost-text");
  });

  it("refuses a new message whose last text is deleted by the same update", async () => {
    const client = 91_000_006;
    const structs = [...benMessage(client, "second-text-deleted"), { origin: [client, 4] as Id, value: "there" }];
    const update = buildUpdate([{ client, clock: 0, structs }], [{ client, ranges: [[6, 1]] }]);
    expect(textAfterYjs(update)).toBe(undefined);
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "a new message needs text" } } });
  });

  it("refuses two values of a new message's key that do not follow one another", async () => {
    const client = 91_000_007;
    // Two values both first in the key's chain: which one Yjs keeps depends on client ids.
    const structs = [...benMessage(client, "forked-text"), { parentId: [client, 0] as Id, parentSub: "text", deleted: 1 }];
    const answer = await push(cast.ben, buildUpdate([{ client, clock: 0, structs }]));
    expect(answer).toEqual({
      status: 422,
      body: { error: { code: "update_refused", message: 'a message\'s "text" values must follow one another' } },
    });
  });

  it("refuses a new message removed by the update that creates it", async () => {
    const client = 91_000_008;
    const update = buildUpdate([{ client, clock: 0, structs: benMessage(client, "born-removed") }], [{ client, ranges: [[0, 1]] }]);
    expect(textAfterYjs(update)).toBe("(no message)");
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({
      status: 422,
      body: { error: { code: "update_refused", message: "messages are never removed; set deleted instead" } },
    });
    expect((await listed()).map((m) => m.id)).not.toContain("born-removed");
  });

  /** A message of Ann's as her replica holds it, and the item of its current text. */
  async function annMessage(id: string, edits: string[] = []) {
    const doc = await annReplica();
    await annSends(doc, id, "Pick-up at five");
    const map = doc.getArray<Y.Map<unknown>>("messages").toArray().find((m) => m.get("id") === id)!;
    for (const text of edits) {
      const before = Y.encodeStateVector(doc);
      doc.transact(() => editMessageText(map, text, Date.now()));
      expect((await push(cast.ann, Y.encodeStateAsUpdate(doc, before))).status).toBe(200);
    }
    return { doc, map, text: map._map.get("text")! };
  }
  const textOf = async (id: string) => (await listed()).find((m) => m.id === id)?.text;

  it("refuses erasing a field of another member's message with a deleted value placed after it", async () => {
    const { doc, text } = await annMessage("erase-target");
    const client = 91_000_009;
    const update = buildUpdate([{ client, clock: 0, structs: [{ origin: [text.id.client, text.id.clock], deleted: 1 }] }]);
    expect(textIn(afterYjs(doc, update), "erase-target")).toBe(undefined);
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "message fields are never removed" } } });
    expect(await textOf("erase-target")).toBe("Pick-up at five");
  });

  it("accepts an author's edits sent again from a state vector the server has passed (a retried push)", async () => {
    const { doc, map } = await annMessage("retried-edit");
    const stale = Y.encodeStateVector(doc);
    map.set("text", "v1");
    expect((await push(cast.ann, Y.encodeStateAsUpdate(doc, stale))).status).toBe(200);
    // The answer was lost: the next push starts from the same state vector. Two more sets in a
    // row merge v1 and v2 into one deleted run that starts at the clock the server has.
    map.set("text", "v2");
    map.set("text", "v3");
    expect((await push(cast.ann, Y.encodeStateAsUpdate(doc, stale))).status).toBe(200);
    expect(await textOf("retried-edit")).toBe("v3");
  });

  it("judges a new item by the server's copy of its neighbour, not by the update's stale copy of it", async () => {
    const { doc, map, text } = await annMessage("shadow-target");
    const reactions = map._map.get("reactions")!.id;
    const client = 91_000_010;
    // A stale copy of Ann's text item claiming to be Ben's reaction, and a new item after it:
    // Yjs drops the copy and puts the new item after Ann's real text, as her text's new value.
    const update = buildUpdate([
      { client, clock: 0, structs: [{ origin: [text.id.client, text.id.clock], value: "Ann: I hate you all" }] },
      { client: text.id.client, clock: text.id.clock, structs: [{ parentId: [reactions.client, reactions.clock], parentSub: cast.ben.user.id, value: "x" }] },
    ]);
    expect(textIn(afterYjs(doc, update), "shadow-target")).toBe("Ann: I hate you all");
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "only the author may edit a message" } } });
    expect(await textOf("shadow-target")).toBe("Pick-up at five");
  });

  it("refuses a bare value put into the messages list next to a stale copy of a message", async () => {
    const { doc, map } = await annMessage("shadow-list");
    const reactions = map._map.get("reactions")!.id;
    const item = map._item!.id;
    const client = 91_000_011;
    const update = buildUpdate([
      { client, clock: 0, structs: [{ origin: [item.client, item.clock], value: "poison" }] },
      { client: item.client, clock: item.clock, structs: [{ parentId: [reactions.client, reactions.clock], parentSub: cast.ben.user.id, value: "x" }] },
    ]);
    expect(afterYjs(doc, update).getArray("messages").toArray()).toContain("poison");
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: "messages may only hold message maps" } } });
    expect((await listed()).map((m) => m.id)).toContain("shadow-list");
  });

  it("refuses a change overlapping the server's last clock that claims another place than that clock's", async () => {
    const client = 91_000_012;
    expect((await push(cast.ben, buildUpdate([{ client, clock: 0, structs: benMessage(client, "straddle-target") }]))).status).toBe(200);
    // The last clock Ben's message has plus one new one, as one deleted item "clearing Ben's
    // read position": Yjs would put the new clock after his message's last field and delete it.
    const update = buildUpdate([{ client, clock: 5, structs: [{ parentRoot: "reads", parentSub: cast.ben.user.id, deleted: 2 }] }]);
    const answer = await push(cast.ben, update);
    expect(answer).toEqual({
      status: 422,
      body: { error: { code: "update_refused", message: "a change that overlaps what the server has must continue it in the same place" } },
    });
    expect((await listed()).find((m) => m.id === "straddle-target")).toEqual({ id: "straddle-target", authorId: cast.ben.user.id, text: "hi" });
  });

  it("accepts a client's whole state again where merged items overlap what the server has", async () => {
    const response = await fetch(`${cast.server.url}${syncPath()}`, { headers: { authorization: `Bearer ${cast.ben.token}` } });
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()));
    const start = Y.encodeStateVector(doc);
    setReadPosition(doc, cast.ben.user.id as UserId, 1);
    expect((await push(cast.ben, Y.encodeStateAsUpdate(doc, start))).status).toBe(200);
    // Two more positions: the first two values, both replaced, merge into one deleted item that
    // starts at the clock the server has. Sent whole, as a client that lost track would.
    setReadPosition(doc, cast.ben.user.id as UserId, 2);
    setReadPosition(doc, cast.ben.user.id as UserId, 3);
    expect((await push(cast.ben, Y.encodeStateAsUpdate(doc))).status).toBe(200);
    const stored = await fetch(`${cast.server.url}${syncPath()}`, { headers: { authorization: `Bearer ${cast.ann.token}` } });
    const copy = new Y.Doc();
    Y.applyUpdate(copy, new Uint8Array(await stored.arrayBuffer()));
    expect(readPositions(copy)[cast.ben.user.id]).toBe(3);
  });

  it("refuses a read position past the newest message's seq", async () => {
    const newest = await api<{ messages: Array<{ seq: number }> }>(cast.server.url, "GET", `/api/conversations/${cast.conversationId}/messages?before=latest&limit=1`, {
      token: cast.ben.token,
    });
    const last = newest.body.messages[0]!.seq;
    const response = await fetch(`${cast.server.url}${syncPath()}`, { headers: { authorization: `Bearer ${cast.ben.token}` } });
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()));
    const pushRead = async (seq: number) => {
      const before = Y.encodeStateVector(doc);
      setReadPosition(doc, cast.ben.user.id as UserId, seq);
      return push(cast.ben, Y.encodeStateAsUpdate(doc, before));
    };
    expect(await pushRead(last + 1)).toEqual({
      status: 422,
      body: { error: { code: "update_refused", message: "a read position is at most the newest message's seq" } },
    });
    // The refused write stays in this replica only; a fresh one writes the newest seq itself.
    const fresh = new Y.Doc();
    Y.applyUpdate(fresh, new Uint8Array(await (await fetch(`${cast.server.url}${syncPath()}`, { headers: { authorization: `Bearer ${cast.ben.token}` } })).arrayBuffer()));
    const before = Y.encodeStateVector(fresh);
    setReadPosition(fresh, cast.ben.user.id as UserId, last);
    expect((await push(cast.ben, Y.encodeStateAsUpdate(fresh, before))).status).toBe(200);
  });

  it("accepts what an offline client writes: messages created, edited twice and deleted before they reach the server", async () => {
    const doc = await annReplica();
    const before = Y.encodeStateVector(doc);
    writeRawMessage(doc, "offline-edited", cast.ann.user.id, "draft");
    const messages = doc.getArray<Y.Map<unknown>>("messages");
    const edited = messages.get(messages.length - 1)!;
    // Two sets in a row: Yjs merges the two replaced values into one deleted item.
    edited.set("text", "second");
    edited.set("text", "final");
    doc.transact(() => editMessageText(edited, "final, edited", 1_700_000_000_001));
    writeRawMessage(doc, "offline-deleted", cast.ann.user.id, "oops");
    doc.transact(() => markMessageDeleted(messages.get(messages.length - 1)!));
    expect((await push(cast.ann, Y.encodeStateAsUpdate(doc, before))).status).toBe(200);
    const stored = (await listed()).filter((m) => m.id.startsWith("offline-"));
    expect(stored).toEqual([
      { id: "offline-edited", authorId: cast.ann.user.id, text: "final, edited" },
      { id: "offline-deleted", authorId: cast.ann.user.id, text: "" },
    ]);
  });

  it("a skip and a delete range over Ann's next clocks do nothing: her next messages stay", async () => {
    const doc = await annReplica();
    await annSends(doc, "ann-before-skip", "first");
    const client = doc.clientID;
    const next = Y.getState(doc.store, client);
    // Carried by a harmless message of Ben's own, so the update would be logged and replayed.
    const ben = 91_000_004;
    const own = messageStructs(ben, [
      ["id", { value: "ben-carrier" }],
      ["authorId", { value: cast.ben.user.id }],
      ["kind", { value: "text" }],
      ["text", { value: "hi" }],
      ["createdAt", { value: 1_700_000_000_000 }],
    ]);
    const attack = buildUpdate(
      [
        { client: ben, clock: 0, structs: own },
        { client, clock: next, structs: [{ skip: 1000 }] },
      ],
      [{ client, ranges: [[next, 1000]] }],
    );
    // Set aside as building on changes the server lacks: nothing is applied or logged.
    expect((await push(cast.ben, attack)).status).toBe(200);
    expect((await listed()).map((m) => m.id)).not.toContain("ben-carrier");
    await annSends(doc, "ann-after-skip-1", "second");
    await annSends(doc, "ann-after-skip-2", "third");
    const ids = (await listed()).map((m) => m.id);
    expect(ids.filter((id) => id.startsWith("ann-"))).toEqual(["ann-before-skip", "ann-after-skip-1", "ann-after-skip-2"]);
  });

  it("refuses garbage-collected clocks claimed under Ann's client id", async () => {
    const doc = await annReplica();
    await annSends(doc, "ann-before-gc", "first");
    const client = doc.clientID;
    const next = Y.getState(doc.store, client);
    const answer = await push(cast.ben, buildUpdate([{ client, clock: next, structs: [{ gc: 1000 }] }]));
    expect(answer).toEqual({ status: 422, body: { error: { code: "update_refused", message: `client id ${client} belongs to another user` } } });
    await annSends(doc, "ann-after-gc", "second");
    expect((await listed()).map((m) => m.id)).toContain("ann-after-gc");
  });

  it("checks a chain of 50,000 items in linear time", { timeout: 20_000 }, async () => {
    const client = 91_000_003;
    // One item in messages, then a chain each to the left of the previous one: deleted content,
    // so nothing new appears, but every item must be located through its neighbour.
    const structs: Struct[] = [{ parentRoot: "messages", deleted: 1 }];
    for (let clock = 1; clock < 50_000; clock++) structs.push({ rightOrigin: [client, clock - 1], deleted: 1 });
    const started = performance.now();
    const answer = await push(cast.ben, buildUpdate([{ client, clock: 0, structs }]));
    const ms = performance.now() - started;
    expect(answer.status).toBe(200);
    // Quadratic lookups took tens of seconds here; linear ones well under one.
    console.log(`guard: 50,000 chained items answered in ${Math.round(ms)} ms`);
    expect((await api(cast.server.url, "GET", "/healthz")).status).toBe(200);
  });
});
