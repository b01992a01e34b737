/**
 * Choppy networks through the fault proxy: offline sends, constant cuts and half-open
 * connections all end with every client holding exactly the same messages, each once.
 */
import type { MessageDto } from "@wbk/shared";
import { afterEach, describe, expect, it } from "vitest";
import type { ChatClient, ConversationHandle } from "@wbk/client-sdk";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually, signUp } from "./helpers/users.js";

describe("choppy networks", () => {
  const cast = useTwoPeople();
  const cleanup: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function proxy(): Promise<FaultProxy> {
    const p = await startFaultProxy({ port: cast.server.running.port });
    cleanup.push(() => p.close());
    return p;
  }

  async function connect(url: string, user = cast.ann, conversationId = cast.conversationId, heartbeatTimeoutMs?: number) {
    const client = await clientFor(url, user, heartbeatTimeoutMs ? { heartbeatTimeoutMs } : {});
    cleanup.push(() => client.close());
    const chat = client.conversation(conversationId);
    await eventually(() => expect(chat.synced).toBe(true));
    return { client, chat };
  }

  const ids = (chat: ConversationHandle) => chat.messages.map((m) => m.id);

  async function restIds(conversationId: string): Promise<string[]> {
    const all: MessageDto[] = [];
    let after = 0;
    for (;;) {
      const page = await api<{ messages: MessageDto[]; next: number | null }>(
        cast.server.url,
        "GET",
        `/api/conversations/${conversationId}/messages?after=${after}&limit=200`,
        { token: cast.ann.token },
      );
      all.push(...page.body.messages);
      if (page.body.next === null) break;
      after = page.body.next;
    }
    expect(all.map((m) => m.seq)).toEqual(all.map((_, i) => i + 1));
    return all.map((m) => m.id);
  }

  async function newConversation(members: Array<typeof cast.ann>): Promise<string> {
    const { body } = await api<{ conversation: { id: string } }>(cast.server.url, "POST", "/api/conversations", {
      token: cast.ann.token,
      body: { title: "choppy", memberIds: members.map((m) => m.user.id) },
    });
    return body.conversation.id;
  }

  it("(a) A offline sends 50 while B online sends 50: both end with the same 100, once each", { timeout: 60_000 }, async () => {
    const conversationId = await newConversation([cast.ben]);
    const net = await proxy();
    const a = await connect(net.url, cast.ann, conversationId);
    const b = await connect(cast.server.url, cast.ben, conversationId);

    net.refuse(true);
    net.dropAll();
    await eventually(() => expect(a.client.state).not.toBe("online"));
    for (let i = 0; i < 50; i++) {
      await a.chat.send(`A offline ${i}`);
      await b.chat.send(`B online ${i}`);
    }
    expect(a.chat.messages.filter((m) => m.authorId === cast.ben.user.id)).toHaveLength(0);
    net.refuse(false);

    await eventually(() => {
      expect(ids(a.chat)).toHaveLength(100);
      expect(ids(b.chat)).toEqual(ids(a.chat));
      expect(a.chat.messages.every((m) => m.seq !== undefined)).toBe(true);
    }, 30_000);
    expect(new Set(ids(a.chat)).size).toBe(100);
    expect(await restIds(conversationId)).toEqual(ids(a.chat));
    await eventually(() =>
      expect(a.chat.messages.filter((m) => m.authorId === cast.ann.user.id).map((m) => m.delivery)).toEqual(
        Array(50).fill("stored"),
      ),
    );
  });

  it("(b) cuts every 200 ms while 3 clients send 300 messages: exact convergence", { timeout: 90_000 }, async () => {
    const carl = await signUp(cast.server.url, "Carl");
    const conversationId = await newConversation([cast.ben, carl]);
    const net = await proxy();
    const people = [cast.ann, cast.ben, carl];
    const clients: Array<{ client: ChatClient; chat: ConversationHandle }> = [];
    for (const person of people) clients.push(await connect(net.url, person, conversationId));

    const cutter = setInterval(() => net.dropAll(), 200);
    cleanup.push(async () => clearInterval(cutter));
    await Promise.all(
      clients.map(async ({ chat }, who) => {
        for (let i = 0; i < 100; i++) {
          await chat.send(`${people[who]!.user.displayName} #${i}`);
          if (i % 10 === 0) await new Promise((r) => setTimeout(r, 15));
        }
      }),
    );
    clearInterval(cutter);

    await eventually(() => {
      for (const { chat } of clients) {
        expect(ids(chat)).toHaveLength(300);
        expect(ids(chat)).toEqual(ids(clients[0]!.chat));
      }
    }, 60_000);
    expect(new Set(ids(clients[0]!.chat)).size).toBe(300);
    expect(await restIds(conversationId)).toEqual(ids(clients[0]!.chat));
  });

  it("slow and torn: throttled, delayed, and cut in the middle of frames, it still converges", { timeout: 90_000 }, async () => {
    const conversationId = await newConversation([cast.ben]);
    const net = await proxy();
    const a = await connect(net.url, cast.ann, conversationId);
    const b = await connect(cast.server.url, cast.ben, conversationId);
    net.throttle(20_000);
    net.delay(150);
    const sent: string[] = [];
    for (let round = 0; round < 6; round++) {
      // The next server-to-client bytes stop part-way through a frame, then the line drops.
      net.cutAfter(37 + round * 101);
      for (let i = 0; i < 5; i++) sent.push(await a.chat.send(`${"long line ".repeat(40)}${round}.${i}`));
      sent.push(await b.chat.send(`Ben ${round}`));
      await eventually(() => expect(net.cuts).toBe(round + 1), 20_000);
    }
    net.throttle(0);
    net.delay(0);
    await eventually(() => {
      expect(ids(a.chat)).toHaveLength(sent.length);
      expect(ids(b.chat)).toEqual(ids(a.chat));
      expect(a.chat.status.pendingCount).toBe(0);
    }, 60_000);
    expect([...ids(a.chat)].sort()).toEqual([...sent].sort());
    expect(await restIds(conversationId)).toEqual(ids(a.chat));
    expect(net.cuts).toBe(6);
  });

  it("(f) notices a half-open connection within heartbeatTimeoutMs + 1 s and recovers", { timeout: 60_000 }, async () => {
    const conversationId = await newConversation([cast.ben]);
    const net = await proxy();
    const heartbeatTimeoutMs = 3000;
    const a = await connect(net.url, cast.ann, conversationId, heartbeatTimeoutMs);
    const b = await connect(cast.server.url, cast.ben, conversationId);
    expect(a.client.state).toBe("online");

    net.stall(true);
    const stalledAt = Date.now();
    await eventually(() => expect(a.client.state).not.toBe("online"), heartbeatTimeoutMs + 3000, 50);
    const noticedAfter = Date.now() - stalledAt;
    expect(noticedAfter).toBeLessThanOrEqual(heartbeatTimeoutMs + 1000);

    const sent = await a.chat.send("written while the line was silent");
    await b.chat.send("Ben meanwhile");
    net.stall(false);
    await eventually(() => {
      expect(a.client.state).toBe("online");
      expect(ids(a.chat)).toEqual(ids(b.chat));
      expect(ids(a.chat)).toHaveLength(2);
      expect(a.chat.deliveryState(sent)).toBe("stored");
    }, 30_000);
  });
});

