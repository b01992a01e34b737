/**
 * Every error the current REST routes and the /collab socket can give, asserted exactly
 * (status, code, message, details), next to the exact shapes of the happy paths
 * (DESIGN.md "Errors", "Authentication", "REST API"). Real servers on port 0 with temporary
 * SQLite folders; nothing is mocked.
 */
import { createHash } from "node:crypto";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import { listMessages, type AuthResult, type Conversation, type MessageDto, type User } from "@wbk/shared";
import WebSocket from "ws";
import * as Y from "yjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

// Rate limits are switched off (0) everywhere except in the tests about them, so the many
// sign-ins of this file never meet RATE_LIMIT_AUTH_PER_MIN.
const NO_LIMITS = { RATE_LIMIT_AUTH_PER_MIN: "0", RATE_LIMIT_MESSAGES_PER_MIN: "0" };
const PASSWORD = "correct horse battery";
const ID = /^[A-Za-z0-9_-]{21}$/;
const TOKEN = /^[a-z2-7]{32}$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

type Answer = { status: number; body: unknown; headers?: Headers };

/** The exact error body of DESIGN.md "Errors" (no `details` key unless given). */
function errorBody(code: string, message: string, details?: unknown) {
  return { error: details === undefined ? { code, message } : { code, message, details } };
}

/** Status and the whole body at once, so a failure shows both. */
function expectError(answer: Answer, status: number, code: string, message: string, details?: unknown): void {
  expect({ status: answer.status, body: answer.body }).toEqual({ status, body: errorBody(code, message, details) });
}

const sessionIdOf = (token: string) => createHash("sha256").update(token).digest("hex");

/** Waits (polling the clock) until Date.now() has moved past `ms`, so two rows never share a millisecond. */
async function pastMillisecond(ms = Date.now()): Promise<void> {
  await eventually(() => expect(Date.now()).toBeGreaterThan(ms), 1000, 1);
}

async function register(server: TestServer, body: Record<string, unknown>) {
  return api<AuthResult>(server.url, "POST", "/api/auth/register", { body });
}

async function login(server: TestServer, email: string, password: string) {
  return api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email, password } });
}

async function listConversations(server: TestServer, user: { token: string }): Promise<Conversation[]> {
  const answer = await api<{ conversations: Conversation[] }>(server.url, "GET", "/api/conversations", { token: user.token });
  expect(answer.status).toBe(200);
  return answer.body.conversations;
}

