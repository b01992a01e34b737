/**
 * Rate limits (issue "Trust and hardening", point 2; DESIGN.md "Configuration", "Errors"):
 * sign-in per address and per account, messages per user on every path that creates one,
 * changes (Yjs updates, and their bytes) per user. A
 * small limit and an injected clock make every Retry-After exact; nothing sleeps. Real servers,
 * real SDK clients.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import { createLogger } from "@wbk/server";
import { type AuthResult, type MessageDto, type UserId } from "@wbk/shared";
import WebSocket from "ws";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RateLimits, SlidingWindow } from "../server/src/rateLimit.js";
import { Clock } from "./helpers/activity.js";
import { writeRawMessage } from "./helpers/doc.js";
import { startFaultProxy } from "./helpers/faultProxy.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

type Conversation = ReturnType<Awaited<ReturnType<typeof clientFor>>["conversation"]>;

const LIMIT = 3;
const T0 = Date.parse("2026-03-02T10:00:00.000Z");
const PASSWORD = "correct horse battery";
const WRONG = "not the password at all";

/** The server's log lines, parsed; `hits` are the rate limit ones. */
class Logs {
  readonly raw: string[] = [];
  write(line: string): void {
    this.raw.push(line);
  }
  hits(): Array<Record<string, unknown>> {
    return this.raw
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => line.msg === "rate limit hit")
      .map(({ level, time, msg, ...rest }) => rest);
  }
}

function rateLimited(message: string, retryAfterSeconds: number) {
  return { error: { code: "rate_limited", message, details: { retryAfterSeconds } } };
}

/** Status, Retry-After and body at once, so a failure shows all three. */
function answerOf(answer: { status: number; body: unknown; headers: Headers }) {
  return { status: answer.status, retryAfter: answer.headers.get("retry-after"), body: answer.body };
}

