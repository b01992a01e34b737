/** Two users chat through the real server with the Node SDK; everything survives a restart. */
import type { MessageDto } from "@wbk/shared";
import { describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually } from "./helpers/users.js";

describe("chat between two users", () => {
  const cast = useTwoPeople();

  it("delivers 100 messages in order, pages them by seq, and keeps them across a restart", async () => {
    const annClient = await clientFor(cast.server.url, cast.ann);
    const benClient = await clientFor(cast.server.url, cast.ben);
    const annChat = annClient.conversation(cast.conversationId);
    const benChat = benClient.conversation(cast.conversationId);
    const texts = Array.from({ length: 100 }, (_, i) => `message ${i + 1} from Ann`);

    const ids: string[] = [];
    for (const text of texts) ids.push(await annChat.send(text));

    // Ben receives exactly these 100, in the same order, each stamped with seq 1..100.
    await eventually(() => {
      expect(benChat.messages.map((m) => m.text)).toEqual(texts);
      expect(benChat.messages.map((m) => m.seq)).toEqual(texts.map((_, i) => i + 1));
    });
    expect(benChat.messages.map((m) => m.id)).toEqual(ids);
    // Each of Ann's messages reaches `stored`; Ben's view carries no delivery state for them.
    await eventually(() => expect(annChat.messages.map((m) => m.delivery)).toEqual(texts.map(() => "stored")));
    expect(benChat.messages.every((m) => m.delivery === undefined)).toBe(true);

    // REST pages by seq return the same 100.
    const pages: MessageDto[] = [];
    let after = 0;
    for (;;) {
      const { status, body } = await api<{ messages: MessageDto[]; next: number | null }>(
        cast.server.url,
        "GET",
        `/api/conversations/${cast.conversationId}/messages?after=${after}&limit=30`,
        { token: cast.ben.token },
      );
      expect(status).toBe(200);
      pages.push(...body.messages);
      if (body.next === null) break;
      after = body.next;
    }
    expect(pages.map((m) => m.text)).toEqual(texts);
    expect(pages.map((m) => m.seq)).toEqual(texts.map((_, i) => i + 1));
    expect(pages.every((m) => m.authorId === cast.ann.user.id)).toBe(true);

    // The newest page first with before=.
    const newest = await api<{ messages: MessageDto[]; next: number | null }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages?before=101&limit=10`,
      { token: cast.ann.token },
    );
    expect(newest.body.messages.map((m) => m.seq)).toEqual([91, 92, 93, 94, 95, 96, 97, 98, 99, 100]);
    expect(newest.body.next).toBe(91);

    // A REST post appears live at both SDK clients.
    const posted = await api<{ message: MessageDto }>(cast.server.url, "POST", `/api/conversations/${cast.conversationId}/messages`, {
      token: cast.ben.token,
      body: { id: "rest-post-1", text: "hello from a REST client" },
    });
    expect(posted.status).toBe(201);
    expect(posted.body.message).toMatchObject({ id: "rest-post-1", seq: 101, authorId: cast.ben.user.id, kind: "text" });
    for (const chat of [annChat, benChat]) {
      await eventually(() => expect(chat.messages.at(-1)).toMatchObject({ id: "rest-post-1", seq: 101 }));
    }
    await eventually(() => expect(benChat.messages.at(-1)?.delivery).toBe("stored"));

    await annClient.close();
    await benClient.close();

    // Stop and start on the same folder: everything is still there, nothing doubled.
    await cast.server.restart();
    const all = await api<{ messages: MessageDto[]; next: number | null }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages?limit=200`,
      { token: cast.ann.token },
    );
    expect(all.body.next).toBeNull();
    expect(all.body.messages.map((m) => m.text)).toEqual([...texts, "hello from a REST client"]);
    expect(all.body.messages.map((m) => m.seq)).toEqual(Array.from({ length: 101 }, (_, i) => i + 1));

    const again = await clientFor(cast.server.url, cast.ann);
    const chat = again.conversation(cast.conversationId);
    await eventually(() => expect(chat.messages).toHaveLength(101));
    expect(new Set(chat.messages.map((m) => m.id)).size).toBe(101);
    await again.close();
  });

  it("keeps two devices of the same user in sync live", async () => {
    const phone = await clientFor(cast.server.url, cast.ann);
    const laptop = await clientFor(cast.server.url, cast.ann);
    const onPhone = phone.conversation(cast.conversationId);
    const onLaptop = laptop.conversation(cast.conversationId);
    await eventually(() => expect(onLaptop.synced && onPhone.synced).toBe(true));
    const base = onPhone.messages.length;

    const fromPhone = await onPhone.send("sent from the phone");
    await eventually(() => expect(onLaptop.messages.at(-1)).toMatchObject({ id: fromPhone, text: "sent from the phone" }));
    const fromLaptop = await onLaptop.send("sent from the laptop");
    await eventually(() => expect(onPhone.messages.at(-1)).toMatchObject({ id: fromLaptop, text: "sent from the laptop" }));
    expect(onPhone.messages).toHaveLength(base + 2);
    expect(onLaptop.messages.map((m) => m.id)).toEqual(onPhone.messages.map((m) => m.id));
    // Delivery is per device: the laptop did not send the phone's message.
    await eventually(() => expect(onPhone.messages.find((m) => m.id === fromPhone)?.delivery).toBe("stored"));
    expect(onLaptop.messages.find((m) => m.id === fromPhone)?.delivery).toBe("stored");
    await phone.close();
    await laptop.close();
  });
});