const byId = <T extends { id: string }>(list: readonly T[]) => [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const membersOf = (...users: TestUser[]) => byId(users.map((u) => ({ id: u.user.id, displayName: u.user.displayName })));

/** Splits a Set-Cookie header into its name=value and its attributes. */
function parseSetCookie(header: string | null): { pair: string; attributes: string[] } {
  expect(header).not.toBeNull();
  const [pair, ...attributes] = (header as string).split(";").map((s) => s.trim());
  return { pair: pair as string, attributes };
}

describe("sign-up, sign-in, sign-out and the signed-in user", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(NO_LIMITS);
  });
  afterAll(() => server.stop());

  it("registers: 201 {user, token}, email trimmed and lower-cased, names trimmed, HttpOnly Lax cookie", async () => {
    const before = Date.now();
    const answer = await register(server, { email: "  Ann.Register@Example.COM ", password: PASSWORD, displayName: "  Ann  " });
    const after = Date.now();
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body).sort()).toEqual(["token", "user"]);
    expect(answer.body.user).toEqual({
      id: expect.stringMatching(ID),
      email: "ann.register@example.com",
      displayName: "Ann",
      createdAt: expect.stringMatching(ISO),
    });
    expect(Date.parse(answer.body.user.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(answer.body.user.createdAt)).toBeLessThanOrEqual(after);
    expect(answer.body.token).toMatch(TOKEN);
    expect(answer.headers.get("content-type")).toBe("application/json");

    const cookie = parseSetCookie(answer.headers.get("set-cookie"));
    expect(cookie.pair).toBe(`wbk_session=${answer.body.token}`);
    expect([...cookie.attributes].sort()).toEqual(["HttpOnly", "Max-Age=2592000", "Path=/", "SameSite=Lax"]);

    // The token works as a bearer and as the cookie; both name the same user.
    const viaBearer = await api<{ user: User }>(server.url, "GET", "/api/me", { token: answer.body.token });
    const viaCookie = await api<{ user: User }>(server.url, "GET", "/api/me", { headers: { cookie: `wbk_session=${answer.body.token}` } });
    expect(viaBearer).toMatchObject({ status: 200, body: { user: answer.body.user } });
    expect(viaCookie).toMatchObject({ status: 200, body: { user: answer.body.user } });
  });

  it("accepts the boundaries: an 8-character password and a 100-character display name", async () => {
    const name = "n".repeat(100);
    const answer = await register(server, { email: "bounds@example.com", password: "12345678", displayName: ` ${name} ` });
    expect(answer.status).toBe(201);
    expect(answer.body.user.displayName).toBe(name);
    expect((await login(server, "bounds@example.com", "12345678")).status).toBe(200);
  });

  it("logs in: 200 {user, token} with a new token and cookie; email case and spaces do not matter", async () => {
    const ann = await signUp(server.url, "Ann");
    const answer = await login(server, `  ${ann.email.toUpperCase()}  `, ann.password);
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ user: ann.user, token: expect.stringMatching(TOKEN) });
    expect(answer.body.token).not.toBe(ann.token);
    const cookie = parseSetCookie(answer.headers.get("set-cookie"));
    expect(cookie.pair).toBe(`wbk_session=${answer.body.token}`);
    expect([...cookie.attributes].sort()).toEqual(["HttpOnly", "Max-Age=2592000", "Path=/", "SameSite=Lax"]);
    // Two live sessions now.
    for (const token of [ann.token, answer.body.token]) {
      expect(await api(server.url, "GET", "/api/me", { token })).toMatchObject({ status: 200, body: { user: ann.user } });
    }
  });

  it("GET and PATCH /api/me: 200 {user}; the new display name is trimmed and kept", async () => {
    const ann = await signUp(server.url, "Ann");
    const me = await api<{ user: User }>(server.url, "GET", "/api/me", { token: ann.token });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: ann.user, isAdmin: false });

    const patched = await api<{ user: User }>(server.url, "PATCH", "/api/me", { token: ann.token, body: { displayName: "  Annie  " } });
    expect(patched.status).toBe(200);
    expect(patched.body).toEqual({ user: { ...ann.user, displayName: "Annie" } });
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).body).toEqual({ user: { ...ann.user, displayName: "Annie" }, isAdmin: false });
    // The new name is what other members see too.
    const ben = await signUp(server.url, "Ben");
    const conversation = await createConversation(server.url, ben, [ann]);
    expect(byId(conversation.members)).toEqual(byId([
      { id: ann.user.id, displayName: "Annie" },
      { id: ben.user.id, displayName: "Ben" },
    ]));

    expectError(
      await api(server.url, "PATCH", "/api/me", { token: ann.token, body: { displayName: "   " } }),
      400, "validation_failed", "displayName must not be empty",
      [{ path: "displayName", message: "displayName must not be empty" }],
    );
    expectError(
      await api(server.url, "PATCH", "/api/me", { token: ann.token, body: { displayName: "x".repeat(101) } }),
      400, "validation_failed", "displayName must be at most 100 characters",
      [{ path: "displayName", message: "displayName must be at most 100 characters" }],
    );
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).body).toEqual({ user: { ...ann.user, displayName: "Annie" }, isAdmin: false });
  });

  it("invalid_json: a malformed JSON body is 400 on every JSON route", async () => {
    const ann = await signUp(server.url, "Ann");
    const conversation = await createConversation(server.url, ann, []);
    const routes: Array<[string, string]> = [
      ["POST", "/api/auth/register"],
      ["POST", "/api/auth/login"],
      ["POST", "/api/auth/password"],
      ["PATCH", "/api/me"],
      ["POST", "/api/conversations"],
      ["PATCH", `/api/conversations/${conversation.id}`],
      ["POST", `/api/conversations/${conversation.id}/members`],
      ["POST", `/api/conversations/${conversation.id}/messages`],
    ];
    for (const [method, path] of routes) {
      for (const raw of ['{"email": "a@example.com",', "{bad", ""]) {
        const answer = await api(server.url, method, path, { token: ann.token, raw });
        expect({ route: `${method} ${path}`, raw, status: answer.status, body: answer.body }).toEqual({
          route: `${method} ${path}`,
          raw,
          status: 400,
          body: errorBody("invalid_json", "the body is not valid JSON"),
        });
      }
    }
  });

  it("invalid_json: a body sent as another type (text/plain, or no Content-Type) is 400, not 500", async () => {
    const body = JSON.stringify({ email: "plain@example.com", password: PASSWORD, displayName: "Plain" });
    const message = "the body must be JSON (Content-Type: application/json)";
    expectError(
      await api(server.url, "POST", "/api/auth/register", { raw: body, headers: { "content-type": "text/plain" } }),
      400, "invalid_json", message,
    );
    const none = await fetch(`${server.url}/api/auth/register`, { method: "POST", body: new TextEncoder().encode(body) });
    expect(none.headers.get("content-type")).toBe("application/json");
    expect({ status: none.status, body: await none.json() }).toEqual({ status: 400, body: errorBody("invalid_json", message) });
    // Nothing was created.
    expectError(await login(server, "plain@example.com", PASSWORD), 401, "invalid_credentials", "wrong email or password");
  });

  it("validation_failed on sign-up: short password, empty or blank name, bad email, each with details [{path, message}]", async () => {
    const good = { email: "valid@example.com", password: PASSWORD, displayName: "Val" };
    expectError(
      await register(server, { ...good, password: "1234567" }),
      400, "validation_failed", "password must be at least 8 characters",
      [{ path: "password", message: "password must be at least 8 characters" }],
    );
    expectError(
      await register(server, { ...good, password: "p".repeat(257) }),
      400, "validation_failed", "password must be at most 256 characters",
      [{ path: "password", message: "password must be at most 256 characters" }],
    );
    for (const displayName of ["", "   ", "\t \n"]) {
      expectError(
        await register(server, { ...good, displayName }),
        400, "validation_failed", "displayName must not be empty",
        [{ path: "displayName", message: "displayName must not be empty" }],
      );
    }
    for (const email of ["not-an-email", "a@", "@example.com", "two@@example.com", "   "]) {
      expectError(
        await register(server, { ...good, email }),
        400, "validation_failed", "email must be a valid address",
        [{ path: "email", message: "email must be a valid address" }],
      );
    }
    // Every problem is listed, in field order; the message names the first.
    expectError(
      await register(server, { email: "x", password: "1", displayName: "  " }),
      400, "validation_failed", "email must be a valid address",
      [
        { path: "email", message: "email must be a valid address" },
        { path: "password", message: "password must be at least 8 characters" },
        { path: "displayName", message: "displayName must not be empty" },
      ],
    );
    const missing = "Invalid input: expected string, received undefined";
    expectError(
      await register(server, {}),
      400, "validation_failed", `email: ${missing}`,
      [{ path: "email", message: missing }, { path: "password", message: missing }, { path: "displayName", message: missing }],
    );
    expectError(
      await api(server.url, "POST", "/api/auth/register", { raw: "null" }),
      400, "validation_failed", "Invalid input: expected object, received null",
      [{ path: "", message: "Invalid input: expected object, received null" }],
    );
    expectError(
      await login(server, "valid@example.com", ""),
      400, "validation_failed", "password: Too small: expected string to have >=1 characters",
      [{ path: "password", message: "Too small: expected string to have >=1 characters" }],
    );
    // Nothing was created by any of these.
    expectError(await login(server, "valid@example.com", PASSWORD), 401, "invalid_credentials", "wrong email or password");
  });

  it("email_taken: the same email again, in another case or with spaces, is 409 and creates nothing", async () => {
    const first = await register(server, { email: "taken@example.com", password: PASSWORD, displayName: "First" });
    expect(first.status).toBe(201);
    for (const email of ["taken@example.com", "TAKEN@Example.Com", "  taken@example.com  ", " Taken@EXAMPLE.com\t"]) {
      const answer = await register(server, { email, password: "another password", displayName: "Second" });
      expectError(answer, 409, "email_taken", "an account with this email exists");
      expect(answer.headers.get("set-cookie")).toBeNull();
    }
    // The first account is untouched: its password works, the second one's does not.
    expect((await login(server, "taken@example.com", PASSWORD)).body).toMatchObject({ user: first.body.user });
    expectError(await login(server, "taken@example.com", "another password"), 401, "invalid_credentials", "wrong email or password");
  });

  it("invalid_credentials: wrong password and unknown email answer the same; a wrong currentPassword changes nothing", async () => {
    const ann = await signUp(server.url, "Ann");
    const wrongPassword = await login(server, ann.email, "not the password");
    const unknownEmail = await login(server, "nobody-here@example.com", ann.password);
    expectError(wrongPassword, 401, "invalid_credentials", "wrong email or password");
    expectError(unknownEmail, 401, "invalid_credentials", "wrong email or password");
    expect(wrongPassword.headers.get("set-cookie")).toBeNull();

    expectError(
      await api(server.url, "POST", "/api/auth/password", {
        token: ann.token,
        body: { currentPassword: "not the password", newPassword: "a brand new password" },
      }),
      401, "invalid_credentials", "the current password is wrong",
    );
    // The session that asked is still signed in and the password is unchanged.
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).status).toBe(200);
    expect((await login(server, ann.email, ann.password)).status).toBe(200);
    expectError(await login(server, ann.email, "a brand new password"), 401, "invalid_credentials", "wrong email or password");

    expectError(
      await api(server.url, "POST", "/api/auth/password", { token: ann.token, body: { currentPassword: ann.password, newPassword: "short" } }),
      400, "validation_failed", "newPassword: password must be at least 8 characters",
      [{ path: "newPassword", message: "password must be at least 8 characters" }],
    );
  });

  it("unauthenticated: no token, a garbage token, a garbage cookie or an empty bearer on every signed-in route", async () => {
    const ann = await signUp(server.url, "Ann");
    const conversation = await createConversation(server.url, ann, []);
    const id = conversation.id;
    const routes: Array<[string, string, unknown?]> = [
      ["POST", "/api/auth/logout"],
      ["POST", "/api/auth/password", { currentPassword: PASSWORD, newPassword: "another password" }],
      ["GET", "/api/me"],
      ["PATCH", "/api/me", { displayName: "Mallory" }],
      ["POST", "/api/conversations", { title: "Nope" }],
      ["GET", "/api/conversations"],
      ["PATCH", `/api/conversations/${id}`, { title: "Nope" }],
      ["POST", `/api/conversations/${id}/members`, { userId: ann.user.id }],
      ["DELETE", `/api/conversations/${id}/members/${ann.user.id}`],
      ["GET", `/api/conversations/${id}/messages`],
      ["POST", `/api/conversations/${id}/messages`, { id: "m-1", text: "hi" }],
    ];
    const callers: Array<[string, { token?: string; headers?: Record<string, string> }, string]> = [
      ["no token", {}, "sign in first"],
      ["empty bearer", { headers: { authorization: "Bearer " } }, "sign in first"],
      ["garbage bearer", { token: "garbage-token" }, "unknown session token"],
      ["garbage cookie", { headers: { cookie: "wbk_session=garbage-token" } }, "unknown session token"],
      // A bearer wins over the cookie: a bad bearer is refused even beside a good cookie.
      ["garbage bearer beside a good cookie", { token: "garbage-token", headers: { cookie: `wbk_session=${ann.token}` } }, "unknown session token"],
    ];
    for (const [method, path, body] of routes) {
      for (const [who, options, message] of callers) {
        const answer = await api(server.url, method, path, { ...options, ...(body === undefined ? {} : { body }) });
        expect({ call: `${who}: ${method} ${path}`, status: answer.status, body: answer.body }).toEqual({
          call: `${who}: ${method} ${path}`,
          status: 401,
          body: errorBody("unauthenticated", message),
        });
      }
    }
    // None of those changed anything.
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).body).toEqual({ user: ann.user, isAdmin: false });
    expect(await listConversations(server, ann)).toEqual([conversation]);
  });

  it("sign-out: 204, clears the cookie, the token is then session_revoked; other sessions live on", async () => {
    const ann = await signUp(server.url, "Ann");
    const other = (await login(server, ann.email, ann.password)).body.token;

    const answer = await api(server.url, "POST", "/api/auth/logout", { token: ann.token });
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();
    const cookie = parseSetCookie(answer.headers.get("set-cookie"));
    expect(cookie.pair).toBe("wbk_session=");
    expect(cookie.attributes).toContain("Max-Age=0");
    expect(cookie.attributes).toContain("Path=/");

    for (const [method, path] of [["GET", "/api/me"], ["GET", "/api/conversations"], ["POST", "/api/auth/logout"]] as const) {
      expectError(await api(server.url, method, path, { token: ann.token }), 401, "session_revoked", "this session was signed out");
    }
    expectError(
      await api(server.url, "GET", "/api/me", { headers: { cookie: `wbk_session=${ann.token}` } }),
      401, "session_revoked", "this session was signed out",
    );
    expect(await api(server.url, "GET", "/api/me", { token: other })).toMatchObject({ status: 200, body: { user: ann.user } });
  });

  it("sign-out with the cookie alone (a browser) revokes that session", async () => {
    const ann = await signUp(server.url, "Ann");
    const answer = await api(server.url, "POST", "/api/auth/logout", { headers: { cookie: `wbk_session=${ann.token}` } });
    expect(answer.status).toBe(204);
    expectError(await api(server.url, "GET", "/api/me", { token: ann.token }), 401, "session_revoked", "this session was signed out");
  });

  it("password change: 204; the other sessions are session_revoked, the changing one keeps working", async () => {
    const ann = await signUp(server.url, "Ann");
    const second = (await login(server, ann.email, ann.password)).body.token;
    const third = (await login(server, ann.email, ann.password)).body.token;
    const ben = await signUp(server.url, "Ben");

    const answer = await api(server.url, "POST", "/api/auth/password", {
      token: ann.token,
      body: { currentPassword: ann.password, newPassword: "the new password" },
    });
    expect(answer.status).toBe(204);
    expect(answer.body).toBeNull();

    expect(await api(server.url, "GET", "/api/me", { token: ann.token })).toMatchObject({ status: 200, body: { user: ann.user } });
    for (const token of [second, third]) {
      expectError(await api(server.url, "GET", "/api/me", { token }), 401, "session_revoked", "this session was signed out");
    }
    // Another user's session is not touched.
    expect((await api(server.url, "GET", "/api/me", { token: ben.token })).status).toBe(200);
    expectError(await login(server, ann.email, ann.password), 401, "invalid_credentials", "wrong email or password");
    expect(await login(server, ann.email, "the new password")).toMatchObject({ status: 200, body: { user: ann.user } });
  });

  it("not_found: an unknown /api path answers the JSON 404", async () => {
    expectError(await api(server.url, "GET", "/api/nope"), 404, "not_found", "no route GET /api/nope");
    expectError(await api(server.url, "POST", "/api/conversations/abc/nope", { body: {} }), 404, "not_found", "no route POST /api/conversations/abc/nope");
    expectError(await api(server.url, "DELETE", "/api/me"), 404, "not_found", "no route DELETE /api/me");
  });
});