describe("sign-in and sign-up: RATE_LIMIT_AUTH_PER_MIN per address and per account", () => {
  const clock = new Clock();
  const logs = new Logs();
  let server: TestServer;
  let nextSetupAddress = 1;

  /** X-Forwarded-For decides the address (TRUST_PROXY=true). */
  const from = (address: string) => ({ "x-forwarded-for": `${address}, 10.0.0.1` });
  const login = (email: string, password: string, address: string) =>
    api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email, password }, headers: from(address) });
  const register = (email: string, address: string) =>
    api<AuthResult>(server.url, "POST", "/api/auth/register", { body: { email, password: PASSWORD, displayName: email }, headers: from(address) });
  /** A user signed up from an address of its own, so setting up spends no test address's attempts. */
  async function user(name: string): Promise<string> {
    const email = `${name}@example.com`;
    expect((await register(email, `198.51.100.${nextSetupAddress++}`)).status).toBe(201);
    return email;
  }

  beforeAll(async () => {
    clock.at(T0);
    server = await startTestServer({ TRUST_PROXY: "true", RATE_LIMIT_AUTH_PER_MIN: String(LIMIT) }, { now: clock.now }, { logs });
  });
  afterAll(() => server.stop());

  it("refuses the 4th attempt from one address with 429 and the exact Retry-After; other addresses go on; it passes once the window has", async () => {
    const [ann, ben, carl, dana] = [await user("ann"), await user("ben"), await user("carl"), await user("dana")];
    const attacker = "203.0.113.7";
    clock.at(T0);
    expect((await login(ann, WRONG, attacker)).status).toBe(401);
    clock.at(T0 + 10_000);
    expect((await login(ben, WRONG, attacker)).status).toBe(401);
    clock.at(T0 + 20_000);
    // A successful sign-in counts too.
    expect((await login(carl, PASSWORD, attacker)).status).toBe(200);

    clock.at(T0 + 30_000);
    const refused = rateLimited("at most 3 sign-in attempts a minute from one address; try again in 30 s", 30);
    expect(answerOf(await login(dana, PASSWORD, attacker))).toEqual({ status: 429, retryAfter: "30", body: refused });
    // Sign-ups from the address share its attempts.
    expect(answerOf(await register("erin@example.com", attacker))).toEqual({ status: 429, retryAfter: "30", body: refused });
    // Another address is not affected, on the same account.
    expect((await login(dana, PASSWORD, "203.0.113.8")).status).toBe(200);

    // Half a second before the first attempt leaves the window: still refused, 1 s to wait.
    clock.at(T0 + 59_500);
    expect(answerOf(await login(dana, PASSWORD, attacker))).toEqual({
      status: 429,
      retryAfter: "1",
      body: rateLimited("at most 3 sign-in attempts a minute from one address; try again in 1 s", 1),
    });
    // The first attempt has left: one more fits, then the second one's leaving is 10 s away.
    clock.at(T0 + 60_000);
    expect((await login(dana, PASSWORD, attacker)).status).toBe(200);
    expect(answerOf(await login(dana, PASSWORD, attacker))).toEqual({
      status: 429,
      retryAfter: "10",
      body: rateLimited("at most 3 sign-in attempts a minute from one address; try again in 10 s", 10),
    });

    // Logged with the address (and the account tried), never the password.
    expect(logs.hits()).toEqual([
      { module: "rateLimit", limit: "RATE_LIMIT_AUTH_PER_MIN", per: "address", address: attacker, email: dana, retryAfterSeconds: 30 },
      { module: "rateLimit", limit: "RATE_LIMIT_AUTH_PER_MIN", per: "address", address: attacker, retryAfterSeconds: 30 },
      { module: "rateLimit", limit: "RATE_LIMIT_AUTH_PER_MIN", per: "address", address: attacker, email: dana, retryAfterSeconds: 1 },
      { module: "rateLimit", limit: "RATE_LIMIT_AUTH_PER_MIN", per: "address", address: attacker, email: dana, retryAfterSeconds: 10 },
    ]);
    expect(logs.raw.filter((line) => line.includes(PASSWORD) || line.includes(WRONG))).toEqual([]);
  });

  it("refuses the 4th attempt on one account from many addresses (any email, known or not); the password change counts too", async () => {
    const frank = await user("frank");
    const base = T0 + 120_000;
    for (const [i, address] of ["192.0.2.1", "192.0.2.2", "192.0.2.3"].entries()) {
      clock.at(base + i * 1000);
      expect((await login(frank, WRONG, address)).status).toBe(401);
    }
    clock.at(base + 5000);
    // The right password from a fresh address: the account has had its 3 guesses this minute.
    expect(answerOf(await login(frank, PASSWORD, "192.0.2.4"))).toEqual({
      status: 429,
      retryAfter: "55",
      body: rateLimited("at most 3 sign-in attempts a minute on one account; try again in 55 s", 55),
    });
    // That address still signs in elsewhere.
    expect((await login(await user("gina"), PASSWORD, "192.0.2.4")).status).toBe(200);

    // An email without an account is limited alike: the answers tell nothing about who exists.
    for (const address of ["192.0.2.5", "192.0.2.6", "192.0.2.7"]) {
      expect((await login("nobody@example.com", WRONG, address)).status).toBe(401);
    }
    expect(answerOf(await login("  Nobody@Example.com ", WRONG, "192.0.2.8"))).toEqual({
      status: 429,
      retryAfter: "60",
      body: rateLimited("at most 3 sign-in attempts a minute on one account; try again in 60 s", 60),
    });

    // A session cannot be used to guess the account's password either.
    clock.at(base + 120_000);
    const signedIn = await login(frank, PASSWORD, "192.0.2.9");
    expect(signedIn.status).toBe(200);
    const change = (currentPassword: string, address: string) =>
      api(server.url, "POST", "/api/auth/password", {
        token: signedIn.body.token,
        body: { currentPassword, newPassword: "a brand new password" },
        headers: from(address),
      });
    expect((await change(WRONG, "192.0.2.11")).status).toBe(401);
    expect((await change(WRONG, "192.0.2.12")).status).toBe(401);
    expect(answerOf(await change(PASSWORD, "192.0.2.13"))).toEqual({
      status: 429,
      retryAfter: "60",
      body: rateLimited("at most 3 sign-in attempts a minute on one account; try again in 60 s", 60),
    });
    expect((await login(frank, PASSWORD, "192.0.2.10")).status).toBe(429);
  });

  it("counts an IPv6 address by its /64", async () => {
    clock.at(T0 + 600_000);
    const ivy = await user("ivy");
    for (const address of ["2001:db8:1:2::1", "2001:db8:1:2:aaaa::7", "2001:0db8:0001:0002:ffff:ffff:ffff:ffff"]) {
      expect((await login(ivy, WRONG, address)).status).toBe(401);
    }
    const jon = await user("jon");
    expect((await login(jon, PASSWORD, "2001:db8:1:2::99")).status).toBe(429);
    expect(logs.hits().at(-1)).toEqual({
      module: "rateLimit",
      limit: "RATE_LIMIT_AUTH_PER_MIN",
      per: "address",
      address: "2001:db8:1:2::/64",
      email: jon,
      retryAfterSeconds: 60,
    });
    // The next /64 is someone else.
    expect((await login(jon, PASSWORD, "2001:db8:1:3::1")).status).toBe(200);
  });
});

