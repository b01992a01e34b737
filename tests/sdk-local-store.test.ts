/**
 * The SDK's local store (IndexedDB through y-indexeddb, here on fake-indexeddb): delivery states,
 * history from the device before the network answers, per-user stores, and logout's cleanup.
 */
import "fake-indexeddb/auto";
import { createChatClient, indexedDbStorage, type DeliveryState } from "@wbk/client-sdk/node";
import { listMessages } from "@wbk/shared";
import { IndexeddbPersistence } from "y-indexeddb";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { eventually } from "./helpers/users.js";

/** Message texts in a y-indexeddb database, read by a separate reader. */
async function savedTexts(name: string): Promise<string[]> {
  const doc = new Y.Doc();
  const reader = new IndexeddbPersistence(name, doc);
  await reader.whenSynced;
  const texts = listMessages(doc).map((m) => m.text);
  await reader.destroy();
  doc.destroy();
  return texts;
}

const databaseNames = async () => (await indexedDB.databases()).map((d) => d.name ?? "").sort();

describe("SDK local store", () => {
  const cast = useTwoPeople();

  it("moves an own message forward through unsaved, pending, sent and stored", async () => {
    const client = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ann.token, storage: indexedDbStorage() });
    await client.me();
    const chat = client.conversation(cast.conversationId);
    await eventually(() => expect(chat.synced).toBe(true));
    const states: DeliveryState[] = [];
    chat.on("delivery", ({ state }) => states.push(state));
    const id = await chat.send("saved on the device first");
    // send() resolves once the message is in IndexedDB: a fresh reader of the store finds it.
    expect(await savedTexts(`wbk:${cast.ann.user.id}:${cast.conversationId}`)).toEqual(["saved on the device first"]);
    await eventually(() => expect(states.at(-1)).toBe("stored"));
    // States only move forward; the server may confirm before the disk write is reported.
    expect(["unsaved,pending,sent,stored", "unsaved,sent,stored", "unsaved,pending,stored", "unsaved,stored"]).toContain(
      states.join(","),
    );
    expect(chat.deliveryState(id)).toBe("stored");
    expect(chat.messages.map((m) => [m.text, m.delivery, m.seq])).toEqual([["saved on the device first", "stored", 1]]);
    await client.close();
  });

  it("keeps a message sent offline as pending on the device, and delivers it once online", async () => {
    const storage = indexedDbStorage();
    const online = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ben.token, storage });
    await online.me(); // remembers Ben on this device
    await online.close();

    const offline = createChatClient({ baseUrl: "http://127.0.0.1:9", getToken: () => cast.ben.token, storage });
    await offline.me();
    const chat = offline.conversation(cast.conversationId);
    const states: DeliveryState[] = [];
    chat.on("delivery", ({ state }) => states.push(state));
    const id = await chat.send("written on the train");
    expect(states).toEqual(["unsaved", "pending"]);
    expect(chat.deliveryState(id)).toBe("pending");
    await offline.close();

    const back = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ben.token, storage });
    await back.me();
    const synced = back.conversation(cast.conversationId);
    await eventually(() => expect(synced.messages.find((m) => m.id === id)?.delivery).toBe("stored"));
    await eventually(async () => {
      const texts = (await fetch(`${cast.server.url}/api/conversations/${cast.conversationId}/messages`, {
        headers: { authorization: `Bearer ${cast.ann.token}` },
      }).then((r) => r.json())) as { messages: Array<{ text: string }> };
      expect(texts.messages.map((m) => m.text)).toEqual(["saved on the device first", "written on the train"]);
    });
    await back.close();
  });

  it("shows history from the device while the server is unreachable, and keeps users apart", async () => {
    const storage = indexedDbStorage();
    const online = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ann.token, storage });
    await online.me();
    const chat = online.conversation(cast.conversationId);
    await chat.send("second message");
    await eventually(() => expect(chat.messages.map((m) => m.delivery)).toEqual(["stored", undefined, "stored"]));
    await online.close();

    // A restart of the app with no server: the last user and the conversation come from the device.
    const offline = createChatClient({ baseUrl: "http://127.0.0.1:9", getToken: () => cast.ann.token, storage });
    expect((await offline.me())?.id).toBe(cast.ann.user.id);
    const fromDisk = offline.conversation(cast.conversationId);
    await fromDisk.ready;
    expect(fromDisk.messages.map((m) => m.text)).toEqual(["saved on the device first", "written on the train", "second message"]);
    expect(offline.state).not.toBe("online");
    await offline.close();

    // Ben on the same device gets his own store.
    const benClient = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ben.token, storage });
    await benClient.me();
    const benChat = benClient.conversation(cast.conversationId);
    await eventually(() => expect(benChat.messages).toHaveLength(3));
    // One database per user and conversation; the meta and the video file store are shared, their keys per user.
    expect(await databaseNames()).toEqual(
      [`wbk:${cast.ann.user.id}:${cast.conversationId}`, `wbk:${cast.ben.user.id}:${cast.conversationId}`, "wbk-files", "wbk-meta"].sort(),
    );

    // Ben keeps his data on logout when asked; Ann's logout deletes hers.
    await benClient.logout({ keepLocalData: true });
    expect(await databaseNames()).toContain(`wbk:${cast.ben.user.id}:${cast.conversationId}`);
    const annAgain = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ann.token, storage });
    await annAgain.me();
    await annAgain.logout();
    expect(await databaseNames()).toEqual([`wbk:${cast.ben.user.id}:${cast.conversationId}`, "wbk-files", "wbk-meta"].sort());
  });
});