describe("conversations, members and messages", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let carl: TestUser;
  let boss: TestUser;

  beforeAll(async () => {
    server = await startTestServer({ ...NO_LIMITS, ADMIN_EMAILS: "boss@example.com" });
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
    carl = await signUp(server.url, "Carl");
    const bossAnswer = await register(server, { email: "Boss@Example.com", password: PASSWORD, displayName: "Boss" });
    boss = { ...bossAnswer.body, email: "boss@example.com", password: PASSWORD };
  });
  afterAll(() => server.stop());

  it("GET /api/me says who is an admin (ADMIN_EMAILS, any case)", async () => {
    expect((await api(server.url, "GET", "/api/me", { token: boss.token })).body).toEqual({ user: boss.user, isAdmin: true });
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).body).toEqual({ user: ann.user, isAdmin: false });
  });

  it("creates: 201 {conversation} with the exact shape; ids and emails (any case) resolve, duplicates collapse", async () => {
    const before = Date.now();
    const answer = await api<{ conversation: Conversation }>(server.url, "POST", "/api/conversations", {
      token: ann.token,
      body: { title: "  Trip planning  ", memberIds: [ben.user.id, ann.user.id, ben.user.id], memberEmails: [` ${carl.email.toUpperCase()} `] },
    });
    const after = Date.now();
    expect(answer.status).toBe(201);
    expect(Object.keys(answer.body)).toEqual(["conversation"]);
    const { conversation } = answer.body;
    expect({ ...conversation, members: byId(conversation.members) }).toEqual({
      id: expect.stringMatching(ID),
      title: "Trip planning",
      createdAt: expect.stringMatching(ISO),
      createdBy: ann.user.id,
      members: membersOf(ann, ben, carl),
      lastMessageAt: null,
    });
    expect(Date.parse(conversation.createdAt)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(conversation.createdAt)).toBeLessThanOrEqual(after);
    for (const user of [ann, ben, carl]) expect((await listConversations(server, user)).map((c) => c.id)).toContain(conversation.id);
    expect((await listConversations(server, boss)).map((c) => c.id)).not.toContain(conversation.id);

    const exactly100 = await api<{ conversation: Conversation }>(server.url, "POST", "/api/conversations", {
      token: ann.token,
      body: { title: "t".repeat(100) },
    });
    expect(exactly100.status).toBe(201);
    expect(exactly100.body.conversation.title).toBe("t".repeat(100));
    expect(exactly100.body.conversation.members).toEqual(membersOf(ann));
  });

  it("validation_failed on titles and member lists, with details", async () => {
    expectError(
      await api(server.url, "POST", "/api/conversations", { token: ann.token, body: { title: "t".repeat(101) } }),
      400, "validation_failed", "title must be at most 100 characters",
      [{ path: "title", message: "title must be at most 100 characters" }],
    );
    for (const title of ["", "    "]) {
      expectError(
        await api(server.url, "POST", "/api/conversations", { token: ann.token, body: { title } }),
        400, "validation_failed", "title must not be empty",
        [{ path: "title", message: "title must not be empty" }],
      );
    }
    expectError(
      await api(server.url, "POST", "/api/conversations", { token: ann.token, body: { title: "ok", memberEmails: [ben.email, "not-an-email"] } }),
      400, "validation_failed", "memberEmails.1: email must be a valid address",
      [{ path: "memberEmails.1", message: "email must be a valid address" }],
    );
    expectError(
      await api(server.url, "POST", "/api/conversations", { token: ann.token, body: { title: "ok", memberIds: ["no spaces allowed"] } }),
      400, "validation_failed", "memberIds.0: must be an id",
      [{ path: "memberIds.0", message: "must be an id" }],
    );
  });

  it("user_not_found: unknown emails are named in details.emails and nothing is created", async () => {
    const annBefore = await listConversations(server, ann);
    const benBefore = await listConversations(server, ben);
    const answer = await api(server.url, "POST", "/api/conversations", {
      token: ann.token,
      body: { title: "Never", memberEmails: [ben.email.toUpperCase(), "ghost-one@example.com", " Ghost-Two@Example.com "] },
    });
    expectError(answer, 404, "user_not_found", "no account has the email ghost-one@example.com, ghost-two@example.com", {
      emails: ["ghost-one@example.com", "ghost-two@example.com"],
    });
    expectError(
      await api(server.url, "POST", "/api/conversations", { token: ann.token, body: { title: "Never", memberIds: [ben.user.id, "noSuchUser"] } }),
      404, "user_not_found", "no user has the id noSuchUser", { userIds: ["noSuchUser"] },
    );
    expect(await listConversations(server, ann)).toEqual(annBefore);
    expect(await listConversations(server, ben)).toEqual(benBefore);
  });

  it("lists the user's conversations, most recent activity first", async () => {
    const dana = await signUp(server.url, "Dana");
    const a = await createConversation(server.url, dana, [ben], "A");
    await pastMillisecond(Date.parse(a.createdAt));
    const b = await createConversation(server.url, dana, [], "B");
    await pastMillisecond(Date.parse(b.createdAt));
    const c = await createConversation(server.url, dana, [ben], "C");
    expect((await listConversations(server, dana)).map((x) => x.title)).toEqual(["C", "B", "A"]);

    await pastMillisecond(Date.parse(c.createdAt));
    const beforePost = Date.now();
    const posted = await api<{ message: MessageDto }>(server.url, "POST", `/api/conversations/${a.id}/messages`, {
      token: ben.token,
      body: { id: "order-1", text: "bump A" },
    });
    expect(posted.status).toBe(201);
    const list = await listConversations(server, dana);
    expect(list.map((x) => x.title)).toEqual(["A", "C", "B"]);
    const bumped = list[0] as Conversation;
    expect(bumped.lastMessageAt).toMatch(ISO);
    expect(Date.parse(bumped.lastMessageAt as string)).toBeGreaterThanOrEqual(beforePost);
    expect(Date.parse(bumped.lastMessageAt as string)).toBeLessThanOrEqual(posted.body.message.serverTime);
    expect(list.slice(1).map((x) => x.lastMessageAt)).toEqual([null, null]);
    // Ben sees only his two, in the same order.
    expect((await listConversations(server, ben)).filter((x) => [a.id, b.id, c.id].includes(x.id)).map((x) => x.title)).toEqual(["A", "C"]);
  });

  it("renames: 200 {conversation}; non-member forbidden, unknown id not_found, bad title and bad id validation_failed", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "Old");
    const renamed = await api<{ conversation: Conversation }>(server.url, "PATCH", `/api/conversations/${conversation.id}`, {
      token: ben.token,
      body: { title: "  New title " },
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toEqual({ conversation: { ...conversation, title: "New title" } });

    expectError(
      await api(server.url, "PATCH", `/api/conversations/${conversation.id}`, { token: carl.token, body: { title: "Hijacked" } }),
      403, "forbidden", "you are not a member of this conversation",
    );
    expectError(
      await api(server.url, "PATCH", "/api/conversations/noSuchConversation", { token: ann.token, body: { title: "x" } }),
      404, "not_found", "no such conversation",
    );
    expectError(
      await api(server.url, "PATCH", `/api/conversations/${conversation.id}`, { token: ann.token, body: { title: "x".repeat(101) } }),
      400, "validation_failed", "title must be at most 100 characters",
      [{ path: "title", message: "title must be at most 100 characters" }],
    );
    expectError(
      await api(server.url, "PATCH", "/api/conversations/bad.id", { token: ann.token, body: { title: "x" } }),
      400, "validation_failed", "id: must be an id", [{ path: "id", message: "must be an id" }],
    );
    expect((await listConversations(server, ann)).find((c) => c.id === conversation.id)?.title).toBe("New title");
  });

  it("adds members: 200 {conversation}; adding twice changes nothing; errors are exact", async () => {
    const conversation = await createConversation(server.url, ann, [], "Adding");
    const path = `/api/conversations/${conversation.id}/members`;
    const added = await api<{ conversation: Conversation }>(server.url, "POST", path, { token: ann.token, body: { userId: ben.user.id } });
    expect(added.status).toBe(200);
    const expected = { ...conversation, members: membersOf(ann, ben) };
    expect({ ...added.body.conversation, members: byId(added.body.conversation.members) }).toEqual(expected);

    const again = await api<{ conversation: Conversation }>(server.url, "POST", path, { token: ann.token, body: { userId: ben.user.id } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(added.body);
    const byEmail = await api<{ conversation: Conversation }>(server.url, "POST", path, {
      token: ben.token,
      body: { email: `  ${ben.email.toUpperCase()} ` },
    });
    expect(byEmail.status).toBe(200);
    expect(byEmail.body).toEqual(added.body);
    expect((await listConversations(server, ann)).find((c) => c.id === conversation.id)).toEqual(added.body.conversation);

    expectError(
      await api(server.url, "POST", path, { token: carl.token, body: { userId: carl.user.id } }),
      403, "forbidden", "you are not a member of this conversation",
    );
    expectError(
      await api(server.url, "POST", "/api/conversations/noSuchConversation/members", { token: ann.token, body: { userId: carl.user.id } }),
      404, "not_found", "no such conversation",
    );
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { email: "ghost@example.com" } }),
      404, "user_not_found", "no account has the email ghost@example.com", { emails: ["ghost@example.com"] },
    );
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { userId: "noSuchUser" } }),
      404, "user_not_found", "no user has the id noSuchUser", { userIds: ["noSuchUser"] },
    );
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: {} }),
      400, "validation_failed", "give userId or email (one of them)", [{ path: "", message: "give userId or email (one of them)" }],
    );
    const members = (await listConversations(server, ann)).find((c) => c.id === conversation.id)?.members ?? [];
    expect(byId(members)).toEqual(membersOf(ann, ben));
  });

  it("removes members: creator or admin may remove others, anyone may leave (204); exact errors otherwise", async () => {
    const conversation = await createConversation(server.url, ann, [ben, carl, boss], "Removing");
    const member = (user: TestUser) => `/api/conversations/${conversation.id}/members/${user.user.id}`;
    const current = async () => byId((await listConversations(server, ann)).find((c) => c.id === conversation.id)?.members ?? []);

    expectError(
      await api(server.url, "DELETE", member(carl), { token: ben.token }),
      403, "forbidden", "only the conversation's creator or an admin may remove other members",
    );
    expectError(
      await api(server.url, "DELETE", member(ann), { token: ben.token }),
      403, "forbidden", "only the conversation's creator or an admin may remove other members",
    );
    expect(await current()).toEqual(membersOf(ann, ben, carl, boss));

    const outsider = await signUp(server.url, "Outsider");
    expectError(
      await api(server.url, "DELETE", member(ben), { token: outsider.token }),
      403, "forbidden", "you are not a member of this conversation",
    );
    expectError(
      await api(server.url, "DELETE", member(outsider), { token: ann.token }),
      404, "not_found", "that user is not a member of this conversation",
    );
    expectError(
      await api(server.url, "DELETE", `/api/conversations/noSuchConversation/members/${ben.user.id}`, { token: ann.token }),
      404, "not_found", "no such conversation",
    );

    // Leaving = removing yourself.
    const left = await api(server.url, "DELETE", member(ben), { token: ben.token });
    expect(left.status).toBe(204);
    expect(left.body).toBeNull();
    expect((await listConversations(server, ben)).map((c) => c.id)).not.toContain(conversation.id);
    expectError(
      await api(server.url, "GET", `/api/conversations/${conversation.id}/messages`, { token: ben.token }),
      403, "forbidden", "you are not a member of this conversation",
    );
    expectError(
      await api(server.url, "DELETE", member(ben), { token: ann.token }),
      404, "not_found", "that user is not a member of this conversation",
    );
    expect(await current()).toEqual(membersOf(ann, carl, boss));

    // An admin (ADMIN_EMAILS) who is a member may remove someone else.
    expect((await api(server.url, "DELETE", member(carl), { token: boss.token })).status).toBe(204);
    expect(await current()).toEqual(membersOf(ann, boss));
    // The creator may remove others.
    expect((await api(server.url, "DELETE", member(boss), { token: ann.token })).status).toBe(204);
    expect(await current()).toEqual(membersOf(ann));
  });

  it("messages: 201 then 200 unchanged for the same id and text; 409 message_id_conflict otherwise", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "Messages");
    const path = `/api/conversations/${conversation.id}/messages`;
    const before = Date.now();
    const first = await api<{ message: MessageDto }>(server.url, "POST", path, { token: ann.token, body: { id: "msg-1", text: "hello" } });
    const after = Date.now();
    expect(first.status).toBe(201);
    expect(first.body).toEqual({
      message: {
        id: "msg-1",
        authorId: ann.user.id,
        kind: "text",
        text: "hello",
        createdAt: expect.any(Number),
        reactions: {},
        seq: 1,
        serverTime: expect.any(Number),
      },
    });
    for (const time of [first.body.message.createdAt, first.body.message.serverTime]) {
      expect(time).toBeGreaterThanOrEqual(before);
      expect(time).toBeLessThanOrEqual(after);
    }

    const same = await api(server.url, "POST", path, { token: ann.token, body: { id: "msg-1", text: "hello" } });
    expect(same).toMatchObject({ status: 200, body: first.body });
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { id: "msg-1", text: "changed" } }),
      409, "message_id_conflict", "a different message already has this id",
    );
    expectError(
      await api(server.url, "POST", path, { token: ben.token, body: { id: "msg-1", text: "hello" } }),
      409, "message_id_conflict", "a different message already has this id",
    );
    const reply = await api<{ message: MessageDto }>(server.url, "POST", path, {
      token: ben.token,
      body: { id: "msg-2", text: "hi Ann", replyTo: "msg-1" },
    });
    expect(reply.status).toBe(201);
    expect(reply.body.message).toMatchObject({ id: "msg-2", authorId: ben.user.id, replyTo: "msg-1", seq: 2 });

    const listed = await api<{ messages: MessageDto[]; next: number | null }>(server.url, "GET", path, { token: ben.token });
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual({ messages: [first.body.message, reply.body.message], next: null });
  });

  it("messages: forbidden for non-members, not_found for unknown conversations, validation_failed with details", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "Private");
    const path = `/api/conversations/${conversation.id}/messages`;
    expect((await api(server.url, "POST", path, { token: ann.token, body: { id: "secret", text: "secret text" } })).status).toBe(201);

    expectError(await api(server.url, "GET", path, { token: carl.token }), 403, "forbidden", "you are not a member of this conversation");
    expectError(
      await api(server.url, "POST", path, { token: carl.token, body: { id: "intruder", text: "let me in" } }),
      403, "forbidden", "you are not a member of this conversation",
    );
    expectError(
      await api(server.url, "GET", "/api/conversations/noSuchConversation/messages", { token: ann.token }),
      404, "not_found", "no such conversation",
    );
    expectError(
      await api(server.url, "POST", "/api/conversations/noSuchConversation/messages", { token: ann.token, body: { id: "x", text: "x" } }),
      404, "not_found", "no such conversation",
    );

    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { id: "long", text: "x".repeat(4001) } }),
      400, "validation_failed", "text must be at most 4000 characters",
      [{ path: "text", message: "text must be at most 4000 characters" }],
    );
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { id: "m 1", text: "   " } }),
      400, "validation_failed", "id: must be 1-64 characters of A-Z a-z 0-9 _ -",
      [
        { path: "id", message: "must be 1-64 characters of A-Z a-z 0-9 _ -" },
        { path: "text", message: "text must not be empty" },
      ],
    );
    expectError(
      await api(server.url, "POST", path, { token: ann.token, body: { id: "lone", text: "broken \ud800 surrogate" } }),
      400, "validation_failed", "text must be well-formed Unicode",
      [{ path: "text", message: "text must be well-formed Unicode" }],
    );
    expectError(
      await api(server.url, "GET", `${path}?after=1&before=3`, { token: ann.token }),
      400, "validation_failed", "give after or before, not both",
      [{ path: "before", message: "cannot be combined with after" }],
    );
    expectError(
      await api(server.url, "GET", `${path}?limit=201`, { token: ann.token }),
      400, "validation_failed", "limit must be at most 200",
      [{ path: "limit", message: "limit must be at most 200" }],
    );
    // Exactly 4000 characters is fine; nothing refused was written.
    expect((await api(server.url, "POST", path, { token: ann.token, body: { id: "max", text: "y".repeat(4000) } })).status).toBe(201);
    const listed = await api<{ messages: MessageDto[] }>(server.url, "GET", path, { token: ben.token });
    expect(listed.body.messages.map((m) => [m.id, m.seq])).toEqual([["secret", 1], ["max", 2]]);
  });
});