describe("the address without TRUST_PROXY", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ RATE_LIMIT_AUTH_PER_MIN: String(LIMIT) }, { now: () => T0 });
  });
  afterAll(() => server.stop());

  it("is the socket's: a made-up X-Forwarded-For does not escape the limit", async () => {
    const statuses: number[] = [];
    for (const forwarded of ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]) {
      const answer = await api(server.url, "POST", "/api/auth/login", {
        body: { email: `someone-${forwarded}@example.com`, password: WRONG },
        headers: { "x-forwarded-for": forwarded },
      });
      statuses.push(answer.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });
});

describe("RATE_LIMIT_AUTH_PER_MIN=0", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ TRUST_PROXY: "true", RATE_LIMIT_AUTH_PER_MIN: "0" }, { now: () => T0 });
  });
  afterAll(() => server.stop());

  it("never limits", async () => {
    const headers = { "x-forwarded-for": "203.0.113.50" };
    const email = "hana@example.com";
    const signedUp = await api(server.url, "POST", "/api/auth/register", { body: { email, password: PASSWORD, displayName: "Hana" }, headers });
    expect(signedUp.status).toBe(201);
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) {
      statuses.push((await api(server.url, "POST", "/api/auth/login", { body: { email, password: i % 2 ? PASSWORD : WRONG }, headers })).status);
    }
    expect(statuses).toEqual(Array.from({ length: 25 }, (_, i) => (i % 2 ? 200 : 401)));
  });
});

