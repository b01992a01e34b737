/** The Node device store: survives restarts, stays bounded, delivers offline messages once. */
import fs from "node:fs";
import path from "node:path";
import { appendTextMessage, listMessages, type MessageId, type UserId } from "@wbk/shared";
import { createChatClient, fileStorage } from "@wbk/client-sdk/node";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { useTempDirs } from "./helpers/tempDirs.js";
import { api, eventually } from "./helpers/users.js";

const tempDir = useTempDirs("wbk-device-");

describe("fileStorage", () => {
  it("stays under twice the encoded document after 1,000 reload-and-send cycles", { timeout: 120_000 }, async () => {
    const dir = tempDir();
    const storage = fileStorage(dir);
    let doc = new Y.Doc();
    for (let cycle = 0; cycle < 1000; cycle++) {
      doc = new Y.Doc(); // a reload: a fresh replica from the file
      const store = storage.open("wbk:user:conversation", doc);
      await store.whenLoaded;
      expect(listMessages(doc)).toHaveLength(cycle);
      appendTextMessage(doc, {
        id: `m${cycle}` as MessageId,
        authorId: "user" as UserId,
        text: `message number ${cycle}`,
        createdAt: 1_700_000_000_000 + cycle,
      });
      await store.flush();
      await store.close();
    }
    const [file] = fs.readdirSync(dir).filter((f) => f.endsWith(".ydoc"));
    const size = fs.statSync(path.join(dir, file!)).size;
    const encoded = Y.encodeStateAsUpdate(doc).byteLength;
    expect(size).toBeLessThanOrEqual(2 * encoded);
    expect(listMessages(doc).map((m) => m.text).at(-1)).toBe("message number 999");
  });

  it("ignores a record torn by a crash mid-write", async () => {
    const dir = tempDir();
    const storage = fileStorage(dir);
    const doc = new Y.Doc();
    const store = storage.open("torn", doc);
    await store.whenLoaded;
    appendTextMessage(doc, { id: "kept" as MessageId, authorId: "u" as UserId, text: "kept", createdAt: 1 });
    await store.flush();
    await store.close();
    const file = path.join(dir, "torn.ydoc");
    fs.appendFileSync(file, Buffer.from([200, 0, 0, 0, 1, 2, 3])); // claims 200 bytes, has 3
    const again = new Y.Doc();
    const reopened = storage.open("torn", again);
    await reopened.whenLoaded;
    expect(listMessages(again).map((m) => m.text)).toEqual(["kept"]);
    await reopened.close();
  });
});

describe("offline restart (d)", () => {
  const cast = useTwoPeople();

  it("delivers messages written offline before an app restart exactly once", { timeout: 60_000 }, async () => {
    const dir = tempDir();
    const net = await startFaultProxy({ port: cast.server.running.port });
    try {
      const first = createChatClient({ baseUrl: net.url, getToken: () => cast.ann.token, storage: fileStorage(dir) });
      await first.me();
      const chat = first.conversation(cast.conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      net.refuse(true);
      net.dropAll();
      await eventually(() => expect(first.state).not.toBe("online"));
      const sent = [];
      for (const text of ["on the train 1", "on the train 2", "on the train 3"]) sent.push(await chat.send(text));
      expect(chat.messages.map((m) => m.delivery)).toEqual(["pending", "pending", "pending"]);
      await first.close(); // the app is killed while offline

      // A new instance on the same device, still offline: the pending messages are there.
      const offline = createChatClient({ baseUrl: net.url, getToken: () => cast.ann.token, storage: fileStorage(dir) });
      expect((await offline.me())?.id).toBe(cast.ann.user.id);
      const fromDisk = offline.conversation(cast.conversationId);
      await fromDisk.ready;
      expect(fromDisk.messages.map((m) => [m.id, m.delivery])).toEqual(sent.map((id) => [id, "pending"]));

      net.refuse(false);
      await eventually(() => expect(fromDisk.messages.map((m) => m.seq)).toEqual([1, 2, 3]), 30_000);
      const listed = await api<{ messages: Array<{ id: string; authorId: string }> }>(
        cast.server.url,
        "GET",
        `/api/conversations/${cast.conversationId}/messages`,
        { token: cast.ben.token },
      );
      expect(listed.body.messages.map((m) => m.id)).toEqual(sent);
      expect(listed.body.messages.every((m) => m.authorId === cast.ann.user.id)).toBe(true);
      await offline.close();
    } finally {
      await net.close();
    }
  });
});