describe("payload_too_large (MAX_BODY_BYTES=2048)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_LIMITS, MAX_BODY_BYTES: "2048" });
  });
  afterAll(() => server.stop());

  it("refuses JSON bodies over the byte limit with 413, however they are sent", async () => {
    expect((await api(server.url, "GET", "/api/config")).body).toMatchObject({ limits: { maxBodyBytes: 2048 } });
    const tooBig = { email: "big@example.com", password: PASSWORD, displayName: "x".repeat(2100) };
    expectError(await register(server, tooBig), 413, "payload_too_large", "the body is over 2048 bytes");

    // Bytes count, not characters: 1,100 "é" are 2,200 bytes.
    expectError(
      await register(server, { email: "big@example.com", password: PASSWORD, displayName: "é".repeat(1100) }),
      413, "payload_too_large", "the body is over 2048 bytes",
    );

    // Chunked, without Content-Length.
    const bytes = new TextEncoder().encode(JSON.stringify(tooBig));
    const response = await fetch(`${server.url}/api/auth/register`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(bytes.slice(0, 1000));
          controller.enqueue(bytes.slice(1000));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 413,
      body: errorBody("payload_too_large", "the body is over 2048 bytes"),
    });

    // None of them created the account; a body under the limit is served.
    expectError(await login(server, "big@example.com", PASSWORD), 401, "invalid_credentials", "wrong email or password");
    const fits = await register(server, { email: "big@example.com", password: PASSWORD, displayName: "x".repeat(100) });
    expect(fits.status).toBe(201);

    // Signed-in routes too, before anything else is looked at.
    const conversation = await createConversation(server.url, { ...fits.body, email: "big@example.com", password: PASSWORD }, []);
    expectError(
      await api(server.url, "POST", `/api/conversations/${conversation.id}/messages`, {
        token: fits.body.token,
        body: { id: "big", text: "z".repeat(3000) },
      }),
      413, "payload_too_large", "the body is over 2048 bytes",
    );
    expectError(
      await api(server.url, "POST", `/api/conversations/${conversation.id}/messages`, { body: { id: "big", text: "z".repeat(3000) } }),
      413, "payload_too_large", "the body is over 2048 bytes",
    );
    const listed = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${conversation.id}/messages`, {
      token: fits.body.token,
    });
    expect(listed.body.messages).toEqual([]);
  });
});

describe("session expiry (SESSION_TTL_SECONDS=1)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_LIMITS, SESSION_TTL_SECONDS: "1" });
  });
  afterAll(() => server.stop());

  const expiresAt = (token: string) => {
    const session = server.running.storage.sessions.get(sessionIdOf(token));
    expect(session).not.toBeUndefined();
    return (session as { expiresAt: number }).expiresAt;
  };

  it("an unused token becomes session_expired; signing in again works", async () => {
    const ann = await signUp(server.url, "Ann");
    const cookie = parseSetCookie((await login(server, ann.email, ann.password)).headers.get("set-cookie"));
    expect(cookie.attributes).toContain("Max-Age=1");
    const deadline = expiresAt(ann.token);
    // Poll the clock, not the token: any use of the token would slide its expiry.
    await eventually(() => expect(Date.now()).toBeGreaterThanOrEqual(deadline), 5000);
    expectError(await api(server.url, "GET", "/api/me", { token: ann.token }), 401, "session_expired", "this session has expired; sign in again");
    expectError(
      await api(server.url, "GET", "/api/conversations", { headers: { cookie: `wbk_session=${ann.token}` } }),
      401, "session_expired", "this session has expired; sign in again",
    );
    const again = await login(server, ann.email, ann.password);
    expect(again.status).toBe(200);
    expect((await api(server.url, "GET", "/api/me", { token: again.body.token })).body).toEqual({ user: ann.user, isAdmin: false });
  });

  it("a token in use slides its expiry forward and outlives its first deadline", async () => {
    const ann = await signUp(server.url, "Ann");
    const firstDeadline = expiresAt(ann.token);
    const statuses = new Set<number>();
    await eventually(
      async () => {
        statuses.add((await api(server.url, "GET", "/api/me", { token: ann.token })).status);
        expect(Date.now()).toBeGreaterThan(firstDeadline + 500);
      },
      5000,
      100,
    );
    expect([...statuses]).toEqual([200]);
    expect(expiresAt(ann.token)).toBeGreaterThan(firstDeadline + 500);
  });
});

// ---- the /collab socket ----
// (csrf_rejected and the rate limits have their own files: security-sessions, rate-limits.)

interface SocketProbe {
  socket: HocuspocusProviderWebsocket;
  /** Every close of the WebSocket itself (code and reason as sent by the server). */
  disconnects: Array<{ code: number; reason: string }>;
}

interface DocumentProbe {
  doc: Y.Doc;
  provider: HocuspocusProvider;
  synced: boolean;
  authenticated: boolean;
  authFailures: string[];
  /** Every "close" the provider emits: the server closing this document, or the whole socket. */
  closes: Array<{ code: number; reason: string }>;
}

const openSockets: HocuspocusProviderWebsocket[] = [];
const openProviders: HocuspocusProvider[] = [];

/** A socket that records its closes and does not reconnect after the first one. */
function openSocket(server: TestServer): SocketProbe {
  const socket = new HocuspocusProviderWebsocket({
    url: `ws://127.0.0.1:${server.running.port}/collab`,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  openSockets.push(socket);
  const probe: SocketProbe = { socket, disconnects: [] };
  socket.on("disconnect", ({ event }: { event: { code: number; reason: string } }) => {
    probe.disconnects.push({ code: event.code, reason: String(event.reason) });
    // Observe the server's close as it was; a reconnect would only repeat or mask it.
    socket.shouldConnect = false;
  });
  return probe;
}

