/**
 * Updates that break the document layout or the write rules are refused before anything is
 * stored; the client that sent one reloads and keeps working (DESIGN.md "Refusal").
 */
import type { MessageDto } from "@wbk/shared";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChatClient } from "@wbk/client-sdk";
import { writeRawMessage } from "./helpers/doc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("update guard", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
  });
  afterAll(() => server.stop());

  async function setup() {
    const conversation = await createConversation(server.url, ann, [ben]);
    const annClient = await clientFor(server.url, ann);
    const benClient = await clientFor(server.url, ben);
    const annChat = annClient.conversation(conversation.id);
    const benChat = benClient.conversation(conversation.id);
    await annChat.send("before anything odd");
    await eventually(() => expect(benChat.messages.map((m) => m.text)).toEqual(["before anything odd"]));
    await eventually(() => expect(annChat.messages[0]?.delivery).toBe("stored"));
    const logRows = () => server.running.storage.log.count(conversation.id as never);
    return { id: conversation.id, annClient, benClient, annChat, benChat, logRows };
  }

  const restMessages = async (id: string) =>
    (await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ben.token })).body
      .messages;

  const closeAll = (...clients: ChatClient[]) => Promise.all(clients.map((c) => c.close()));

  it("refuses an unknown top-level key, stores nothing of it, and re-sends the pending valid message", async () => {
    const { id, annClient, benClient, annChat, benChat, logRows } = await setup();
    const rowsBefore = logRows();
    const refusals: string[] = [];
    annChat.on("refused", ({ reason }) => refusals.push(reason));
    const doc = annChat.ydoc;

    // One update holding a valid message and a write outside the layout: all of it is refused.
    doc.transact(() => {
      writeRawMessage(doc, "valid-in-bad-update", ann.user.id, "this one is fine");
      doc.getMap("evil").set("payload", "not part of the layout");
    });

    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    // After the reload the valid message is written again, with the same id, exactly once.
    await eventually(() =>
      expect(benChat.messages.map((m) => m.id).filter((m) => m === "valid-in-bad-update")).toHaveLength(1),
    );
    await eventually(() => expect(annChat.messages.find((m) => m.id === "valid-in-bad-update")?.delivery).toBe("stored"));
    expect(annChat.ydoc).not.toBe(doc);
    expect(annChat.ydoc.clientID).not.toBe(doc.clientID);
    expect(annChat.ydoc.share.has("evil")).toBe(false);
    // Only the re-sent message and its stamp reached the log; the refused update did not.
    expect(logRows()).toBe(rowsBefore + 2);

    await annChat.send("still chatting");
    await eventually(() =>
      expect(benChat.messages.map((m) => m.text)).toEqual(["before anything odd", "this one is fine", "still chatting"]),
    );
    expect((await restMessages(id)).map((m) => m.text)).toEqual(["before anything odd", "this one is fine", "still chatting"]);
    await closeAll(annClient, benClient);
  });

  it("refuses a message written in another user's name, and it is never shown or re-sent", async () => {
    const { id, annClient, benClient, annChat, benChat, logRows } = await setup();
    const rowsBefore = logRows();
    const refusals: string[] = [];
    annChat.on("refused", ({ reason }) => refusals.push(reason));

    const doc = annChat.ydoc;
    writeRawMessage(doc, "forged", ben.user.id, "I am Ben, honest");

    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    await eventually(() => expect(annChat.ydoc).not.toBe(doc));
    await eventually(() => expect(annChat.synced).toBe(true));
    expect(annChat.messages.map((m) => m.id)).not.toContain("forged");
    expect(logRows()).toBe(rowsBefore);

    const next = await annChat.send("a real message from Ann");
    await eventually(() => expect(benChat.messages.map((m) => m.id)).toContain(next));
    expect(benChat.messages.map((m) => m.text)).toEqual(["before anything odd", "a real message from Ann"]);
    expect((await restMessages(id)).map((m) => m.authorId)).toEqual([ann.user.id, ann.user.id]);
    await closeAll(annClient, benClient);
  });

  it("keeps messages sent while the SDK reloads after a refusal", async () => {
    const { annClient, benClient, annChat, benChat } = await setup();
    const refusals: string[] = [];
    annChat.on("refused", ({ reason }) => refusals.push(reason));
    annChat.ydoc.getMap("evil").set("x", 1);
    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    // The reload is under way: these wait for the fresh copy instead of vanishing with the old one.
    const ids = await Promise.all(["during 1", "during 2", "during 3"].map((text) => annChat.send(text)));
    await eventually(() => expect(benChat.messages.map((m) => m.text)).toEqual(["before anything odd", "during 1", "during 2", "during 3"]));
    expect(benChat.messages.slice(1).map((m) => m.id)).toEqual(ids);
    await closeAll(annClient, benClient);
  });

  it("refuses edits of someone else's message and writes of server-only keys", async () => {
    const { annClient, benClient, annChat, benChat, logRows } = await setup();
    const rowsBefore = logRows();
    const refusals: string[] = [];
    benChat.on("refused", ({ reason }) => refusals.push(reason));

    const annMessage = benChat.ydoc.getArray<Y.Map<unknown>>("messages").get(0);
    annMessage.set("text", "Ben rewrote Ann's words");
    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    await eventually(() => expect(benChat.synced).toBe(true));
    expect(benChat.messages.map((m) => m.text)).toEqual(["before anything odd"]);

    benChat.ydoc.getArray<Y.Map<unknown>>("messages").get(0).set("seq", 999);
    await eventually(() => expect(refusals).toEqual(["update_refused", "update_refused"]));
    await eventually(() => expect(benChat.synced).toBe(true));
    expect(benChat.messages.map((m) => m.seq)).toEqual([1]);
    expect(annChat.messages.map((m) => [m.text, m.seq])).toEqual([["before anything odd", 1]]);
    expect(logRows()).toBe(rowsBefore);
    await closeAll(annClient, benClient);
  });
});
