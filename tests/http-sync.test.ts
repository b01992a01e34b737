/** HTTP sync (the WebSocket's fallback): state-vector diffs, long-polls, guarded pushes. */
import { fromBase64Url, listMessages, toBase64Url } from "@wbk/shared";
import * as Y from "yjs";
import { describe, expect, it } from "vitest";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, clientFor, eventually } from "./helpers/users.js";

describe("HTTP sync", () => {
  const cast = useTwoPeople();
  const path = () => `${cast.server.url}/api/conversations/${cast.conversationId}/sync`;
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  async function pull(token: string, sv?: Uint8Array, wait?: number): Promise<Response> {
    const query = new URLSearchParams();
    if (sv) query.set("sv", toBase64Url(sv));
    if (wait !== undefined) query.set("wait", String(wait));
    return fetch(`${path()}?${query}`, { headers: auth(token) });
  }

  async function push(token: string, update: Uint8Array): Promise<Response> {
    return fetch(path(), {
      method: "POST",
      headers: { ...auth(token), "content-type": "application/octet-stream" },
      body: update as Uint8Array<ArrayBuffer>,
    });
  }

  it("pushes a message that socket clients see, pulls theirs, and long-polls for news", async () => {
    const doc = new Y.Doc();
    const first = await pull(cast.ann.token);
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/octet-stream");
    Y.applyUpdate(doc, new Uint8Array(await first.arrayBuffer()));

    const sdk = await clientFor(cast.server.url, cast.ben);
    const chat = sdk.conversation(cast.conversationId);
    await eventually(() => expect(chat.synced).toBe(true));

    // Push: a message written in the HTTP client's own copy.
    let update: Uint8Array | null = null;
    doc.on("update", (u: Uint8Array) => (update = u));
    writeRawMessage(doc, "over-http", cast.ann.user.id, "sent through HTTP sync");
    const pushed = await push(cast.ann.token, update!);
    expect(pushed.status).toBe(200);
    const { sv } = (await pushed.json()) as { sv: string };
    const covered = Y.decodeStateVector(fromBase64Url(sv)!);
    expect(covered.get(doc.clientID)).toBe(Y.getState(doc.store, doc.clientID));
    await eventually(() => expect(chat.messages.map((m) => [m.id, m.seq])).toEqual([["over-http", 1]]));

    // Nothing new for an up-to-date replica: 204 after the wait.
    Y.applyUpdate(doc, new Uint8Array(await (await pull(cast.ann.token, Y.encodeStateVector(doc))).arrayBuffer()));
    const idle = await pull(cast.ann.token, Y.encodeStateVector(doc), 300);
    expect(idle.status).toBe(204);

    // A long-poll answers as soon as someone writes.
    const waiting = pull(cast.ann.token, Y.encodeStateVector(doc), 20_000);
    await new Promise((r) => setTimeout(r, 200));
    const started = Date.now();
    await chat.send("sent over the socket");
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(5_000);
    Y.applyUpdate(doc, new Uint8Array(await answer.arrayBuffer()));
    await eventually(async () => {
      Y.applyUpdate(doc, new Uint8Array(await (await pull(cast.ann.token, Y.encodeStateVector(doc))).arrayBuffer()));
      expect(listMessages(doc).map((m) => [m.text, m.seq])).toEqual([
        ["sent through HTTP sync", 1],
        ["sent over the socket", 2],
      ]);
    });
    await sdk.close();
  });

  it("refuses what the socket refuses, with the same codes, and stores nothing of it", async () => {
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await (await pull(cast.ann.token)).arrayBuffer()));
    const rows = cast.server.running.storage.log.count(cast.conversationId as never);
    let update: Uint8Array | null = null;
    doc.on("update", (u: Uint8Array) => (update = u));
    writeRawMessage(doc, "forged", cast.ben.user.id, "pretending to be Ben");
    const forged = await push(cast.ann.token, update!);
    expect(forged.status).toBe(422);
    expect(await forged.json()).toEqual({ error: { code: "update_refused", message: "a message's authorId must be its writer" } });

    const garbage = await push(cast.ann.token, new Uint8Array([1, 2, 3, 250, 251]));
    expect(garbage.status).toBe(422);
    expect(((await garbage.json()) as { error: { code: string } }).error.code).toBe("update_refused");

    const badSv = await fetch(`${path()}?sv=***`, { headers: auth(cast.ann.token) });
    expect(badSv.status).toBe(400);
    expect(await badSv.json()).toEqual({
      error: {
        code: "validation_failed",
        message: "sv must be a base64url-encoded Yjs state vector",
        details: [{ path: "sv", message: "must be a base64url-encoded Yjs state vector" }],
      },
    });
    // Yjs would read "AAAA" (bytes 00 00 00) as an empty vector and ignore the rest.
    const trailing = await fetch(`${path()}?sv=AAAA`, { headers: auth(cast.ann.token) });
    expect(trailing.status).toBe(400);
    // A long state vector (many devices) still fits in the URL.
    const many = new Map<number, number>(Array.from({ length: 3000 }, (_, i) => [i + 1, 1 + i]));
    const long = await fetch(`${path()}?sv=${toBase64Url(Y.encodeStateVector(many))}`, { headers: auth(cast.ann.token) });
    expect(long.status).toBe(200);
    const tooLong = await fetch(`${path()}?wait=25001`, { headers: auth(cast.ann.token) });
    expect(tooLong.status).toBe(400);
    expect(cast.server.running.storage.log.count(cast.conversationId as never)).toBe(rows);
    const listed = await api<{ messages: Array<{ id: string }> }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/messages`,
      { token: cast.ann.token },
    );
    expect(listed.body.messages.map((m) => m.id)).not.toContain("forged");
    expect(listed.body.messages).toHaveLength(2);
  });

  it("answers 401 without a session and 403 to non-members", async () => {
    const anonymous = await fetch(path());
    expect(anonymous.status).toBe(401);
    const { body } = await api<{ token: string }>(cast.server.url, "POST", "/api/auth/register", {
      body: { email: "carl@example.com", password: "a long enough password", displayName: "Carl" },
    });
    const outsider = await pull(body.token);
    expect(outsider.status).toBe(403);
    expect(await outsider.json()).toEqual({ error: { code: "forbidden", message: "you are not a member of this conversation" } });
  });
});