function openDocument(socket: SocketProbe, conversationId: string, token: string): DocumentProbe {
  const doc = new Y.Doc();
  const provider = new HocuspocusProvider({
    websocketProvider: socket.socket,
    name: `conversation:${conversationId}`,
    document: doc,
    token,
  });
  openProviders.push(provider);
  const probe: DocumentProbe = { doc, provider, synced: false, authenticated: false, authFailures: [], closes: [] };
  provider.on("synced", () => {
    probe.synced = true;
  });
  provider.on("authenticated", () => {
    probe.authenticated = true;
  });
  provider.on("authenticationFailed", ({ reason }: { reason: string }) => probe.authFailures.push(reason));
  provider.on("close", ({ event }: { event: { code: number; reason: string } }) => {
    probe.closes.push({ code: event.code, reason: String(event.reason) });
  });
  provider.attach();
  return probe;
}

const texts = (probe: DocumentProbe) => listMessages(probe.doc).map((m) => m.text);

async function post(server: TestServer, user: TestUser, conversationId: string, id: string, text: string): Promise<void> {
  const answer = await api(server.url, "POST", `/api/conversations/${conversationId}/messages`, { token: user.token, body: { id, text } });
  expect(answer.status).toBe(201);
}

function closeSocketsAndProviders(): void {
  for (const provider of openProviders.splice(0)) provider.destroy();
  for (const socket of openSockets.splice(0)) socket.destroy();
}