describe("messages: RATE_LIMIT_MESSAGES_PER_MIN per user, on every path", () => {
  const clock = new Clock();
  const logs = new Logs();
  let server: TestServer;

  const messagesIn = async (user: TestUser, conversationId: string) => {
    const answer = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${conversationId}/messages?limit=200`, {
      token: user.token,
    });
    expect(answer.status).toBe(200);
    return answer.body.messages.map((m) => [m.seq, m.id]);
  };

  beforeAll(async () => {
    clock.at(T0);
    server = await startTestServer({ RATE_LIMIT_MESSAGES_PER_MIN: String(LIMIT) }, { now: clock.now }, { logs });
  });
  afterAll(() => server.stop());

  it("REST: the 4th post in a minute is 429 with the exact Retry-After and is not stored; a resend and other users are free", async () => {
    clock.at(T0);
    const [ann, ben] = [await signUp(server.url, "Ann"), await signUp(server.url, "Ben")];
    const { id } = await createConversation(server.url, ann, [ben], "REST");
    const post = (user: TestUser, messageId: string) =>
      api(server.url, "POST", `/api/conversations/${id}/messages`, { token: user.token, body: { id: messageId, text: `text of ${messageId}` } });
    for (const [i, messageId] of ["r1", "r2", "r3"].entries()) {
      clock.at(T0 + i * 5000);
      expect((await post(ann, messageId)).status).toBe(201);
    }
    clock.at(T0 + 15_000);
    expect(answerOf(await post(ann, "r4"))).toEqual({
      status: 429,
      retryAfter: "45",
      body: rateLimited("at most 3 messages a minute; try again in 45 s", 45),
    });
    // The same post again (a retry after a lost answer) is answered unchanged and costs nothing.
    expect((await post(ann, "r1")).status).toBe(200);
    expect((await post(ben, "b1")).status).toBe(201);
    expect(await messagesIn(ann, id)).toEqual([[1, "r1"], [2, "r2"], [3, "r3"], [4, "b1"]]);

    clock.at(T0 + 60_000);
    expect((await post(ann, "r4")).status).toBe(201);
    expect(await messagesIn(ann, id)).toEqual([[1, "r1"], [2, "r2"], [3, "r3"], [4, "b1"], [5, "r4"]]);
    expect(logs.hits()).toContainEqual({ module: "rateLimit", limit: "RATE_LIMIT_MESSAGES_PER_MIN", userId: ann.user.id, messages: 1, retryAfterSeconds: 45 });
  });

  it("HTTP sync: messages count, not updates; over the limit 429 and nothing stored; a burst bigger than the limit fits an empty window", async () => {
    clock.at(T0 + 120_000);
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "HTTP sync");
    const doc = new Y.Doc();
    const pushed: Uint8Array[] = [];
    doc.on("update", (update: Uint8Array) => pushed.push(update));
    const write = (ids: string[]) => {
      pushed.length = 0;
      doc.transact(() => ids.forEach((messageId) => writeRawMessage(doc, messageId, ann.user.id, `text of ${messageId}`)));
      return pushed[0]!;
    };
    const push = (update: Uint8Array) =>
      fetch(`${server.url}/api/conversations/${id}/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/octet-stream" },
        body: update as Uint8Array<ArrayBuffer>,
      });

    expect((await push(write(["h1", "h2"]))).status).toBe(200);
    clock.at(T0 + 130_000);
    // Two more do not fit the one left: the whole update is refused.
    const refused = await push(write(["h3", "h4"]));
    expect({ status: refused.status, retryAfter: refused.headers.get("retry-after"), body: await refused.json() }).toEqual({
      status: 429,
      retryAfter: "50",
      body: rateLimited("at most 3 messages a minute; try again in 50 s", 50),
    });
    expect(await messagesIn(ann, id)).toEqual([[1, "h1"], [2, "h2"]]);

    // A phone back online with more than a minute's worth: the window is empty, it all goes in.
    clock.at(T0 + 180_000);
    write(["h5", "h6", "h7"]);
    const everything = Y.encodeStateAsUpdate(doc);
    expect((await push(everything)).status).toBe(200);
    expect(await messagesIn(ann, id)).toEqual([[1, "h1"], [2, "h2"], [3, "h3"], [4, "h4"], [5, "h5"], [6, "h6"], [7, "h7"]]);
    // …and then the user waits until the burst has left the window.
    clock.at(T0 + 200_000);
    const after = await push(write(["h8"]));
    expect({ status: after.status, retryAfter: after.headers.get("retry-after") }).toEqual({ status: 429, retryAfter: "40" });
    expect(await messagesIn(ann, id)).toHaveLength(7);
  });

  it("socket: an update over the limit is refused unapplied: the wait comes as a stateless message, then the document closes with rate_limited", async () => {
    clock.at(T0 + 300_000);
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "Raw socket");
    const socket = new HocuspocusProviderWebsocket({
      url: `ws://127.0.0.1:${server.running.port}/collab`,
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const doc = new Y.Doc();
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: `conversation:${id}`, document: doc, token: ann.token });
    const seen: unknown[] = [];
    provider.on("stateless", ({ payload }: { payload: string }) => {
      const message = JSON.parse(payload) as { type: string };
      if (message.type !== "stored") seen.push(message);
    });
    provider.on("close", ({ event }: { event: { reason: string } }) => seen.push({ close: event.reason }));
    provider.attach();
    try {
      await eventually(() => expect(provider.isSynced).toBe(true));
      writeRawMessage(doc, "s1", ann.user.id, "one");
      await eventually(async () => expect(await messagesIn(ann, id)).toEqual([[1, "s1"]]));
      clock.at(T0 + 310_000);
      doc.transact(() => ["s2", "s3", "s4"].forEach((messageId) => writeRawMessage(doc, messageId, ann.user.id, messageId)));
      await eventually(() => expect(seen).toEqual([{ type: "rate_limited", retryAfterSeconds: 50 }, { close: "rate_limited" }]));
      expect(await messagesIn(ann, id)).toEqual([[1, "s1"]]);
      expect(server.running.hocuspocus.documents.get(`conversation:${id}`)?.getArray("messages").length).toBe(1);
    } finally {
      provider.destroy();
      socket.destroy();
    }
  });

  /**
   * Three messages fill the user's window; 2 s before it frees up a fourth is refused and a fifth
   * is written meanwhile. Both stay pending on the device, then go out exactly once after the
   * wait the server named (real seconds; the server's window moves with the injected clock).
   */
  async function heldThenDeliveredOnce(chat: Conversation, user: TestUser, conversationId: string, start: number): Promise<void> {
    const limited: unknown[] = [];
    chat.on("rate-limited", (event) => limited.push(event));
    await eventually(() => expect(chat.synced).toBe(true));
    const sent = [await chat.send("one"), await chat.send("two"), await chat.send("three")];
    await eventually(() => expect(sent.map((m) => chat.deliveryState(m))).toEqual(["stored", "stored", "stored"]));

    clock.at(start + 58_000);
    sent.push(await chat.send("four"));
    await eventually(() => expect(limited).toEqual([{ retryAfterSeconds: 2 }]));
    sent.push(await chat.send("five"));
    expect(await messagesIn(user, conversationId)).toEqual(sent.slice(0, 3).map((m, i) => [i + 1, m]));
    expect(chat.status.pendingCount).toBe(2);

    clock.at(start + 60_000);
    await eventually(() => expect(sent.map((m) => chat.deliveryState(m))).toEqual(["stored", "stored", "stored", "stored", "stored"]), 10_000);
    expect(await messagesIn(user, conversationId)).toEqual(sent.map((m, i) => [i + 1, m]));
    expect(chat.messages.map((m) => m.text)).toEqual(["one", "two", "three", "four", "five"]);
    expect(limited).toEqual([{ retryAfterSeconds: 2 }]);
  }

  it("SDK on the socket: held on the device while limited, then delivered exactly once", async () => {
    clock.at(T0 + 400_000);
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "SDK socket");
    const client = await clientFor(server.url, ann);
    try {
      const chat = client.conversation(id);
      const closed: unknown[] = [];
      chat.on("closed", (event) => closed.push(event));
      await heldThenDeliveredOnce(chat, ann, id, T0 + 400_000);
      expect(closed).toEqual([]);
      expect(client.state).toBe("online");
    } finally {
      await client.close();
    }
  });

  it("SDK over HTTP sync: a 429 holds the messages for Retry-After, then they go out exactly once", { timeout: 45_000 }, async () => {
    clock.at(T0 + 600_000);
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "SDK HTTP");
    const net = await startFaultProxy({ port: server.running.port });
    net.blockWebSockets(true);
    const client = await clientFor(net.url, ann);
    try {
      await eventually(() => expect(client.state).toBe("fallback-http"), 20_000);
      await heldThenDeliveredOnce(client.conversation(id), ann, id, T0 + 600_000);
      expect(client.state).toBe("fallback-http");
    } finally {
      await client.close();
      await net.close();
    }
  });
});

