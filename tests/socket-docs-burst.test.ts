/**
 * MAX_DOCS_PER_SOCKET holds against a burst: conversations asked for and not yet open count
 * too, and one conversation cannot be opened under several addresses (`name\0suffix`), which
 * would give the socket a copy of every broadcast per address (found by a hostile-client pass).
 */
import { documentName, type ConversationId } from "@wbk/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { authFrame, WireClient, type ServerFrame } from "./helpers/collabWire.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

describe("MAX_DOCS_PER_SOCKET=3 against bursts", () => {
  let server: TestServer;
  let ann: TestUser;
  let names: string[];
  beforeAll(async () => {
    server = await startTestServer({ MAX_DOCS_PER_SOCKET: "3" });
    ann = await signUp(server.url, "Ann");
    const ben = await signUp(server.url, "Ben");
    names = [];
    for (let i = 0; i < 5; i++) names.push(documentName((await createConversation(server.url, ann, [ben], `Chat ${i}`)).id as ConversationId));
  });
  afterAll(() => server?.stop());

  const verdicts = (wire: WireClient) =>
    wire.frames.filter((f): f is Extract<ServerFrame, { kind: "authenticated" | "denied" }> => f.kind === "authenticated" || f.kind === "denied");

  it("five Auth frames sent at once: three conversations open, two are refused with limit_exceeded", async () => {
    const wire = await WireClient.open(server.url);
    for (const name of names) wire.send(authFrame(name, ann.token));
    await eventually(() => expect(verdicts(wire)).toHaveLength(5));
    const answers = verdicts(wire).map((f) => [f.document, f.kind === "denied" ? f.reason : "authenticated"]);
    expect(answers.filter(([, verdict]) => verdict === "authenticated").map(([name]) => name)).toEqual(names.slice(0, 3));
    expect(answers.filter(([, verdict]) => verdict !== "authenticated")).toEqual([
      [names[3], "limit_exceeded"],
      [names[4], "limit_exceeded"],
    ]);
    expect(wire.open).toBe(true);
    wire.ws.close();
  });

  it("a second address for an open conversation is refused", async () => {
    const wire = await WireClient.open(server.url);
    expect(await wire.authenticate(names[0]!, ann.token)).toEqual({ document: names[0], kind: "authenticated" });
    wire.send(authFrame(`${names[0]}\u00001`, ann.token));
    // The answer names the conversation (the suffix is routing only).
    await eventually(() => expect(verdicts(wire).at(-1)).toEqual({ document: names[0], kind: "denied", reason: "forbidden" }));
    expect(wire.open).toBe(true);
    wire.ws.close();
  });
});
