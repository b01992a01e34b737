/**
 * Presence and typing through the SDK against the real server: who has the conversation open,
 * who is typing, cleared after 5 s of silence and at once on send, gone when the other goes
 * offline; names are the server's, and a non-member sees nothing.
 */
import { memoryStorage, type ChatClient, type ConversationHandle, type PresenceState } from "@wbk/client-sdk/node";
import * as Y from "yjs";
import { afterEach, describe, expect, it } from "vitest";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { clientFor, eventually, signUp } from "./helpers/users.js";

describe("SDK presence and typing", () => {
  const cast = useTwoPeople();
  const clients: ChatClient[] = [];

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  async function open(user: "ann" | "ben"): Promise<{ client: ChatClient; chat: ConversationHandle; seen: PresenceState[] }> {
    const client = await clientFor(cast.server.url, cast[user], { storage: memoryStorage() });
    clients.push(client);
    const chat = client.conversation(cast.conversationId);
    const seen: PresenceState[] = [];
    chat.on("presence", (state) => seen.push(state));
    await eventually(() => expect(chat.synced).toBe(true));
    return { client, chat, seen };
  }
  const ann = () => ({ id: cast.ann.user.id, displayName: "Ann" });
  const ben = () => ({ id: cast.ben.user.id, displayName: "Ben" });

  it("shows who else is here, and nobody once they leave or this device goes offline", async () => {
    const a = await open("ann");
    const b = await open("ben");
    await eventually(() => expect(a.chat.presence).toEqual({ online: [ben()], typing: [] }));
    await eventually(() => expect(b.chat.presence).toEqual({ online: [ann()], typing: [] }));
    // A second device of Ann's is not "someone else" for Ann.
    const a2 = await open("ann");
    await eventually(() => expect(a2.chat.presence).toEqual({ online: [ben()], typing: [] }));
    expect(b.chat.presence.online).toEqual([ann()]);

    b.client.disconnect();
    await eventually(() => expect(b.chat.presence).toEqual({ online: [], typing: [] }));
    await eventually(() => expect(a.chat.presence).toEqual({ online: [], typing: [] }));
  });

  it("shows typing, clears it at once on send, and after 5 s of silence", { timeout: 30_000 }, async () => {
    const a = await open("ann");
    const b = await open("ben");
    await eventually(() => expect(b.chat.presence.online).toEqual([ann()]));

    a.chat.setTyping(true);
    await eventually(() => expect(b.chat.presence.typing).toEqual([ann()]));
    await a.chat.send("on my way");
    await eventually(() => expect(b.chat.presence.typing).toEqual([]));
    expect(b.chat.presence.online).toEqual([ann()]);

    // Keystrokes for 6 s keep it shown past the 5 s; then silence ends it.
    a.chat.setTyping(true);
    await eventually(() => expect(b.chat.presence.typing).toEqual([ann()]));
    const started = Date.now();
    while (Date.now() - started < 6_000) {
      a.chat.setTyping(true);
      await new Promise((r) => setTimeout(r, 500));
      expect(b.chat.presence.typing).toEqual([ann()]);
    }
    const silent = Date.now();
    await eventually(() => expect(b.chat.presence.typing).toEqual([]), 8_000);
    const clearedAfter = Date.now() - silent;
    expect(clearedAfter).toBeGreaterThanOrEqual(4_000);
    expect(b.seen.at(-1)).toEqual({ online: [ann()], typing: [] });
  });

  it("gives a non-member no presence at all", async () => {
    const eve = await signUp(cast.server.url, "Eve");
    const client = await clientFor(cast.server.url, eve, { storage: memoryStorage() });
    clients.push(client);
    const chat = client.conversation(cast.conversationId);
    const closed = new Promise<{ reason: string }>((resolve) => chat.on("closed", resolve));
    await open("ann");
    expect(await closed).toEqual({ reason: "forbidden" });
    expect(chat.presence).toEqual({ online: [], typing: [] });
  });

  it("keeps presence working after Yjs gives the document a new client id", async () => {
    const a = await open("ann");
    const b = await open("ben");
    await eventually(() => expect(b.chat.presence.online).toEqual([ann()]));
    // A remote change under the document's own client id makes Yjs pick a new one
    // (yjs/y-protocols#19: the provider's next announcement used to throw).
    const doc = a.chat.ydoc;
    const before = doc.clientID;
    const twin = new Y.Doc();
    twin.clientID = before;
    Y.applyUpdate(twin, Y.encodeStateAsUpdate(doc));
    writeRawMessage(twin, "twin-message", cast.ann.user.id, "from a twin");
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(twin, Y.encodeStateVector(doc)));
    expect(doc.clientID).not.toBe(before);

    a.client.disconnect();
    await eventually(() => expect(b.chat.presence.online).toEqual([]));
    a.client.connect();
    await eventually(() => expect(b.chat.presence.online).toEqual([ann()]), 30_000);
    a.chat.setTyping(true);
    await eventually(() => expect(b.chat.presence.typing).toEqual([ann()]));
  });
});