describe("changes: RATE_LIMIT_UPDATES_PER_MIN and RATE_LIMIT_UPDATE_BYTES_PER_MIN per user", () => {
  const clock = new Clock();
  const logs = new Logs();
  let server: TestServer;
  const UPDATES = 5;
  const BYTES = 2_000;

  beforeAll(async () => {
    clock.at(T0);
    server = await startTestServer(
      { RATE_LIMIT_UPDATES_PER_MIN: String(UPDATES), RATE_LIMIT_UPDATE_BYTES_PER_MIN: String(BYTES) },
      { now: clock.now },
      { logs },
    );
  });
  afterAll(() => server.stop());

  /** Ann's replica of a new conversation, and a push of its latest change over HTTP sync. */
  async function replica() {
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "Changes");
    const doc = new Y.Doc();
    let last: Uint8Array = new Uint8Array();
    doc.on("update", (update: Uint8Array) => (last = update));
    const push = async (update = last) => {
      const response = await fetch(`${server.url}/api/conversations/${id}/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/octet-stream" },
        body: update as Uint8Array<ArrayBuffer>,
      });
      return { status: response.status, retryAfter: response.headers.get("retry-after"), body: (await response.json()) as unknown };
    };
    const reactions = async () => {
      const answer = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ann.token });
      return answer.body.messages.map((m) => m.reactions);
    };
    return { ann, id, doc, push, reactions };
  }

  it("counts every change, not only messages: over the limit 429 and nothing applied", async () => {
    clock.at(T0 + 1_000);
    const { ann, doc, push, reactions } = await replica();
    writeRawMessage(doc, "m1", ann.user.id, "who is in?");
    expect((await push()).status).toBe(200);
    const map = doc.getArray<Y.Map<unknown>>("messages").get(0);
    const react = (emoji: string) => (map.get("reactions") as Y.Map<string>).set(ann.user.id, emoji);
    for (const emoji of ["👍", "❤️", "😂", "🎉"]) {
      react(emoji);
      expect((await push()).status).toBe(200);
    }
    clock.at(T0 + 11_000);
    react("😮");
    expect(await push()).toEqual({ status: 429, retryAfter: "50", body: rateLimited("at most 5 changes a minute; try again in 50 s", 50) });
    expect(await reactions()).toEqual([{ [ann.user.id]: "🎉" }]);
    expect(logs.hits()).toContainEqual({ module: "rateLimit", limit: "RATE_LIMIT_UPDATES_PER_MIN", userId: ann.user.id, bytes: expect.any(Number), retryAfterSeconds: 50 });

    clock.at(T0 + 61_000);
    expect((await push()).status).toBe(200);
    expect(await reactions()).toEqual([{ [ann.user.id]: "😮" }]);
  });

  it("counts bytes: one update over the whole limit fits an empty window, then the user waits", async () => {
    clock.at(T0 + 120_000);
    const { ann, doc, push } = await replica();
    writeRawMessage(doc, "long", ann.user.id, "x".repeat(3_000));
    const big = Y.encodeStateAsUpdate(doc);
    expect(big.byteLength).toBeGreaterThan(BYTES);
    expect((await push(big)).status).toBe(200);
    clock.at(T0 + 130_000);
    writeRawMessage(doc, "short", ann.user.id, "hi");
    expect(await push()).toEqual({
      status: 429,
      retryAfter: "50",
      body: rateLimited(`at most ${BYTES} bytes of changes a minute; try again in 50 s`, 50),
    });
    clock.at(T0 + 180_000);
    expect((await push()).status).toBe(200);
  });

  it("does not count a sync with nothing new, though it carries the document's whole delete set", async () => {
    clock.at(T0 + 200_000);
    const { ann, doc, push } = await replica();
    writeRawMessage(doc, "m1", ann.user.id, "who is in?");
    expect((await push()).status).toBe(200);
    const reactions = doc.getArray<Y.Map<unknown>>("messages").get(0).get("reactions") as Y.Map<string>;
    for (const emoji of ["👍", "❤️"]) {
      reactions.set(ann.user.id, emoji);
      expect((await push()).status).toBe(200);
    }
    // What a reconnecting client sends when it has nothing new: no items, its delete set.
    const nothingNew = Y.encodeStateAsUpdate(doc, Y.encodeStateVector(doc));
    expect(nothingNew.byteLength).toBeGreaterThan(2);
    for (let i = 0; i < 10; i++) expect((await push(nothingNew)).status).toBe(200);
    reactions.set(ann.user.id, "🎉");
    expect((await push()).status).toBe(200);
  });

  it("the SDK keeps a change refused on the socket and sends it once the window frees up", async () => {
    clock.at(T0 + 300_000);
    const ann = await signUp(server.url, "Ann");
    const { id } = await createConversation(server.url, ann, [], "SDK changes");
    const client = await clientFor(server.url, ann);
    try {
      const chat = client.conversation(id);
      const limited: unknown[] = [];
      chat.on("rate-limited", (event) => limited.push(event));
      await eventually(() => expect(chat.synced).toBe(true));
      const messageId = await chat.send("who is in?");
      await eventually(() => expect(chat.deliveryState(messageId)).toBe("stored"));
      for (const emoji of ["👍", "❤️", "😂"]) await chat.react(messageId, emoji);
      await chat.markRead();
      await eventually(async () => {
        const answer = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ann.token });
        expect(answer.body.messages[0]?.reactions).toEqual({ [ann.user.id]: "😂" });
      });
      clock.at(T0 + 358_000);
      await chat.react(messageId, "🎉");
      await eventually(() => expect(limited).toEqual([{ retryAfterSeconds: 2 }]));
      clock.at(T0 + 361_000);
      await eventually(async () => {
        const answer = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${id}/messages`, { token: ann.token });
        expect(answer.body.messages[0]?.reactions).toEqual({ [ann.user.id]: "🎉" });
      }, 10_000);
      expect(chat.messages[0]?.reactions).toEqual({ [ann.user.id]: "🎉" });
    } finally {
      await client.close();
    }
  });
});

