/**
 * Scenario (c): the server is killed (SIGKILL) in the middle of a send storm and started
 * again on the same data. Nothing it confirmed as `stored` is lost, the clients re-send what it
 * never confirmed, and every message ends up once everywhere.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { ConversationHandle } from "@wbk/client-sdk";
import { afterAll, describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { spawnServer, type ServerProcess } from "./helpers/process.js";
import { api, clientFor, createConversation, eventually, signUp } from "./helpers/users.js";

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-crash-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe("server crash mid-stream (c)", () => {
  it("loses nothing it confirmed as stored, and the clients re-send the rest once", { timeout: 120_000 }, async () => {
    let server: ServerProcess = await spawnServer({ DATA_DIR: dataDir });
    const net = await startFaultProxy({ port: server.port });
    try {
      const ann = await signUp(server.url, "Ann");
      const ben = await signUp(server.url, "Ben");
      const { id } = await createConversation(server.url, ann, [ben]);
      const clients = [await clientFor(net.url, ann), await clientFor(net.url, ben)];
      const chats = clients.map((c) => c.conversation(id));
      await eventually(() => expect(chats.every((c) => c.synced)).toBe(true));

      const sent: string[] = [];
      let diagnostics: unknown = null;
      const events: string[] = [];
      chats.forEach((chat, i) => {
        chat.on("refused", ({ reason }) => events.push(`${i} refused ${reason}`));
        chat.on("closed", ({ reason }) => events.push(`${i} closed ${reason}`));
      });
      process.on("exit", () => undefined);
      let sending = true;
      const storm = chats.map(async (chat: ConversationHandle, who) => {
        for (let i = 0; sending || i < 60; i++) {
          sent.push(await chat.send(`${who === 0 ? "Ann" : "Ben"} ${i}`));
          await new Promise((r) => setTimeout(r, 5));
          if (i >= 150) break;
        }
      });
      await eventually(() => expect(chats[0]!.messages.filter((m) => m.delivery === "stored").length).toBeGreaterThan(20));

      expect(await server.stop("SIGKILL")).toBeNull();
      const storedAtKill = chats.flatMap((chat) => chat.messages.filter((m) => m.delivery === "stored").map((m) => m.id));
      expect(storedAtKill.length).toBeGreaterThan(20);

      server = await spawnServer({ DATA_DIR: dataDir, PORT: String(server.port) });
      sending = false;
      await Promise.all(storm);

      await eventually(() => {
        for (const chat of chats) {
          expect(chat.messages).toHaveLength(sent.length);
          expect(chat.messages.map((m) => m.id)).toEqual(chats[0]!.messages.map((m) => m.id));
          expect(chat.status.pendingCount).toBe(0);
        }
      }, 60_000);
      expect(events).toEqual([]);
      const ids = chats[0]!.messages.map((m) => m.id);
      expect(new Set(ids).size).toBe(sent.length);
      expect([...ids].sort()).toEqual([...sent].sort());
      for (const storedId of storedAtKill) expect(ids).toContain(storedId);

      const listed = await api<{ messages: Array<{ id: string; seq: number }>; next: number | null }>(
        server.url,
        "GET",
        `/api/conversations/${id}/messages?limit=200`,
        { token: ann.token },
      );
      const all = [...listed.body.messages];
      if (listed.body.next !== null) {
        const rest = await api<{ messages: Array<{ id: string; seq: number }> }>(
          server.url,
          "GET",
          `/api/conversations/${id}/messages?after=${listed.body.next}&limit=200`,
          { token: ann.token },
        );
        all.push(...rest.body.messages);
      }
      expect(all.map((m) => m.id)).toEqual(ids);
      expect(new Set(all.map((m) => m.seq)).size).toBe(ids.length);
      for (const client of clients) await client.close();
    } finally {
      await server.stop("SIGTERM");
      await net.close();
    }
    const db = new Database(path.join(dataDir, "wbk.sqlite"), { readonly: true });
    expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
    db.close();
  });
});
