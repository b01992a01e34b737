/**
 * Scenario (k): the device store fails under a running app (IndexedDB closed, the disk
 * refusing writes). Nothing throws, the status says local saving is off, sending keeps
 * working from memory, and the messages reach the server once. A message counts as saved on
 * the device only once its local write completed.
 */
import "fake-indexeddb/auto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createChatClient, fileStorage, indexedDbStorage, type DeliveryState, type StorageAdapter } from "@wbk/client-sdk/node";
import { afterAll, describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, eventually } from "./helpers/users.js";

/** Every IndexedDB connection opened from now on, so the test can close them under the SDK. */
function captureDatabases(): IDBDatabase[] {
  const opened: IDBDatabase[] = [];
  const open = indexedDB.open.bind(indexedDB);
  indexedDB.open = (name: string, version?: number) => {
    const request = open(name, version);
    request.addEventListener("success", () => opened.push(request.result));
    return request;
  };
  return opened;
}

const device = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-failing-device-"));
afterAll(() => fs.rmSync(device, { recursive: true, force: true }));

describe("when the device store fails (k)", () => {
  const cast = useTwoPeople();
  const unexpected: unknown[] = [];
  const record = (error: unknown) => unexpected.push(error);
  process.on("unhandledRejection", record);
  process.on("uncaughtException", record);
  afterAll(() => {
    process.off("unhandledRejection", record);
    process.off("uncaughtException", record);
  });

  async function run(storage: StorageAdapter, breakStore: () => void, label: string) {
    const client = createChatClient({ baseUrl: cast.server.url, getToken: () => cast.ann.token, storage });
    try {
      await client.me();
      const chat = client.conversation(cast.conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      const saved = await chat.send(`${label}: saved on the device`);
      await eventually(() => expect(chat.deliveryState(saved)).toBe("stored"));
      expect(chat.status.localSaving).toBe(true);

      breakStore();
      const states: DeliveryState[] = [];
      chat.on("delivery", ({ state }) => states.push(state));
      const unsaved = await chat.send(`${label}: memory only`);
      expect(chat.status.localSaving).toBe(false);
      expect(client.status.localSaving).toBe(false);
      expect(states[0]).toBe("unsaved");
      expect(states).not.toContain("pending");
      await eventually(() => expect(chat.deliveryState(unsaved)).toBe("stored"));
      const more = await chat.send(`${label}: the composer keeps working`);
      await eventually(() => expect(chat.deliveryState(more)).toBe("stored"));
      return [saved, unsaved, more] as string[];
    } finally {
      await client.close();
    }
  }

  it("IndexedDB closed under the page", async () => {
    const databases = captureDatabases();
    const ids = await run(indexedDbStorage(), () => databases.forEach((db) => db.close()), "idb");
    const { body } = await api<{ messages: Array<{ id: string }> }>(cast.server.url, "GET", `/api/conversations/${cast.conversationId}/messages`, {
      token: cast.ben.token,
    });
    expect(body.messages.map((m) => m.id).filter((id) => ids.includes(id))).toEqual(ids);
    expect(unexpected).toEqual([]);
  });

  it("a disk that refuses writes", async () => {
    const storage = fileStorage(device);
    const ids = await run(
      storage,
      () => {
        // The document's file becomes a folder: every later append fails (EISDIR).
        const file = path.join(device, fs.readdirSync(device).find((f) => f.endsWith(".ydoc"))!);
        // An append still in flight may create the file again in between: try until the folder wins.
        for (let attempt = 0; !fs.statSync(file, { throwIfNoEntry: false })?.isDirectory(); attempt++) {
          if (attempt === 20) throw new Error("could not replace the document file");
          fs.rmSync(file, { force: true });
          try {
            fs.mkdirSync(file);
          } catch {
            // recreated meanwhile; go again
          }
        }
      },
      "disk",
    );
    const { body } = await api<{ messages: Array<{ id: string; text: string }> }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages`,
      { token: cast.ben.token },
    );
    expect(body.messages.filter((m) => ids.includes(m.id)).map((m) => m.text)).toEqual([
      "disk: saved on the device",
      "disk: memory only",
      "disk: the composer keeps working",
    ]);
    expect(new Set(body.messages.map((m) => m.id)).size).toBe(body.messages.length);
    expect(unexpected).toEqual([]);
  });
});
