/**
 * A deleted message's text leaves the server once the delete is stored (DESIGN.md "Update log
 * and delivery"): not in the update log's bytes, the snapshot, the search index, nor anywhere
 * in the SQLite files; a client that loads the conversation afresh never sees it. The author
 * and an admin may delete; anyone else's attempt is refused and the text stays.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import type { ChatClient } from "@wbk/client-sdk";
import { sqliteStorage } from "@wbk/server";
import { findMessageMap, type AuthResult, type ConversationId, type MessageDto, type SearchPage, type UserId } from "@wbk/shared";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const ADMIN_EMAIL = `admin-${randomBytes(4).toString("hex")}@example.com`;

/** A string found nowhere else: no other text in this file shares its letters in a row. */
const newMarker = () => `Zq${randomBytes(9).toString("hex")}Xj`;

describe("deleted text is purged", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let admin: TestUser;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    // No debounced snapshot on its own: every snapshot in these tests is one a test caused.
    server = await startTestServer({ ADMIN_EMAILS: ADMIN_EMAIL }, { storeDebounceMs: 60_000 });
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
    const password = "correct horse battery";
    const registered = await api<AuthResult>(server.url, "POST", "/api/auth/register", {
      body: { email: ADMIN_EMAIL, password, displayName: "Admin" },
    });
    expect(registered.status).toBe(201);
    admin = { ...registered.body, email: ADMIN_EMAIL, password };
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server.stop();
  });

  const dbFile = () => path.join(server.dataDir, "wbk.sqlite");

  /** Tables holding the marker (as written or folded by the index), read through SQLite. */
  function tablesWith(marker: string): string[] {
    const needles = [marker, marker.toLowerCase()].map((s) => Buffer.from(s, "utf8"));
    const db = new Database(dbFile());
    try {
      const found = new Set<string>();
      const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
      for (const table of tables) {
        for (const row of db.prepare(`SELECT * FROM "${table}"`).raw().all() as unknown[][]) {
          for (const value of row) {
            if (value === null || value === undefined) continue;
            const bytes = Buffer.isBuffer(value) ? value : Buffer.from(String(value), "utf8");
            if (needles.some((needle) => bytes.includes(needle))) found.add(table);
          }
        }
      }
      return [...found].sort();
    } finally {
      db.close();
    }
  }

  /** Trigram index entries of one indexed row (fts5vocab 'instance': every token occurrence). */
  function indexEntriesOf(rowid: number): number {
    const db = new Database(dbFile());
    try {
      db.exec("CREATE VIRTUAL TABLE temp.vocab USING fts5vocab(main, search_text, 'instance')");
      return db.prepare("SELECT COUNT(*) FROM temp.vocab WHERE doc = ?").pluck().get(rowid) as number;
    } finally {
      db.close();
    }
  }

  const rowidOf = (conversationId: string, messageId: string) => {
    const db = new Database(dbFile());
    try {
      return db
        .prepare("SELECT id FROM search_messages WHERE conversation_id = ? AND message_id = ?")
        .pluck()
        .get(conversationId, messageId) as number | undefined;
    } finally {
      db.close();
    }
  };

  /** The raw bytes of the database file and its WAL (after the server's checkpoint). */
  function filesWith(marker: string): string[] {
    const needles = [marker, marker.toLowerCase()].map((s) => Buffer.from(s, "utf8"));
    return [dbFile(), `${dbFile()}-wal`, `${dbFile()}-shm`]
      .filter((file) => fs.existsSync(file))
      .filter((file) => {
        const bytes = fs.readFileSync(file);
        return needles.some((needle) => bytes.includes(needle));
      })
      .map((file) => path.basename(file));
  }

  const searchFor = async (user: TestUser, id: string, q: string) =>
    (await api<SearchPage>(server.url, "GET", `/api/conversations/${id}/search?q=${encodeURIComponent(q)}`, { token: user.token }))
      .body.results.map((r) => r.messageId);
  const messageOf = async (id: string, messageId: string) =>
    (await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ann.token })).body.messages.find(
      (m) => m.id === messageId,
    );
  const open = async (user: TestUser, id: string) => {
    // After a restart the first requests may meet kept-alive sockets of the stopped server.
    const client = await eventually(() => clientFor(server.url, user));
    clients.push(client);
    const chat = client.conversation(id);
    await eventually(() => expect(chat.synced).toBe(true));
    return chat;
  };
  /** The whole document as a fresh client gets it over HTTP sync. */
  const wholeDocument = async (user: TestUser, id: string) => {
    const response = await fetch(`${server.url}/api/conversations/${id}/sync`, { headers: { authorization: `Bearer ${user.token}` } });
    expect(response.status).toBe(200);
    return Buffer.from(await response.arrayBuffer());
  };

  /** Writes a message with the marker and waits until the server's copy has it indexed. */
  async function sendMarked(chat: Awaited<ReturnType<typeof open>>, id: string, marker: string): Promise<string> {
    const messageId = await chat.send(`the secret is ${marker}, keep it`);
    await eventually(async () => expect(await searchFor(ann, id, marker)).toEqual([messageId]));
    await eventually(() => expect(chat.deliveryState(messageId)).toBe("stored"));
    return messageId;
  }

  async function expectPurged(id: string, messageId: string, marker: string, rowid: number): Promise<void> {
    await eventually(async () => expect((await messageOf(id, messageId))?.deleted).toBe(true));
    await eventually(() => expect(tablesWith(marker)).toEqual([]));
    expect(await searchFor(ann, id, marker)).toEqual([]);
    expect(await searchFor(ann, id, marker.slice(0, 2))).toEqual([]);
    expect(indexEntriesOf(rowid)).toBe(0);
    // The server checkpoints the WAL after a purge: no page image of the text is left in either file.
    await eventually(() => expect(filesWith(marker)).toEqual([]));
    const message = await messageOf(id, messageId);
    expect(message).toMatchObject({ deleted: true, text: "" });
    expect((await wholeDocument(ben, id)).includes(Buffer.from(marker))).toBe(false);
  }

  it("purges the author's delete from the log bytes, the snapshot, the index and the files", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const marker = newMarker();
    let chat = await open(ann, id);
    const messageId = await sendMarked(chat, id, marker);
    // The text is in the log row's bytes and the index; no snapshot yet.
    expect(tablesWith(marker)).toEqual(["search_text", "search_text_content", "update_log"]);

    // A restart stores a snapshot with the text and drops the log bytes; an edit then puts the
    // (edited) text in a log row again: the text now lives in all three places.
    await server.restart();
    expect(tablesWith(marker)).toEqual(["search_text", "search_text_content", "snapshots"]);
    chat = await open(ann, id);
    chat.ydoc.transact(() => {
      const map = findMessageMap(chat.ydoc, messageId)!;
      map.set("text", `edited, still ${marker}`);
      map.set("editedAt", Date.now());
    });
    await eventually(async () => expect((await messageOf(id, messageId))?.text).toBe(`edited, still ${marker}`));
    expect(tablesWith(marker)).toEqual(["search_text", "search_text_content", "snapshots", "update_log"]);
    const rowid = rowidOf(id, messageId)!;
    expect(indexEntriesOf(rowid)).toBeGreaterThan(0);

    const otherId = await chat.send("an unrelated message stays");
    chat.ydoc.transact(() => {
      const map = findMessageMap(chat.ydoc, messageId)!;
      map.set("deleted", true);
      map.set("text", "");
    });
    await expectPurged(id, messageId, marker, rowid);
    // Everything else is intact, and a client that loads afresh gets the deleted message without text.
    expect((await messageOf(id, otherId))?.text).toBe("an unrelated message stays");
    const fresh = await open(ben, id);
    await eventually(() => expect(fresh.messages.find((m) => m.id === messageId)).toMatchObject({ deleted: true, text: "" }));
    expect(Buffer.from(Y.encodeStateAsUpdate(fresh.ydoc)).includes(Buffer.from(marker))).toBe(false);
    // Nothing is lost across another restart: the purge snapshot plus the log load the same document.
    await server.restart();
    expect((await messageOf(id, messageId))).toMatchObject({ deleted: true, text: "" });
    expect((await messageOf(id, otherId))?.text).toBe("an unrelated message stays");
    expect(tablesWith(marker)).toEqual([]);
  });

  it("purges an admin's delete the same way", async () => {
    const { id } = await createConversation(server.url, ann, [ben, admin]);
    const marker = newMarker();
    const messageId = await sendMarked(await open(ann, id), id, marker);
    const rowid = rowidOf(id, messageId)!;
    const adminChat = await open(admin, id);
    await eventually(() => expect(findMessageMap(adminChat.ydoc, messageId)).toBeDefined());
    adminChat.ydoc.transact(() => {
      const map = findMessageMap(adminChat.ydoc, messageId)!;
      map.set("deleted", true);
      map.set("text", "");
    });
    await expectPurged(id, messageId, marker, rowid);
  });

  it("clears the text itself when a delete leaves it (only `deleted` set), then purges", async () => {
    const { id } = await createConversation(server.url, ann, [ben, admin]);
    const marker = newMarker();
    const annChat = await open(ann, id);
    const messageId = await sendMarked(annChat, id, marker);
    const rowid = rowidOf(id, messageId)!;
    const adminChat = await open(admin, id);
    await eventually(() => expect(findMessageMap(adminChat.ydoc, messageId)).toBeDefined());
    findMessageMap(adminChat.ydoc, messageId)!.set("deleted", true);
    await expectPurged(id, messageId, marker, rowid);
    // The server's clearing write reached the clients too.
    await eventually(() => expect(annChat.messages.find((m) => m.id === messageId)).toMatchObject({ deleted: true, text: "" }));
  });

  it("purges, when its document loads, a deleted message still holding its text (an admin's delete before this release)", async () => {
    const { id } = await createConversation(server.url, ann, [ben, admin]);
    const marker = newMarker();
    const messageId = await sendMarked(await open(ann, id), id, marker);
    const rowid = rowidOf(id, messageId)!;
    await server.running.close();
    // What an admin's delete stored before: `deleted` set, the text left in place.
    const storage = sqliteStorage(dbFile());
    const conversationId = id as ConversationId;
    const doc = new Y.Doc();
    const snapshot = storage.snapshots.get(conversationId);
    for (const update of [...(snapshot ? [snapshot.state] : []), ...storage.log.updatesSince(conversationId, snapshot?.coveredLogSeq ?? 0)]) {
      Y.applyUpdate(doc, update);
    }
    const before = Y.encodeStateVector(doc);
    findMessageMap(doc, messageId)!.set("deleted", true);
    storage.log.append({
      conversationId,
      userId: admin.user.id as UserId,
      clientId: doc.clientID,
      serverTime: Date.now(),
      update: Y.encodeStateAsUpdate(doc, before),
      actions: ["message.deleted"],
      bindings: new Map([[doc.clientID, { userId: admin.user.id as UserId, nextClock: Y.getState(doc.store, doc.clientID) }]]),
      newMessages: [],
    });
    storage.close();
    await server.restart();
    expect(tablesWith(marker).length).toBeGreaterThan(0);
    // Listing the messages loads the document: the server clears the text and purges it.
    await expectPurged(id, messageId, marker, rowid);
  });

  it("refuses another member's delete, and the text stays everywhere", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const marker = newMarker();
    const messageId = await sendMarked(await open(ann, id), id, marker);
    const benChat = await open(ben, id);
    const refusals: string[] = [];
    benChat.on("refused", ({ reason }) => refusals.push(reason));
    await eventually(() => expect(findMessageMap(benChat.ydoc, messageId)).toBeDefined());
    benChat.ydoc.transact(() => {
      const map = findMessageMap(benChat.ydoc, messageId)!;
      map.set("deleted", true);
      map.set("text", "");
    });
    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    // Ben's reloaded copy has the text back; the server never changed.
    await eventually(() => expect(benChat.messages.find((m) => m.id === messageId)?.text).toContain(marker));
    expect((await messageOf(id, messageId))?.deleted).toBeUndefined();
    expect(await searchFor(ben, id, marker)).toEqual([messageId]);
    expect(tablesWith(marker)).toEqual(["search_text", "search_text_content", "update_log"]);
  });
});
