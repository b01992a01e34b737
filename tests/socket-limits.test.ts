/** Limits on the socket: documents per socket, and the size of one update. */
import { writeRawMessage } from "./helpers/doc.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { WireClient } from "./helpers/collabWire.js";
import { clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("socket limits", () => {
  let server: TestServer;
  let ann: TestUser;

  beforeAll(async () => {
    server = await startTestServer({ MAX_DOCS_PER_SOCKET: "2", MAX_UPDATE_BYTES: "1024" });
    ann = await signUp(server.url, "Ann");
  });
  afterAll(() => server.stop());

  it("refuses a third conversation on one socket with limit_exceeded; the first two keep working", async () => {
    const ids = [];
    for (const title of ["one", "two", "three"]) ids.push((await createConversation(server.url, ann, [], title)).id);
    const client = await clientFor(server.url, ann);
    const [first, second] = [client.conversation(ids[0]!), client.conversation(ids[1]!)];
    await eventually(() => expect(first.synced && second.synced).toBe(true));
    const third = client.conversation(ids[2]!);
    const closed: string[] = [];
    third.on("closed", ({ reason }) => closed.push(reason));
    await eventually(() => expect(closed).toEqual(["limit_exceeded"]));
    await second.send("the second one still works");
    await eventually(() => expect(second.messages[0]?.delivery).toBe("stored"));
    await client.close();
  });

  it("refuses an update over MAX_UPDATE_BYTES with payload_too_large; the SDK checks before writing", async () => {
    const { id } = await createConversation(server.url, ann, [], "big");
    const client = await clientFor(server.url, ann);
    const chat = client.conversation(id);
    await eventually(() => expect(chat.synced).toBe(true));

    // The SDK knows the limit from GET /api/config and refuses before writing anything.
    await expect(chat.send("x".repeat(600))).rejects.toMatchObject({
      code: "validation_failed",
      message: "text must be at most 512 bytes",
    });
    expect(chat.messages).toEqual([]);

    // Written past the SDK, the server refuses it whole; the SDK reloads and drops it.
    const refusals: string[] = [];
    chat.on("refused", ({ reason }) => refusals.push(reason));
    writeRawMessage(chat.ydoc, "too-big", ann.user.id, "y".repeat(2000));
    await eventually(() => expect(refusals).toEqual(["payload_too_large"]));
    await eventually(() => expect(chat.synced).toBe(true));
    expect(chat.messages).toEqual([]);

    await chat.send("small enough");
    await eventually(() => expect(chat.messages.map((m) => [m.text, m.delivery])).toEqual([["small enough", "stored"]]));
    await client.close();
  });
});

describe("WS_IDLE_TIMEOUT_MS against sockets that open nothing", () => {
  let server: TestServer;
  let ann: TestUser;

  beforeAll(async () => {
    server = await startTestServer({ WS_IDLE_TIMEOUT_MS: "1500" });
    ann = await signUp(server.url, "Ann");
  });
  afterAll(() => server.stop());

  it("closes a socket that answers every heartbeat but opens no conversation; a signed-in SDK socket with nothing to sync stays", { timeout: 20_000 }, async () => {
    const { id } = await createConversation(server.url, ann, [], "idle");
    const client = await clientFor(server.url, ann);
    const chat = client.conversation(id);
    await eventually(() => expect(chat.synced).toBe(true));
    const closed: string[] = [];
    chat.on("closed", ({ reason }) => closed.push(reason));

    const idler = await WireClient.open(server.url);
    // It answers the server's Pings like a provider does.
    idler.ws.on("message", (data: Buffer) => {
      if (data.length === 1 && data[0] === 9) idler.send(new Uint8Array([10]));
    });
    const opened = Date.now();
    // Hocuspocus checks every WS_IDLE_TIMEOUT_MS: closed between one and two of them.
    await eventually(() => expect(idler.closed).toEqual({ code: 4408, reason: "Connection Timeout" }), 5_000);
    expect(Date.now() - opened).toBeGreaterThanOrEqual(1_400);

    // The SDK's socket only answers heartbeats meanwhile: still open well past the timeout.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(client.state).toBe("online");
    expect(closed).toEqual([]);
    await chat.send("still here");
    await eventually(() => expect(chat.messages.at(-1)?.delivery).toBe("stored"));
    client.close();
  });
});
