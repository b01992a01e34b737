/**
 * Search in a conversation (DESIGN.md "REST API"): substrings in any script and case, newest
 * match first, a plain-text snippet with the match's offsets; the index follows every path a
 * message takes (REST, socket, HTTP sync), edits and deletes; members only.
 */
import path from "node:path";
import Database from "better-sqlite3";
import { findMessageMap, type ConversationId, type MessageDto, type SearchPage } from "@wbk/shared";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRawMessage } from "./helpers/doc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("search", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let carl: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    [ann, ben, carl] = [await signUp(server.url, "Ann"), await signUp(server.url, "Ben"), await signUp(server.url, "Carl")];
  });
  afterAll(() => server.stop());

  const post = async (user: TestUser, id: string, messageId: string, text: string) => {
    const { status, body } = await api<{ message: MessageDto }>(server.url, "POST", `/api/conversations/${id}/messages`, {
      token: user.token,
      body: { id: messageId, text },
    });
    expect(status).toBe(201);
    return body.message;
  };
  const search = (user: TestUser, id: string, query: Record<string, string>) =>
    api<SearchPage & { error?: { code: string; details?: Array<{ path: string }> } }>(
      server.url,
      "GET",
      `/api/conversations/${id}/search?${new URLSearchParams(query)}`,
      { token: user.token },
    );
  const found = async (id: string, q: string) => {
    const { status, body } = await search(ann, id, { q });
    expect(status).toBe(200);
    return body.results.map((r) => r.messageId);
  };
  const marked = (result: SearchPage["results"][number]) =>
    result.highlight && result.snippet.slice(result.highlight.start, result.highlight.end);

  it("finds words in any script and case, exactly, newest first", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const park = await post(ann, id, "park", "Let's meet at the Park tomorrow");
    const privet = await post(ben, id, "privet", "Привет, как дела?");
    const gongyuan = await post(ann, id, "gongyuan", "我们明天去公园散步吧");
    const party = await post(ben, id, "party", "Party time 🎉 tonight");
    await post(ann, id, "other", "nothing to see here");

    /** The one result expected: every field exact, the author the one who posted. */
    const only = (message: MessageDto, author: TestUser, snippet: string, start: number, end: number) => ({
      results: [
        { messageId: message.id, seq: message.seq, snippet, highlight: { start, end }, authorId: author.user.id, createdAt: message.createdAt },
      ],
      next: null,
    });
    const latin = await search(ann, id, { q: "park" });
    expect(latin.status).toBe(200);
    expect(latin.body).toEqual(only(park, ann, "Let's meet at the Park tomorrow", 18, 22));
    // Case-insensitive, trimmed.
    expect(await found(id, "  PARK ")).toEqual(["park"]);
    expect(await found(id, "pArK")).toEqual(["park"]);

    expect((await search(ann, id, { q: "привет" })).body).toEqual(only(privet, ben, "Привет, как дела?", 0, 6));
    expect(await found(id, "ДЕЛА")).toEqual(["privet"]);
    // Two letters: the LIKE path, still case-insensitive in Cyrillic.
    expect(await found(id, "ПР")).toEqual(["privet"]);

    // 公园 is two characters inside a sentence without spaces: the LIKE path.
    expect((await search(ben, id, { q: "公园" })).body).toEqual(only(gongyuan, ann, "我们明天去公园散步吧", 5, 7));
    const emoji = (await search(ann, id, { q: "🎉" })).body;
    expect(emoji).toEqual(only(party, ben, "Party time 🎉 tonight", 11, 13));
    expect(marked(emoji.results[0]!)).toBe("🎉");

    // Newest first: "a" is in several messages (LIKE), "t t" in one (trigram, across a space).
    expect(await found(id, "a")).toEqual(["party", "park"]);
    expect(await found(id, "rt")).toEqual(["party"]);
    expect(await found(id, "t t")).toEqual(["park"]);
    // Query syntax is literal: LIKE wildcards, FTS5 quotes and operators match themselves.
    for (const q of ["%", "_", "\\", '"', 'a"b', "park OR party", "NEAR(park)", "pa*", "%a%"]) {
      expect(await found(id, q), q).toEqual([]);
    }
    expect(await found(id, "nothing")).toEqual(["other"]);
  });

  it("cuts long texts into a short snippet around the first match, between whole characters", async () => {
    const { id } = await createConversation(server.url, ann, []);
    const before = "word ".repeat(30);
    await post(ann, id, "long", `${before}👨‍👩‍👧 family\npicnic${" and more".repeat(30)}`);
    const [result] = (await search(ann, id, { q: "picnic" })).body.results;
    expect(result!.snippet.startsWith("…")).toBe(true);
    expect(result!.snippet.endsWith("…")).toBe(true);
    expect(result!.snippet.length).toBeLessThanOrEqual(110);
    expect(result!.snippet).toContain("👨‍👩‍👧 family picnic and more");
    expect(marked(result!)).toBe("picnic");
    // A cut never splits the family emoji (one grapheme of several code points).
    const [emoji] = (await search(ann, id, { q: "👩" })).body.results;
    expect(emoji!.snippet).toContain("👨‍👩‍👧");
    expect(marked(emoji!)).toBe("👩");
  });

  it("pages with the cursor: every match once, newest first", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const seqs: number[] = [];
    for (let i = 1; i <= 7; i++) {
      seqs.push((await post(i % 2 ? ann : ben, id, `n${i}`, `needle number ${i}`)).seq);
      await post(ann, id, `hay${i}`, "just hay");
    }
    const pages: string[][] = [];
    let cursor: number | null = null;
    do {
      const query: Record<string, string> = { q: "needle", limit: "3" };
      if (cursor !== null) query.cursor = String(cursor);
      const { status, body } = await search(ben, id, query);
      expect(status).toBe(200);
      pages.push(body.results.map((r) => r.messageId));
      expect(body.results.map((r) => r.seq)).toEqual([...body.results.map((r) => r.seq)].sort((a, b) => b - a));
      cursor = body.next;
      if (cursor !== null) expect(cursor).toBe(body.results.at(-1)!.seq);
    } while (cursor !== null);
    expect(pages).toEqual([["n7", "n6", "n5"], ["n4", "n3", "n2"], ["n1"]]);
    // The same with the LIKE path.
    const first = await search(ben, id, { q: "ne", limit: "4" });
    expect(first.body.results.map((r) => r.messageId)).toEqual(["n7", "n6", "n5", "n4"]);
    const second = await search(ben, id, { q: "ne", limit: "4", cursor: String(first.body.next) });
    expect(second.body).toMatchObject({ next: null });
    expect(second.body.results.map((r) => r.messageId)).toEqual(["n3", "n2", "n1"]);
    expect(seqs).toHaveLength(7);
  });

  it("follows the socket and HTTP sync, edits and deletes", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const client = await clientFor(server.url, ann);
    const chat = client.conversation(id);
    await chat.send("sent over the socket: marmalade");
    await eventually(async () => expect(await found(id, "marmalade")).toHaveLength(1));

    // HTTP sync: a message written into a fresh copy and pushed as a Yjs update.
    const doc = new Y.Doc();
    writeRawMessage(doc, "over-http", ben.user.id, "pushed over HTTP: quince");
    const pushed = await fetch(`${server.url}/api/conversations/${id}/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${ben.token}`, "content-type": "application/octet-stream" },
      body: Y.encodeStateAsUpdate(doc) as Uint8Array<ArrayBuffer>,
    });
    expect(pushed.status).toBe(200);
    expect(await found(id, "quince")).toEqual(["over-http"]);

    await post(ann, id, "edit-me", "the old wording: rhubarb");
    await eventually(() => expect(findMessageMap(chat.ydoc, "edit-me")).toBeDefined());
    chat.ydoc.transact(() => {
      const map = findMessageMap(chat.ydoc, "edit-me")!;
      map.set("text", "the new wording: gooseberry");
      map.set("editedAt", Date.now());
    });
    await eventually(async () => expect(await found(id, "gooseberry")).toEqual(["edit-me"]));
    expect(await found(id, "rhubarb")).toEqual([]);
    expect(await found(id, "wording")).toEqual(["edit-me"]);

    chat.ydoc.transact(() => {
      const map = findMessageMap(chat.ydoc, "edit-me")!;
      map.set("deleted", true);
      map.set("text", "");
    });
    await eventually(async () => {
      const list = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ben.token });
      expect(list.body.messages.find((m) => m.id === "edit-me")?.deleted).toBe(true);
    });
    expect(await found(id, "gooseberry")).toEqual([]);
    expect(await found(id, "wording")).toEqual([]);
    expect(await found(id, "g")).toEqual([]);
    expect(await found(id, "marmalade")).toHaveLength(1);
    await client.close();
  });

  it("answers members only, and refuses empty or overlong queries", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    await post(ann, id, "secret", "only for the family");
    const outsider = await search(carl, id, { q: "family" });
    expect(outsider.status).toBe(403);
    expect(outsider.body.error?.code).toBe("forbidden");
    expect((await search(carl, "no-such-conversation", { q: "family" })).status).toBe(404);
    expect((await api(server.url, "GET", `/api/conversations/${id}/search?q=family`)).status).toBe(401);
    for (const query of [{ q: "" }, { q: "   " }, {}, { q: "x".repeat(201) }, { q: "a\u0000b" }, { q: "family", cursor: "-1" }, { q: "family", limit: "0" }]) {
      const refused = await search(ann, id, query as Record<string, string>);
      expect(refused.status, JSON.stringify(query)).toBe(400);
      expect(refused.body.error?.code).toBe("validation_failed");
    }
    expect((await search(ann, id, { q: ` ${"y".repeat(200)} ` })).status).toBe(200);
    expect(await found(id, "family")).toEqual(["secret"]);

    // Declared in /api/openapi.json with its query and answers.
    const spec = (await api<{ paths: Record<string, Record<string, { parameters: Array<{ name: string; in: string; required?: boolean }>; responses: object }>> }>(
      server.url,
      "GET",
      "/api/openapi.json",
    )).body;
    const operation = spec.paths["/api/conversations/{id}/search"]!.get!;
    expect(operation.parameters.map((p) => [p.in, p.name, p.required ?? false]).sort()).toEqual([
      ["path", "id", true],
      ["query", "cursor", false],
      ["query", "limit", false],
      ["query", "q", true],
    ]);
    expect(Object.keys(operation.responses).sort()).toEqual(["200", "400", "401", "403", "404"]);
  });

  it("indexes a database from before search, in the background and on the first search", async () => {
    const { id } = await createConversation(server.url, ann, [ben]);
    const client = await clientFor(server.url, ann);
    const chat = client.conversation(id);
    await chat.send("written before the upgrade: elderflower");
    await post(ben, id, "rest-old", "also old: 公园");
    await eventually(() => expect(chat.messages.filter((m) => m.authorId === ann.user.id).map((m) => m.delivery)).toEqual(["stored"]));
    await client.close();
    const { id: other } = await createConversation(server.url, ben, []);
    await post(ben, other, "other-old", "elderflower elsewhere");

    // What migration 5 leaves of a database from before search: an empty index and every
    // conversation marked stale (message text lived only in the documents).
    await server.running.close();
    const db = new Database(path.join(server.dataDir, "wbk.sqlite"));
    db.exec(`DELETE FROM search_text; DELETE FROM search_messages;
             INSERT OR IGNORE INTO search_stale (conversation_id) SELECT id FROM conversations ORDER BY created_at;`);
    db.close();

    await server.restart();
    // The background rebuild indexes every conversation; a search does not wait for it.
    expect(await found(id, "elderflower")).toHaveLength(1);
    expect(await found(id, "公园")).toEqual(["rest-old"]);
    await eventually(() => expect(server.running.storage.search.stale()).toEqual([]));
    const theirs = await search(ben, other, { q: "elderflower" });
    expect(theirs.body.results.map((r) => r.messageId)).toEqual(["other-old"]);
    expect(server.running.storage.search.isStale(id as ConversationId)).toBe(false);
  });
});
