/**
 * History in pages over 5,000 messages: the SDK shows the newest 50 first and `loadOlder`
 * pages back; `GET …/messages?before=` does the same for apps without Yjs. Each message comes
 * back exactly once, in order.
 */
import type { MessageDto } from "@wbk/shared";
import { memoryStorage, type ChatClient } from "@wbk/client-sdk/node";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually } from "./helpers/users.js";

const COUNT = 5_000;
const idOf = (i: number) => `h${String(i).padStart(4, "0")}`;
const expectedIds = Array.from({ length: COUNT }, (_, i) => idOf(i));

describe("history in pages", () => {
  const cast = useTwoPeople();
  let client: ChatClient;

  beforeAll(async () => {
    // Ann's 5,000 messages in one update (what a long offline spell sends), in order.
    const doc = new Y.Doc();
    for (let i = 0; i < COUNT; i++) writeRawMessage(doc, idOf(i), cast.ann.user.id, `message ${i}`);
    const response = await fetch(`${cast.server.url}/api/conversations/${cast.conversationId}/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${cast.ann.token}`, "content-type": "application/octet-stream" },
      body: Buffer.from(Y.encodeStateAsUpdate(doc)),
    });
    expect(response.status).toBe(200);
  }, 60_000);
  afterAll(() => client?.close());

  it("pages back through GET …/messages?before= from the newest page, each message once", async () => {
    const pages: MessageDto[][] = [];
    let before: number | "latest" | null = "latest";
    while (before !== null) {
      const { status, body }: { status: number; body: { messages: MessageDto[]; next: number | null } } = await api(
        cast.server.url,
        "GET",
        `/api/conversations/${cast.conversationId}/messages?before=${before}&limit=200`,
        { token: cast.ben.token },
      );
      expect(status).toBe(200);
      pages.push(body.messages);
      before = body.next;
    }
    expect(pages).toHaveLength(COUNT / 200);
    expect(pages[0]!.map((m) => m.seq)).toEqual(Array.from({ length: 200 }, (_, i) => COUNT - 200 + i + 1));
    const all = pages.reverse().flat();
    expect(all.map((m) => m.id)).toEqual(expectedIds);
    expect(all.map((m) => m.seq)).toEqual(expectedIds.map((_, i) => i + 1));
  });

  it("shows the newest 50 in the SDK, and loadOlder pages back to the first, each once", { timeout: 60_000 }, async () => {
    client = await clientFor(cast.server.url, cast.ben, { storage: memoryStorage() });
    const chat = client.conversation(cast.conversationId);
    await eventually(() => expect(chat.messages).toHaveLength(COUNT), 30_000);
    expect(chat.shownMessages.map((m) => m.id)).toEqual(expectedIds.slice(-50));
    expect(chat.hasOlder).toBe(true);

    const pages: string[][] = [];
    for (;;) {
      const page = await chat.loadOlder(100);
      if (page.length === 0) break;
      pages.push(page.map((m) => m.id));
    }
    expect(pages).toHaveLength(50);
    expect(pages[0]).toEqual(expectedIds.slice(-150, -50));
    expect(pages.reverse().flat().concat(expectedIds.slice(-50))).toEqual(expectedIds);
    expect(chat.hasOlder).toBe(false);
    expect(chat.shownMessages).toHaveLength(COUNT);

    // A new message joins the end; the pages loaded stay shown.
    await chat.send("and one more");
    expect(chat.shownMessages).toHaveLength(COUNT + 1);
    expect(chat.shownMessages.at(-1)?.text).toBe("and one more");
    await expect(chat.loadOlder(0)).rejects.toMatchObject({ code: "validation_failed", message: "count must be a positive integer" });
  });
});
