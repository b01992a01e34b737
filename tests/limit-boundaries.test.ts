/**
 * Limits at their exact edges, on every path: MAX_MESSAGE_CHARS (Unicode code points: 😀 counts
 * 1, the family emoji 👨‍👩‍👧 5, as it is five of them joined) over REST, HTTP sync and the SDK; MAX_UPDATE_BYTES as a 413 on HTTP sync
 * and as 4413 for an over-long socket frame. Nothing refused is stored.
 */
import type { MessageDto } from "@wbk/shared";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WireClient } from "./helpers/collabWire.js";
import { writeRawMessage } from "./helpers/doc.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const MAX_CHARS = 10;
const MAX_UPDATE = 1024;

describe("limits at their edges", () => {
  let server: TestServer;
  let ann: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    server = await startTestServer({ MAX_MESSAGE_CHARS: String(MAX_CHARS), MAX_UPDATE_BYTES: String(MAX_UPDATE) });
    ann = await signUp(server.url, "Ann");
    conversationId = (await createConversation(server.url, ann, [])).id;
  });
  afterAll(() => server.stop());

  const stored = async () => {
    const { body } = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${conversationId}/messages?limit=200`, { token: ann.token });
    return body.messages.map((m) => m.text);
  };
  const tooLong = { error: { code: "validation_failed", message: "text must be at most 10 characters", details: [{ path: "text", message: "text must be at most 10 characters" }] } };
  const sync = (body: Uint8Array) =>
    fetch(`${server.url}/api/conversations/${conversationId}/sync`, {
      method: "POST",
      headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/octet-stream" },
      body: Buffer.from(body),
    });

  it("MAX_MESSAGE_CHARS counts code points alike on REST, HTTP sync and in the SDK", async () => {
    const post = (id: string, text: string) => api(server.url, "POST", `/api/conversations/${conversationId}/messages`, { token: ann.token, body: { id, text } });
    expect((await post("r10", "0123456789")).status).toBe(201);
    expect((await post("r10emoji", "😀".repeat(10))).status).toBe(201);
    const over = await post("r11", `${"😀".repeat(10)}a`);
    expect({ status: over.status, body: over.body }).toEqual({ status: 400, body: tooLong });

    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await (await fetch(`${server.url}/api/conversations/${conversationId}/sync`, { headers: { authorization: `Bearer ${ann.token}` } })).arrayBuffer()));
    let before = Y.encodeStateVector(doc);
    writeRawMessage(doc, "s10", ann.user.id, "abcdefghi😀");
    expect((await sync(Y.encodeStateAsUpdate(doc, before))).status).toBe(200);
    before = Y.encodeStateVector(doc);
    writeRawMessage(doc, "s11", ann.user.id, "abcdefghij😀");
    const refused = await sync(Y.encodeStateAsUpdate(doc, before));
    expect({ status: refused.status, body: await refused.json() }).toEqual({
      status: 422,
      body: { error: { code: "update_refused", message: "text must be at most 10 characters" } },
    });

    const client = await clientFor(server.url, ann);
    try {
      const chat = client.conversation(conversationId);
      await eventually(() => expect(chat.synced).toBe(true));
      await expect(chat.send("0123456789a")).rejects.toMatchObject({ code: "validation_failed", message: "text must be at most 10 characters" });
      await expect(chat.send("👨‍👩‍👧👨‍👩‍👧👨‍👩‍👧")).rejects.toMatchObject({ code: "validation_failed", message: "text must be at most 10 characters" });
      const id = await chat.send("🎈".repeat(10));
      await eventually(() => expect(chat.deliveryState(id)).toBe("stored"));
    } finally {
      await client.close();
    }
    expect(await stored()).toEqual(["0123456789", "😀".repeat(10), "abcdefghi😀", "🎈".repeat(10)]);
  });

  it("MAX_UPDATE_BYTES: HTTP sync answers 413 for one byte more, and an over-long socket frame closes with 4413", async () => {
    const before = await stored();
    const answer = await sync(new Uint8Array(MAX_UPDATE + 1));
    expect({ status: answer.status, body: await answer.json() }).toEqual({
      status: 413,
      body: { error: { code: "payload_too_large", message: `the update is over ${MAX_UPDATE} bytes` } },
    });

    const wire = await WireClient.open(server.url);
    // The frame limit is the update limit plus 4,096 bytes of framing; past it the socket closes.
    wire.send(new Uint8Array(MAX_UPDATE + 4096 + 1));
    await eventually(() => expect(wire.closed).toEqual({ code: 4413, reason: "payload_too_large" }));
    expect(await stored()).toEqual(before);
    expect((await api(server.url, "GET", "/healthz")).status).toBe(200);
  });
});
