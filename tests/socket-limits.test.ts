/** Limits on the socket: documents per socket, and the size of one update. */
import { writeRawMessage } from "./helpers/doc.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
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