describe("HTTP fallback", () => {
  const cast = useTwoPeople();

  it("(g) converges over HTTP sync when WebSockets are blocked, and returns to the socket", { timeout: 90_000 }, async () => {
    const net = await startFaultProxy({ port: cast.server.running.port });
    net.blockWebSockets(true);
    const annClient = await clientFor(net.url, cast.ann);
    const benClient = await clientFor(cast.server.url, cast.ben);
    try {
      const ann = annClient.conversation(cast.conversationId);
      const ben = benClient.conversation(cast.conversationId);
      const states: string[] = [];
      annClient.on("status", ({ state }) => states.push(state));
      await eventually(() => expect(annClient.state).toBe("fallback-http"), 20_000);
      expect(ann.status.state).toBe("fallback-http");

      const fromAnn = await ann.send("over HTTP, the socket is blocked");
      const fromBen = await ben.send("over the socket");
      // Order is the server's seq: whichever arrived first.
      await eventually(() => {
        expect([...ann.messages.map((m) => m.id)].sort()).toEqual([fromAnn, fromBen].sort());
        expect(ben.messages.map((m) => m.id)).toEqual(ann.messages.map((m) => m.id));
        expect(ann.messages.map((m) => m.seq)).toEqual([1, 2]);
        expect(ann.deliveryState(fromAnn)).toBe("stored");
      }, 30_000);
      const firstTwo = ann.messages.map((m) => m.id);
      expect(ann.status.pendingCount).toBe(0);
      expect(annClient.status.lastSyncedAt).not.toBeNull();

      // The path opens again: back on the socket, still converging.
      net.blockWebSockets(false);
      await eventually(() => expect(annClient.state).toBe("online"), 40_000);
      const again = await ann.send("back on the socket");
      await eventually(() => expect(ben.messages.map((m) => m.id)).toEqual([...firstTwo, again]));
      expect(states).toContain("fallback-http");
      expect(states.at(-1)).toBe("online");
    } finally {
      await annClient.close();
      await benClient.close();
      await net.close();
    }
  });
});
