/**
 * REST "last seen" sync for clients without Yjs: paging with `after=<seq>` while others send,
 * including messages written offline long before and merged only now, misses nothing and
 * sees nothing twice.
 */
import { describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually } from "./helpers/users.js";

describe("REST paging by seq under concurrent and offline writes", () => {
  const cast = useTwoPeople();

  it("a pager following after=<seq> gets every message once", { timeout: 90_000 }, async () => {
    const net = await startFaultProxy({ port: cast.server.running.port });
    const annClient = await clientFor(net.url, cast.ann);
    const benClient = await clientFor(cast.server.url, cast.ben);
    const seen: string[] = [];
    let cursor = 0;
    let paging = true;
    const pager = (async () => {
      while (paging) {
        const { body } = await api<{ messages: Array<{ id: string; seq: number }>; next: number | null }>(
          cast.server.url,
          "GET",
          `/api/conversations/${cast.conversationId}/messages?after=${cursor}&limit=7`,
          { token: cast.ben.token },
        );
        seen.push(...body.messages.map((m) => m.id));
        cursor = body.messages.at(-1)?.seq ?? cursor;
        if (body.next === null) await new Promise((r) => setTimeout(r, 30));
      }
    })();
    try {
      const ann = annClient.conversation(cast.conversationId);
      const ben = benClient.conversation(cast.conversationId);
      await eventually(() => expect(ann.synced && ben.synced).toBe(true));

      // Ann goes offline and writes a backlog; Ben keeps sending meanwhile.
      net.refuse(true);
      net.dropAll();
      const backlog: string[] = [];
      for (let i = 0; i < 20; i++) backlog.push(await ann.send(`written in the tunnel ${i}`));
      const live: string[] = [];
      for (let i = 0; i < 30; i++) {
        live.push(await ben.send(`live ${i}`));
        await new Promise((r) => setTimeout(r, 10));
      }
      // The backlog merges now, long after it was written, while Ben is still sending.
      net.refuse(false);
      for (let i = 30; i < 45; i++) {
        live.push(await ben.send(`live ${i}`));
        await new Promise((r) => setTimeout(r, 10));
      }
      await eventually(() => expect(ann.status.pendingCount).toBe(0), 30_000);
      await eventually(() => expect(seen).toHaveLength(65), 10_000);
      paging = false;
      await pager;

      expect(new Set(seen).size).toBe(65);
      expect([...seen].sort()).toEqual([...backlog, ...live].sort());
      expect(seen).toEqual(ben.messages.map((m) => m.id));
      // Backlog messages carry their old createdAt but a new seq: order is by seq, not by clock.
      const firstBacklog = ben.messages.findIndex((m) => m.id === backlog[0]);
      expect(firstBacklog).toBeGreaterThan(0);
    } finally {
      paging = false;
      await pager.catch(() => undefined);
      await annClient.close();
      await benClient.close();
      await net.close();
    }
  });
});
