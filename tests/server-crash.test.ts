/**
 * Durability: the server is killed with SIGKILL at seeded random moments of a send storm, ten
 * times, and started again on the same data each time. Nothing it confirmed as `stored` is
 * lost, the clients re-send what it never confirmed, every message ends up once everywhere,
 * the database passes `integrity_check` after every kill, and the documents load from their
 * snapshot plus the log rows the snapshot does not cover.
 * Replay a run with WBK_CRASH_SEED=<seed> (printed at the start).
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import type { ConversationHandle } from "@wbk/client-sdk";
import { afterAll, describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { spawnServer, type ServerProcess } from "./helpers/process.js";
import { seedFrom, seededRandom } from "./helpers/random.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const KILLS = 10;
const SEED = seedFrom("WBK_CRASH_SEED");

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-crash-"));
afterAll(() => fs.rmSync(dataDir, { recursive: true, force: true }));

interface DiskState {
  integrity: string;
  /** Log rows of the conversation that its stored snapshot does not cover. */
  rowsAfterSnapshot: number;
}

/** Reads the database file the killed server left, as the next start will. */
function inspectDisk(conversationId: string): DiskState {
  const db = new Database(path.join(dataDir, "wbk.sqlite"));
  try {
    const integrity = db.pragma("integrity_check", { simple: true }) as string;
    const covered = (db.prepare("SELECT covered_log_seq FROM snapshots WHERE conversation_id = ?").pluck().get(conversationId) as number | undefined) ?? 0;
    const rowsAfterSnapshot = db
      .prepare("SELECT count(*) FROM update_log WHERE conversation_id = ? AND log_seq > ?")
      .pluck()
      .get(conversationId, covered) as number;
    return { integrity, rowsAfterSnapshot };
  } finally {
    db.close();
  }
}

/** Every message of the conversation as the server lists it, in seq order. */
async function listAll(url: string, user: TestUser, conversationId: string): Promise<Array<{ id: string; seq: number }>> {
  const all: Array<{ id: string; seq: number }> = [];
  let after: number | null = 0;
  while (after !== null) {
    const page: { body: { messages: Array<{ id: string; seq: number }>; next: number | null } } = await api(
      url,
      "GET",
      `/api/conversations/${conversationId}/messages?after=${after}&limit=200`,
      { token: user.token },
    );
    all.push(...page.body.messages);
    after = page.body.next;
  }
  return all;
}

describe("SIGKILL during a send storm, ten times", () => {
  it("loses nothing confirmed as stored; every message ends up once; the file stays whole", { timeout: 240_000 }, async () => {
    console.log(`server-crash seed ${SEED} (WBK_CRASH_SEED=${SEED} replays it)`);
    const random = seededRandom(SEED);
    let server: ServerProcess = await spawnServer({ DATA_DIR: dataDir, RATE_LIMIT_MESSAGES_PER_MIN: "0", RATE_LIMIT_UPDATES_PER_MIN: "0", RATE_LIMIT_UPDATE_BYTES_PER_MIN: "0" });
    const port = server.port;
    const net = await startFaultProxy({ port });
    let conversationId = "";
    try {
      const ann = await signUp(server.url, "Ann");
      const ben = await signUp(server.url, "Ben");
      const { id } = await createConversation(server.url, ann, [ben]);
      conversationId = id;
      const clients = [await clientFor(net.url, ann), await clientFor(net.url, ben)];
      const chats = clients.map((c) => c.conversation(id));
      await eventually(() => expect(chats.every((c) => c.synced)).toBe(true));

      const sent: string[] = [];
      const events: string[] = [];
      chats.forEach((chat, i) => {
        chat.on("refused", ({ reason }) => events.push(`${i} refused ${reason}`));
        chat.on("closed", ({ reason }) => events.push(`${i} closed ${reason}`));
      });
      let sending = true;
      const storm = chats.map(async (chat: ConversationHandle, who) => {
        for (let i = 0; sending; i++) {
          sent.push(await chat.send(`${who === 0 ? "Ann" : "Ben"} ${i}`));
          await new Promise((r) => setTimeout(r, 5));
        }
      });

      const storedAtKills = new Set<string>();
      const disk: DiskState[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        // The server is back and takes messages again before the next kill.
        const storedBefore = chats[0]!.messages.filter((m) => m.delivery === "stored").length;
        await eventually(() => expect(chats[0]!.messages.filter((m) => m.delivery === "stored").length).toBeGreaterThan(storedBefore), 30_000);
        await new Promise((r) => setTimeout(r, Math.floor(random() * 1000)));

        expect(await server.stop("SIGKILL")).toBeNull();
        for (const chat of chats) for (const m of chat.messages) if (m.delivery === "stored") storedAtKills.add(m.id);
        disk.push(inspectDisk(id));
        server = await spawnServer({ DATA_DIR: dataDir, PORT: String(port), RATE_LIMIT_MESSAGES_PER_MIN: "0", RATE_LIMIT_UPDATES_PER_MIN: "0", RATE_LIMIT_UPDATE_BYTES_PER_MIN: "0" });
      }
      sending = false;
      await Promise.all(storm);

      expect(disk.map((d) => d.integrity)).toEqual(new Array(KILLS).fill("ok"));
      // At least one start had to replay log rows on top of the snapshot (snapshots are debounced).
      expect(disk.some((d) => d.rowsAfterSnapshot > 0)).toBe(true);

      await eventually(() => {
        for (const chat of chats) {
          expect(chat.status.pendingCount).toBe(0);
          expect(chat.messages).toHaveLength(sent.length);
          expect(chat.messages.map((m) => m.id)).toEqual(chats[0]!.messages.map((m) => m.id));
        }
      }, 60_000);
      expect(events).toEqual([]);
      const ids = chats[0]!.messages.map((m) => m.id);
      expect(new Set(ids).size).toBe(sent.length);
      expect([...ids].sort()).toEqual([...sent].sort());
      const missing = [...storedAtKills].filter((storedId) => !(ids as string[]).includes(storedId));
      expect(missing).toEqual([]);

      const listed = await listAll(server.url, ann, id);
      expect(listed.map((m) => m.id)).toEqual(ids);
      expect(listed.map((m) => m.seq)).toEqual(listed.map((_, i) => i + 1));

      // A device that never saw the conversation loads it from what the server stored.
      const fresh = await clientFor(server.url, ben);
      const freshChat = fresh.conversation(id);
      await eventually(() => expect(freshChat.messages.map((m) => m.id)).toEqual(ids), 30_000);
      await fresh.close();
      for (const client of clients) await client.close();
    } finally {
      await server.stop("SIGTERM");
      await net.close();
    }
    expect(inspectDisk(conversationId).integrity).toBe("ok");
  });
});
