/**
 * A seeded random soak: 5 clients, each behind its own fault proxy, send at random while their
 * connections are dropped, stalled, delayed, refused and paused at random. At the end every
 * sent message is present exactly once and all replicas, and the server's REST pages, agree.
 *
 * WBK_SOAK_SEED replays a run; WBK_SOAK_ITERATIONS (default 2000) and WBK_SOAK_MS (default
 * 40000) bound it. The seed is printed, and named in every failure.
 */
import type { ChatClient, ConversationHandle } from "@wbk/client-sdk";
import { describe, expect, it } from "vitest";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { seededRandom as random, seedFrom } from "./helpers/random.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const SEED = seedFrom("WBK_SOAK_SEED");
const ITERATIONS = Number(process.env.WBK_SOAK_ITERATIONS ?? 2000);
const DURATION_MS = Number(process.env.WBK_SOAK_MS ?? 40_000);

describe(`seeded soak (seed ${SEED})`, () => {
  const cast = useTwoPeople();

  it("ends with every message exactly once in every replica", { timeout: DURATION_MS + 120_000 }, async () => {
    console.log(`soak seed ${SEED}: replay with WBK_SOAK_SEED=${SEED}`);
    const rand = random(SEED);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
    const people: TestUser[] = [cast.ann, cast.ben, await signUp(cast.server.url, "Carl"), await signUp(cast.server.url, "Dana"), await signUp(cast.server.url, "Eve")];
    const { id } = await createConversation(cast.server.url, cast.ann, people.slice(1), "soak");
    const proxies: FaultProxy[] = [];
    const clients: ChatClient[] = [];
    const chats: ConversationHandle[] = [];
    const sent: string[] = [];
    let iterations = 0;
    try {
      for (const person of people) {
        const proxy = await startFaultProxy({ port: cast.server.running.port });
        proxies.push(proxy);
        const client = await clientFor(proxy.url, person, { heartbeatTimeoutMs: 3000 });
        clients.push(client);
        chats.push(client.conversation(id));
      }
      await eventually(() => expect(chats.every((c) => c.synced)).toBe(true));

      const started = Date.now();
      const sends: Array<Promise<void>> = [];
      while (iterations < ITERATIONS && Date.now() - started < DURATION_MS) {
        iterations += 1;
        const who = Math.floor(rand() * people.length);
        const proxy = proxies[who]!;
        const roll = rand();
        if (roll < 0.7) {
          sends.push(chats[who]!.send(`#${iterations} from ${who}`).then((messageId) => void sent.push(messageId)));
        } else if (roll < 0.8) {
          proxy.dropAll();
        } else if (roll < 0.85) {
          proxy.stall(rand() < 0.5);
        } else if (roll < 0.9) {
          proxy.refuse(rand() < 0.5);
          if (rand() < 0.5) proxy.dropAll();
        } else if (roll < 0.95) {
          proxy.delay(pick([0, 0, 20, 100, 300]));
        } else if (rand() < 0.5) {
          clients[who]!.disconnect();
        } else {
          clients[who]!.connect();
        }
        await new Promise((r) => setTimeout(r, Math.floor(rand() * 30)));
      }
      await Promise.all(sends);

      // Heal everything, then everyone must agree.
      for (const proxy of proxies) {
        proxy.stall(false);
        proxy.refuse(false);
        proxy.delay(0);
      }
      for (const client of clients) client.connect();
      await eventually(
        () => {
          for (const chat of chats) {
            expect(chat.messages.length, `seed ${SEED}`).toBe(sent.length);
            expect(chat.messages.map((m) => m.id), `seed ${SEED}`).toEqual(chats[0]!.messages.map((m) => m.id));
            expect(chat.status.pendingCount, `seed ${SEED}`).toBe(0);
          }
        },
        90_000,
        200,
      );
      const ids = chats[0]!.messages.map((m) => m.id);
      expect(new Set(ids).size, `seed ${SEED}: doubles`).toBe(sent.length);
      expect([...ids].sort(), `seed ${SEED}: losses`).toEqual([...sent].sort());
      expect(chats[0]!.messages.map((m) => m.seq), `seed ${SEED}`).toEqual(ids.map((_, i) => i + 1));

      const listed: string[] = [];
      let after = 0;
      for (;;) {
        const page = await api<{ messages: Array<{ id: string }>; next: number | null }>(
          cast.server.url,
          "GET",
          `/api/conversations/${id}/messages?after=${after}&limit=200`,
          { token: cast.ann.token },
        );
        listed.push(...page.body.messages.map((m) => m.id));
        if (page.body.next === null) break;
        after = page.body.next;
      }
      expect(listed, `seed ${SEED}`).toEqual(ids);
      console.log(`soak seed ${SEED}: ${iterations} iterations, ${sent.length} messages, 0 lost, 0 doubled`);
    } finally {
      for (const client of clients) await client.close();
      for (const proxy of proxies) await proxy.close();
    }
  });
});
