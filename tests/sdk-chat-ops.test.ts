/** Edits, deletes, reactions, replies and read receipts through the SDK against the real server. */
import type { MessageDto } from "@wbk/shared";
import { memoryStorage, type ChatClient, type ConversationHandle } from "@wbk/client-sdk/node";
import { afterEach, describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("SDK chat operations", () => {
  const ADMIN_EMAIL = "sdk-admin@example.com";
  const cast = useTwoPeople({ ADMIN_EMAILS: ADMIN_EMAIL });
  const clients: ChatClient[] = [];

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  async function open(user: "ann" | "ben"): Promise<{ client: ChatClient; chat: ConversationHandle }> {
    const client = await clientFor(cast.server.url, cast[user], { storage: memoryStorage() });
    clients.push(client);
    const chat = client.conversation(cast.conversationId);
    await eventually(() => expect(chat.synced).toBe(true));
    return { client, chat };
  }

  async function serverMessage(id: string): Promise<MessageDto | undefined> {
    const { body } = await api<{ messages: MessageDto[] }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages?limit=200`,
      { token: cast.ann.token },
    );
    return body.messages.find((m) => m.id === id);
  }

  /** After `connect()`, the client's reconnect backoff can take some seconds. */
  const online = (client: ChatClient) => eventually(() => expect(client.state).toBe("online"), 30_000);

  const stamped = (chat: ConversationHandle, id: string) => eventually(() => expect(chat.messages.find((m) => m.id === id)?.seq).toBeTypeOf("number"));

  it("lets the author edit; the other member sees the text and editedAt", async () => {
    const { chat: ann } = await open("ann");
    const { chat: ben } = await open("ben");
    const id = await ann.send("dinner at 6?");
    await stamped(ben, id);

    const before = Date.now();
    await ann.edit(id, "dinner at 7?");
    await eventually(() => {
      const seen = ben.messages.find((m) => m.id === id);
      expect(seen?.text).toBe("dinner at 7?");
      expect(seen?.editedAt).toBeGreaterThanOrEqual(before);
    });
    await eventually(async () => expect((await serverMessage(id))?.text).toBe("dinner at 7?"));

    // The same validation as send, before writing anything.
    await expect(ann.edit(id, "")).rejects.toMatchObject({ code: "validation_failed" });
    await expect(ann.edit("no-such-message", "x")).rejects.toMatchObject({ code: "not_found" });
  });

  it("refuses Ben's edit and delete of Ann's message locally; the server copy stays as it was", async () => {
    const { chat: ann } = await open("ann");
    const { chat: ben } = await open("ben");
    const id = await ann.send("Ann's words");
    await stamped(ben, id);
    let refused = 0;
    ben.on("refused", () => refused++);

    await expect(ben.edit(id, "Ben's words")).rejects.toMatchObject({ code: "forbidden" });
    await expect(ben.delete(id)).rejects.toMatchObject({ code: "forbidden" });
    expect(ben.messages.find((m) => m.id === id)).toMatchObject({ text: "Ann's words" });
    expect(ben.messages.find((m) => m.id === id)?.editedAt).toBeUndefined();

    // A later write of Ben's goes through, so nothing refused was sent before it.
    const later = await ben.send("ok");
    await eventually(async () => expect((await serverMessage(later))?.seq).toBeTypeOf("number"));
    const onServer = await serverMessage(id);
    expect(onServer?.text).toBe("Ann's words");
    expect(onServer?.editedAt).toBeUndefined();
    expect(onServer?.deleted).toBeUndefined();
    expect(refused).toBe(0);
  });

  it("lets an admin delete another member's message through the SDK", async () => {
    const registered = await api<TestUser>(cast.server.url, "POST", "/api/auth/register", {
      body: { email: ADMIN_EMAIL, password: "correct horse battery", displayName: "Admin" },
    });
    expect(registered.status).toBe(201);
    const admin = registered.body;
    await api(cast.server.url, "POST", `/api/conversations/${cast.conversationId}/members`, { token: cast.ann.token, body: { userId: admin.user.id } });
    const adminClient = await clientFor(cast.server.url, admin, { storage: memoryStorage() });
    clients.push(adminClient);
    expect(adminClient.isAdmin).toBe(true);
    const { client: benClient, chat: ben } = await open("ben");
    expect(benClient.isAdmin).toBe(false);
    const moderated = adminClient.conversation(cast.conversationId);
    const id = await ben.send("something unkind");
    await stamped(moderated, id);
    let refused = 0;
    moderated.on("refused", () => refused++);

    await moderated.delete(id);
    await eventually(() => expect(ben.messages.find((m) => m.id === id)).toMatchObject({ deleted: true, text: "" }));
    await eventually(async () => expect(await serverMessage(id)).toMatchObject({ deleted: true, text: "" }));
    expect(refused).toBe(0);
    // Deleting is all an admin may do to another's message.
    await expect(moderated.edit(id, "changed")).rejects.toMatchObject({ code: "forbidden" });
    await expect(moderated.delete("no-such-message")).rejects.toMatchObject({ code: "not_found" });
  });

  it("searches the server through the SDK, for members only", async () => {
    const { chat: ann } = await open("ann");
    const id = await ann.send("we meet at the 公园 with the 🎈");
    await stamped(ann, id);
    const page = await ann.search("公园");
    expect(page.results.map((r) => r.messageId)).toEqual([id]);
    expect(page.results[0]).toMatchObject({ authorId: cast.ann.user.id, snippet: "we meet at the 公园 with the 🎈", highlight: { start: 15, end: 17 } });
    expect(page.next).toBe(null);
    await expect(ann.search("  ")).rejects.toMatchObject({ code: "validation_failed", status: 400 });

    const eve = await signUp(cast.server.url, "Eve");
    const eveClient = await clientFor(cast.server.url, eve, { storage: memoryStorage() });
    clients.push(eveClient);
    await expect(eveClient.conversation(cast.conversationId).search("公园")).rejects.toMatchObject({ code: "forbidden", status: 403 });
  });

  it("deletes the author's message: deleted and empty text for everyone, and no edit after", async () => {
    const { chat: ann } = await open("ann");
    const { chat: ben } = await open("ben");
    const id = await ann.send("oops, wrong chat");
    await stamped(ben, id);

    await ann.delete(id);
    await eventually(() => expect(ben.messages.find((m) => m.id === id)).toMatchObject({ deleted: true, text: "" }));
    await eventually(async () => expect(await serverMessage(id)).toMatchObject({ deleted: true, text: "" }));
    await ann.delete(id); // again: nothing changes
    await expect(ann.edit(id, "back")).rejects.toMatchObject({ code: "forbidden" });
  });

  it("toggles reactions, one per user, and converges after concurrent offline changes", { timeout: 90_000 }, async () => {
    const { client: annClient, chat: ann } = await open("ann");
    const { client: benClient, chat: ben } = await open("ben");
    const id = await ann.send("who is in?");
    await stamped(ben, id);
    const annId = cast.ann.user.id;
    const benId = cast.ben.user.id;

    expect(await ann.react(id, "👍")).toBe("👍");
    expect(await ben.react(id, "👍")).toBe("👍");
    const both = { [annId]: "👍", [benId]: "👍" };
    await eventually(() => {
      expect(ann.messages.find((m) => m.id === id)?.reactions).toEqual(both);
      expect(ben.messages.find((m) => m.id === id)?.reactions).toEqual(both);
    });

    // Both offline: Ann switches to ❤️, Ben toggles 👍 off, then on, then off again.
    annClient.disconnect();
    benClient.disconnect();
    await Promise.all([
      ann.react(id, "❤️"),
      (async () => {
        expect(await ben.react(id, "👍")).toBeNull();
        expect(await ben.react(id, "👍")).toBe("👍");
        expect(await ben.react(id, "👍")).toBeNull();
      })(),
    ]);
    annClient.connect();
    benClient.connect();
    await Promise.all([online(annClient), online(benClient)]);
    const expected = { [annId]: "❤️" };
    await eventually(() => {
      expect(ann.messages.find((m) => m.id === id)?.reactions).toEqual(expected);
      expect(ben.messages.find((m) => m.id === id)?.reactions).toEqual(expected);
    });
    await eventually(async () => expect((await serverMessage(id))?.reactions).toEqual(expected));
    await expect(ann.react(id, "")).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("shows replyTo and quotes a deleted message as deleted", async () => {
    const { chat: ann } = await open("ann");
    const { chat: ben } = await open("ben");
    const original = await ann.send("who brings the cake?");
    const reply = await ben.send("me!", { replyTo: original as never });
    await stamped(ann, reply);

    expect(ann.messages.find((m) => m.id === reply)?.replyTo).toBe(original);
    expect(ann.quoted(reply)).toMatchObject({ id: original, text: "who brings the cake?" });
    expect(ann.quoted(original)).toBeNull();

    await ann.delete(original);
    await eventually(() => expect(ben.quoted(reply)).toMatchObject({ id: original, deleted: true, text: "" }));

    const dangling = await ben.send("about that other thing", { replyTo: "never-sent" as never });
    expect(ben.quoted(dangling)).toEqual({ id: "never-sent", deleted: true });
  });

  it("keeps read positions and unread counts right across two devices of Ann, one offline", { timeout: 120_000 }, async () => {
    // A conversation of its own, so the counts are exact.
    const { body } = await api<{ conversation: { id: string } }>(cast.server.url, "POST", "/api/conversations", {
      token: cast.ann.token,
      body: { title: "Receipts", memberIds: [cast.ben.user.id] },
    });
    const conversationId = body.conversation.id;
    const device = async (user: "ann" | "ben") => {
      const client = await clientFor(cast.server.url, cast[user], { storage: memoryStorage() });
      clients.push(client);
      const chat = client.conversation(conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      return { client, chat };
    };
    const phone = await device("ann");
    const laptop = await device("ann");
    const { chat: ben } = await device("ben");
    const annId = cast.ann.user.id;
    const benId = cast.ben.user.id;
    const readEvents: number[] = [];
    laptop.chat.on("reads", ({ unreadCount }) => readEvents.push(unreadCount));

    // Ann's own message never counts as unread.
    const hello = await phone.chat.send("hello");
    await stamped(laptop.chat, hello);
    expect(phone.chat.unreadCount).toBe(0);
    expect(laptop.chat.unreadCount).toBe(0);

    phone.client.disconnect();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await ben.send(`news ${i}`));
    await eventually(() => expect(laptop.chat.unreadCount).toBe(5));
    expect(phone.chat.unreadCount).toBe(0); // offline: it has not seen them
    expect(readEvents).toContain(5);

    phone.client.connect();
    await online(phone.client);
    await eventually(() => expect(phone.chat.unreadCount).toBe(5));
    expect(laptop.chat.unreadCount).toBe(5);

    // Read on the laptop: both devices of Ann, and Ben, see Ann's position at Ben's last message.
    await laptop.chat.markRead();
    expect(laptop.chat.unreadCount).toBe(0);
    await eventually(() => expect(phone.chat.unreadCount).toBe(0));
    await eventually(() => expect(ben.readBy(ids[4] as string)).toEqual([annId]));
    expect(ben.readPositions[annId]).toBe(6);
    expect(readEvents.at(-1)).toBe(0);

    // A lower position never moves it down.
    await phone.chat.markRead(2);
    expect(phone.chat.unreadCount).toBe(0);
    expect(phone.chat.readPositions[annId]).toBe(6);
    // Nor past the newest message: the server would refuse that.
    await phone.chat.markRead(1_000);
    expect(phone.chat.readPositions[annId]).toBe(6);

    // Two more; the phone reads one of them offline while the laptop reads both: the higher wins
    // on every device, whichever write Yjs keeps.
    const more = [await ben.send("news 6"), await ben.send("news 7")];
    await stamped(phone.chat, more[1] as string);
    await eventually(() => expect(laptop.chat.unreadCount).toBe(2));
    expect(phone.chat.unreadCount).toBe(2);
    phone.client.disconnect();
    // Yjs keeps the write of the higher client id: make it the phone's lower position, so the
    // higher one must be written again. (A fresh client id, never used by anyone.)
    phone.chat.ydoc.clientID = 0xfffffff0;
    await phone.chat.markRead(7);
    expect(phone.chat.unreadCount).toBe(1);
    await laptop.chat.markRead();
    expect(laptop.chat.unreadCount).toBe(0);
    phone.client.connect();
    await online(phone.client);
    await eventually(() => {
      for (const chat of [phone.chat, laptop.chat, ben]) {
        expect(chat.readPositions[annId]).toBe(8);
        expect(chat.ydoc.getMap("reads").get(annId)).toBe(8);
      }
      expect(phone.chat.unreadCount).toBe(0);
      expect(laptop.chat.unreadCount).toBe(0);
    });
    expect(ben.readBy(more[1] as string)).toEqual([annId]);
    expect(ben.readBy(hello)).toEqual([annId]);
    expect(ben.unreadCount).toBe(1); // Ann's "hello", and Ben never marked anything read
    // Deleted, it has nothing left to read.
    await phone.chat.delete(hello);
    await eventually(() => expect(ben.unreadCount).toBe(0));
    await ben.markRead();
    await eventually(() => expect(phone.chat.readBy(hello).sort()).toEqual([annId, benId].sort()));
  });
});