describe("RateLimits.admitUpdate", () => {
  it("takes a minute's changes at most a thirtieth a second (never fewer than 10)", () => {
    const clock = new Clock();
    clock.at(T0);
    const logs = new Logs();
    const limits = new RateLimits({
      authPerMin: 0,
      messagesPerMin: 0,
      updatesPerMin: 600,
      updateBytesPerMin: 0,
      now: clock.now,
      logger: createLogger("warn", logs),
    });
    for (let i = 0; i < 20; i++) limits.admitUpdate("ann" as UserId, 100);
    expect(() => limits.admitUpdate("ann" as UserId, 100)).toThrow("at most 20 changes a second; try again in 1 s");
    limits.admitUpdate("ben" as UserId, 100);
    clock.at(T0 + 1_000);
    limits.admitUpdate("ann" as UserId, 100);
    expect(logs.hits()).toEqual([{ limit: "RATE_LIMIT_UPDATES_PER_MIN", userId: "ann", bytes: 100, retryAfterSeconds: 1 }]);
  });
});

describe("SlidingWindow", () => {
  it("keeps only the last window's keys in memory, and a burst larger than the limit only into an empty window", () => {
    const clock = new Clock();
    clock.at(T0);
    const window = new SlidingWindow(LIMIT, 60_000, clock.now);
    for (let i = 0; i < 10_000; i++) window.record(`203.0.113.${i}`);
    expect(window.size).toBe(10_000);
    clock.at(T0 + 60_000);
    window.record("198.51.100.1");
    expect(window.size).toBe(1);

    expect(window.waitMs("phone", 5)).toBe(0);
    window.record("phone", 5);
    clock.at(T0 + 70_000);
    expect([window.waitMs("phone", 1), window.waitMs("phone", 5)]).toEqual([50_000, 50_000]);
  });
});

describe("the API docs", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  it("declare 429 rate_limited with Retry-After on every rate-limited route", async () => {
    const spec = (await (await fetch(`${server.url}/api/openapi.json`)).json()) as {
      paths: Record<string, Record<string, { responses: Record<string, { description: string; headers?: unknown }> }>>;
    };
    const declared = (path: string, method: string) => spec.paths[path]?.[method]?.responses["429"];
    const retryAfter = { "Retry-After": { description: "Whole seconds until the limit lets the request through", schema: { type: "integer", minimum: 1 } } };
    for (const [path, method] of [
      ["/api/auth/register", "post"],
      ["/api/auth/login", "post"],
      ["/api/auth/password", "post"],
      ["/api/conversations/{id}/messages", "post"],
      ["/api/conversations/{id}/sync", "post"],
    ] as const) {
      expect({ path, method, answer: declared(path, method) }).toMatchObject({
        path,
        method,
        answer: { description: "rate_limited", headers: retryAfter },
      });
    }
    expect(declared("/api/uploads", "post")).toMatchObject({ description: "rate_limited, limit_exceeded", headers: retryAfter });
  });
});