describe("the /collab socket refuses and cuts exactly", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let carl: TestUser;

  beforeAll(async () => {
    server = await startTestServer(NO_LIMITS);
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
    carl = await signUp(server.url, "Carl");
  });
  afterEach(closeSocketsAndProviders);
  afterAll(() => server.stop());

  it("(a) a non-member's document is refused with reason forbidden and their Y.Doc stays empty", async () => {
    const secret = await createConversation(server.url, ann, [ben], "Secret");
    await post(server, ann, secret.id, "s1", "secret one");
    await post(server, ben, secret.id, "s2", "secret two");
    const own = await createConversation(server.url, carl, [], "Carl's own");
    await post(server, carl, own.id, "c1", "carl's note");

    const socket = openSocket(server);
    const refused = openDocument(socket, secret.id, carl.token);
    await eventually(() => expect(refused.authFailures).toEqual(["forbidden"]));
    // A document opened after it on the same socket syncs: everything about the refused one has arrived by then.
    const allowed = openDocument(socket, own.id, carl.token);
    await eventually(() => expect(allowed.synced).toBe(true));
    expect(texts(allowed)).toEqual(["carl's note"]);

    expect(refused.authenticated).toBe(false);
    expect(refused.synced).toBe(false);
    expect(texts(refused)).toEqual([]);
    expect([...Y.encodeStateVector(refused.doc)]).toEqual([0]);
    // Only the document was refused; the socket stays up.
    expect(socket.disconnects).toEqual([]);

    // A member on the same server gets the messages (the refusal is not an empty document).
    const memberSocket = openSocket(server);
    const member = openDocument(memberSocket, secret.id, ben.token);
    await eventually(() => expect(texts(member)).toEqual(["secret one", "secret two"]));
  });

  it("(b) a garbage token: the document is refused and the socket closed with 4401 unauthenticated", async () => {
    const conversation = await createConversation(server.url, ann, [], "Garbage");
    await post(server, ann, conversation.id, "g1", "not for strangers");
    const socket = openSocket(server);
    const document = openDocument(socket, conversation.id, "garbage-token");
    await eventually(() => expect(socket.disconnects).toEqual([{ code: 4401, reason: "unauthenticated" }]));
    expect(document.authFailures).toEqual(["unauthenticated"]);
    expect(texts(document)).toEqual([]);
  });

  it("(c) sign-out closes the session's live, synced socket with 4401 session_revoked, and the token stays refused", async () => {
    const conversation = await createConversation(server.url, ann, [], "Sign-out");
    await post(server, ann, conversation.id, "o1", "before sign-out");
    const token = (await login(server, ann.email, ann.password)).body.token;
    const socket = openSocket(server);
    const document = openDocument(socket, conversation.id, token);
    await eventually(() => expect(document.synced).toBe(true));
    expect(texts(document)).toEqual(["before sign-out"]);
    expect(socket.disconnects).toEqual([]);

    expect((await api(server.url, "POST", "/api/auth/logout", { token })).status).toBe(204);
    await eventually(() => expect(socket.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));

    // A new socket with the signed-out token: the document is refused with the same reason and
    // nothing of it arrives; the socket stays, so the client can sign in again on it.
    const again = openSocket(server);
    const refused = openDocument(again, conversation.id, token);
    await eventually(() => expect(refused.authFailures).toEqual(["session_revoked"]));
    expect(texts(refused)).toEqual([]);
    await new Promise((r) => setTimeout(r, 300));
    expect(again.disconnects).toEqual([]);
  });

  it("a password change closes the other sessions' sockets with 4401 session_revoked; the changing session's socket lives", async () => {
    const dana = await signUp(server.url, "Dana");
    const conversation = await createConversation(server.url, dana, [], "Password");
    const otherToken = (await login(server, dana.email, dana.password)).body.token;
    const mine = openSocket(server);
    const other = openSocket(server);
    const onMine = openDocument(mine, conversation.id, dana.token);
    const onOther = openDocument(other, conversation.id, otherToken);
    await eventually(() => expect(onMine.synced && onOther.synced).toBe(true));

    const changed = await api(server.url, "POST", "/api/auth/password", {
      token: dana.token,
      body: { currentPassword: dana.password, newPassword: "a new password for dana" },
    });
    expect(changed.status).toBe(204);
    await eventually(() => expect(other.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));

    await post(server, dana, conversation.id, "p1", "still connected");
    await eventually(() => expect(texts(onMine)).toEqual(["still connected"]));
    expect(mine.disconnects).toEqual([]);
  });

  it("(e) removing a member closes that member's document with reason forbidden; their other documents stay live", async () => {
    const removedFrom = await createConversation(server.url, ann, [ben], "Removed from");
    const kept = await createConversation(server.url, ann, [ben], "Kept");
    await post(server, ann, removedFrom.id, "e1", "before removal");
    const socket = openSocket(server);
    const onRemoved = openDocument(socket, removedFrom.id, ben.token);
    const onKept = openDocument(socket, kept.id, ben.token);
    await eventually(() => expect(onRemoved.synced && onKept.synced).toBe(true));
    expect(texts(onRemoved)).toEqual(["before removal"]);

    const removed = await api(server.url, "DELETE", `/api/conversations/${removedFrom.id}/members/${ben.user.id}`, { token: ann.token });
    expect(removed.status).toBe(204);
    await eventually(() => expect(onRemoved.closes.map((c) => c.reason)).toEqual(["forbidden"]));
    expect(onKept.closes).toEqual([]);
    expect(socket.disconnects).toEqual([]);

    // New messages reach the kept document, never the closed one.
    await post(server, ann, removedFrom.id, "e2", "after removal");
    await post(server, ann, kept.id, "k1", "kept is live");
    await eventually(() => expect(texts(onKept)).toEqual(["kept is live"]));
    expect(texts(onRemoved)).toEqual(["before removal"]);
  });

  it("leaving (removing yourself) closes your own document with reason forbidden", async () => {
    const conversation = await createConversation(server.url, ann, [carl], "Leaving");
    const socket = openSocket(server);
    const document = openDocument(socket, conversation.id, carl.token);
    await eventually(() => expect(document.synced).toBe(true));
    expect((await api(server.url, "DELETE", `/api/conversations/${conversation.id}/members/${carl.user.id}`, { token: carl.token })).status).toBe(204);
    await eventually(() => expect(document.closes.map((c) => c.reason)).toEqual(["forbidden"]));
    expect(socket.disconnects).toEqual([]);
  });
});

