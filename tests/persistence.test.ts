/**
 * Document lifecycle on the server: a document that fails to load is never stored and is
 * unloaded at once while clients retry; a failed snapshot keeps the document in memory and is
 * retried until it succeeds; SIGTERM stores every open document before the process exits.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { documentName, type ConversationId, type MessageDto } from "@wbk/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnServer } from "./helpers/process.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("document persistence", () => {
  let server: TestServer;
  let ann: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    ann = await signUp(server.url, "Ann");
  });
  afterAll(() => server.stop());

  const post = (id: string, messageId: string, text: string) =>
    api<{ message: MessageDto }>(server.url, "POST", `/api/conversations/${id}/messages`, {
      token: ann.token,
      body: { id: messageId, text },
    });

  it("never stores a document whose load failed, unloads it, and clients get in once it loads", async () => {
    const { id } = await createConversation(server.url, ann, []);
    const conversationId = id as ConversationId;
    expect((await post(id, "m1", "kept safe")).status).toBe(201);
    const { storage, hocuspocus } = server.running;
    await eventually(() => {
      expect(storage.snapshots.get(conversationId)).not.toBeUndefined();
      expect(hocuspocus.documents.has(documentName(id))).toBe(false);
    });
    const good = storage.snapshots.get(conversationId)!;
    const garbage = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    storage.snapshots.put(conversationId, garbage, good.coveredLogSeq);

    const failed = await api<{ error: { code: string; message: string } }>(server.url, "GET", `/api/conversations/${id}/messages`, {
      token: ann.token,
    });
    expect(failed.status).toBe(503);
    expect(failed.body.error).toEqual({ code: "load_failed", message: "the conversation could not be loaded; try again" });

    const client = await clientFor(server.url, ann);
    const chat = client.conversation(id);
    await new Promise((r) => setTimeout(r, 1500)); // at least one refused open and one retry
    expect(chat.messages).toEqual([]);
    expect(hocuspocus.documents.has(documentName(id))).toBe(false);
    expect(storage.snapshots.get(conversationId)?.state).toEqual(garbage);

    storage.snapshots.put(conversationId, good.state, good.coveredLogSeq);
    await eventually(() => expect(chat.messages.map((m) => m.text)).toEqual(["kept safe"]), 10_000);
    await client.close();
  });

  it("keeps a document whose snapshot failed in memory and retries until one is stored", async () => {
    const { id } = await createConversation(server.url, ann, []);
    const conversationId = id as ConversationId;
    const { storage, hocuspocus } = server.running;
    const realPut = storage.snapshots.put;
    let failures = 0;
    storage.snapshots.put = () => {
      failures += 1;
      throw new Error("disk full (test)");
    };
    try {
      const client = await clientFor(server.url, ann);
      const chat = client.conversation(id);
      await chat.send("written while the disk is full");
      await eventually(() => expect(chat.messages[0]?.delivery).toBe("stored"));
      await client.close();
      // The last connection left: the store runs, fails, and is retried; the document stays.
      await eventually(() => expect(failures).toBeGreaterThanOrEqual(2), 10_000);
      expect(hocuspocus.documents.has(documentName(id))).toBe(true);
      expect(storage.snapshots.get(conversationId)).toBeUndefined();
    } finally {
      storage.snapshots.put = realPut;
    }
    await eventually(() => {
      expect(storage.snapshots.get(conversationId)).not.toBeUndefined();
      expect(hocuspocus.documents.has(documentName(id))).toBe(false);
    }, 15_000);
    const listed = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ann.token });
    expect(listed.body.messages.map((m) => m.text)).toEqual(["written while the disk is full"]);
  });
});

describe("shutdown", () => {
  it("stores every open document on SIGTERM before exiting", { timeout: 60_000 }, async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-sigterm-"));
    const server = await spawnServer({ DATA_DIR: dataDir });
    try {
      const url = server.url;
      const ann = await signUp(url, "Ann");
      const { id } = await createConversation(url, ann, []);
      const client = await clientFor(url, ann);
      const chat = client.conversation(id);
      await chat.send("said just before the server stopped");
      await eventually(() => expect(chat.messages[0]?.delivery).toBe("stored"));

      expect(await server.stop("SIGTERM")).toBe(0);
      await client.close();

      const db = new Database(path.join(dataDir, "wbk.sqlite"), { readonly: true });
      const snapshot = db.prepare("SELECT covered_log_seq FROM snapshots WHERE conversation_id = ?").get(id) as
        | { covered_log_seq: number }
        | undefined;
      const last = db.prepare("SELECT MAX(log_seq) AS n FROM update_log WHERE conversation_id = ?").get(id) as { n: number };
      const kept = db.prepare("SELECT COUNT(*) AS n FROM update_log WHERE conversation_id = ? AND bytes IS NOT NULL").get(id) as {
        n: number;
      };
      db.close();
      expect(last.n).toBe(2); // the message, then its seq stamp
      expect(snapshot?.covered_log_seq).toBe(2);
      expect(kept.n).toBe(0);
      expect(server.output()).toContain("stopped; every open document stored");
    } finally {
      await server.stop("SIGKILL");
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
