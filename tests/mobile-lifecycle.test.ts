/**
 * Scenario (i): the app drops the connection when it goes to the background and reconnects
 * when it returns, sending before, during and after. Every message arrives once, and the
 * pending count reaches 0 only when the server's own state covers the device's.
 */
import { toBase64Url } from "@wbk/shared";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { clientFor, eventually } from "./helpers/users.js";

describe("background and foreground (i)", () => {
  const cast = useTwoPeople();

  /** The server's copy, fetched over HTTP sync. */
  async function serverState(): Promise<Map<number, number>> {
    const response = await fetch(`${cast.server.url}/api/conversations/${cast.conversationId}/sync`, {
      headers: { authorization: `Bearer ${cast.ben.token}` },
    });
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await response.arrayBuffer()));
    return Y.decodeStateVector(Y.encodeStateVector(doc));
  }

  it("delivers everything once and reports pending until the server has it", { timeout: 60_000 }, async () => {
    const phone = await clientFor(cast.server.url, cast.ann);
    const chat = phone.conversation(cast.conversationId);
    await eventually(() => expect(chat.synced).toBe(true));
    const sent: string[] = [];
    for (let round = 0; round < 5; round++) {
      sent.push(await chat.send(`before background ${round}`));
      phone.disconnect();
      expect(phone.state).toBe("offline");
      sent.push(await chat.send(`in the background ${round}`));
      expect(chat.status.pendingCount).toBeGreaterThan(0);
      phone.connect();
      sent.push(await chat.send(`back in front ${round}`));
      await new Promise((r) => setTimeout(r, round * 40));
    }

    // While anything is pending, the server must be missing some of the phone's changes.
    const local = () => Y.decodeStateVector(Y.encodeStateVector(chat.ydoc));
    await eventually(async () => {
      expect(chat.status.pendingCount).toBe(0);
      const server = await serverState();
      for (const [client, clock] of local()) expect(server.get(client) ?? 0).toBeGreaterThanOrEqual(clock);
    }, 30_000);
    expect(chat.messages.map((m) => m.id)).toEqual(sent);
    expect(chat.messages.map((m) => m.seq)).toEqual(sent.map((_, i) => i + 1));
    expect(toBase64Url(Y.encodeStateVector(chat.ydoc)).length).toBeGreaterThan(0);
    await phone.close();
  });
});