describe("the /collab socket when a session expires (SESSION_TTL_SECONDS=2)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ ...NO_LIMITS, SESSION_TTL_SECONDS: "2" });
  });
  afterEach(closeSocketsAndProviders);
  afterAll(() => server.stop());

  it("(d) a synced socket is closed with 4401 session_expired once its session expires, not before", async () => {
    const ann = await signUp(server.url, "Ann");
    const conversation = await createConversation(server.url, ann, [], "Expiring");
    await post(server, ann, conversation.id, "x1", "expires soon");
    const session = server.running.storage.sessions.get(sessionIdOf(ann.token));
    expect(session).not.toBeUndefined();
    const deadline = (session as { expiresAt: number }).expiresAt;

    const socket = openSocket(server);
    let closedAt = 0;
    socket.socket.on("disconnect", () => {
      closedAt ||= Date.now();
    });
    const document = openDocument(socket, conversation.id, ann.token);
    await eventually(() => expect(document.synced).toBe(true));
    expect(texts(document)).toEqual(["expires soon"]);
    expect(Date.now()).toBeLessThan(deadline);

    await eventually(() => expect(socket.disconnects).toEqual([{ code: 4401, reason: "session_expired" }]), 10_000);
    expect(closedAt).toBeGreaterThanOrEqual(deadline);
    // At once: by the session's own timer, not the 10 s ping beat (the end read now includes
    // any slide the socket's sign-in gave it).
    const end = (server.running.storage.sessions.get(sessionIdOf(ann.token)) as { expiresAt: number }).expiresAt;
    expect(closedAt - end).toBeGreaterThanOrEqual(0);
    expect(closedAt - end).toBeLessThan(500);
    expectError(await api(server.url, "GET", "/api/me", { token: ann.token }), 401, "session_expired", "this session has expired; sign in again");
  });
});
