/**
 * Trust and hardening: cookie requests and socket upgrades from other origins (403
 * csrf_rejected, nothing done), CORS for CORS_ORIGINS only, the cookie's flags, and sessions
 * that end cutting their live sockets at once with the right reason (DESIGN.md "Errors",
 * "Authentication"). The bearer-token variants of sign-out and password change, and expiry on
 * the real clock, are in auth-access.test.ts; here the browser's path (the cookie, on REST and
 * on the socket) and expiry on the server's injected clock.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import { listMessages, type AuthResult, type Conversation } from "@wbk/shared";
import WebSocket from "ws";
import * as Y from "yjs";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { Clock, startClockedServer } from "./helpers/activity.js";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { fixture, tusClient } from "./helpers/tus.js";
import { api, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const NO_LIMITS = { RATE_LIMIT_AUTH_PER_MIN: "0", RATE_LIMIT_MESSAGES_PER_MIN: "0" };
const LISTED = "https://app.example.com";
const FOREIGN = "https://evil.example";
const TTL_MS = 2_592_000 * 1000;
const CSRF = {
  error: { code: "csrf_rejected", message: "a page of another origin may not use this session's cookie to change anything" },
};
const EXPOSED =
  "Location,Upload-Offset,Upload-Length,Upload-Expires,Tus-Resumable,Tus-Version,Tus-Extension,Tus-Max-Size," +
  "Wbk-Video-Id,Wbk-Message-Id,Retry-After,Content-Range,Accept-Ranges,ETag,Allow";

const cookie = (user: { token: string }) => ({ cookie: `wbk_session=${user.token}` });
/** The answer's headers whose names start with one of `prefixes`. */
function headersStarting(headers: Headers, ...prefixes: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  headers.forEach((value, name) => {
    if (prefixes.some((prefix) => name.startsWith(prefix))) found[name] = value;
  });
  return found;
}
const corsHeaders = (headers: Headers) => Object.keys(headersStarting(headers, "access-control-"));
const sessionIdOf = (token: string) => createHash("sha256").update(token).digest("hex");

async function conversationsOf(server: TestServer, user: TestUser): Promise<Conversation[]> {
  const answer = await api<{ conversations: Conversation[] }>(server.url, "GET", "/api/conversations", { token: user.token });
  expect(answer.status).toBe(200);
  return answer.body.conversations;
}

async function messageTexts(server: TestServer, user: TestUser, conversationId: string): Promise<string[]> {
  const answer = await api<{ messages: Array<{ text: string }> }>(server.url, "GET", `/api/conversations/${conversationId}/messages`, {
    token: user.token,
  });
  expect(answer.status).toBe(200);
  return answer.body.messages.map((m) => m.text);
}

// ---- sockets as a browser opens them: the page's Origin and the cookie in the upgrade ----

interface Probe {
  doc: Y.Doc;
  synced: boolean;
  authFailures: string[];
  /** Every close of the WebSocket itself, and when the client saw it. */
  disconnects: Array<{ code: number; reason: string }>;
  closedAt: number;
}

const opened: Array<{ socket: HocuspocusProviderWebsocket; provider: HocuspocusProvider }> = [];

function closeProbes(): void {
  const sockets = new Set<HocuspocusProviderWebsocket>();
  for (const { socket, provider } of opened.splice(0)) {
    provider.destroy();
    sockets.add(socket);
  }
  for (const socket of sockets) socket.destroy();
}

/** One conversation on its own socket; `token` empty = the cookie signs in, as in browsers. */
function connect(server: TestServer, conversationId: string, options: { headers?: Record<string, string>; token?: string }): Probe {
  const headers = options.headers ?? {};
  class BrowserLike extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, { headers });
    }
  }
  const socket = new HocuspocusProviderWebsocket({
    url: `ws://127.0.0.1:${server.running.port}/collab`,
    WebSocketPolyfill: BrowserLike as unknown as typeof globalThis.WebSocket,
  });
  const doc = new Y.Doc();
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: `conversation:${conversationId}`,
    document: doc,
    token: options.token ?? "",
  });
  opened.push({ socket, provider });
  const probe: Probe = { doc, synced: false, authFailures: [], disconnects: [], closedAt: 0 };
  provider.on("synced", () => {
    probe.synced = true;
  });
  provider.on("authenticationFailed", ({ reason }: { reason: string }) => probe.authFailures.push(reason));
  socket.on("disconnect", ({ event }: { event: { code: number; reason: string } }) => {
    probe.closedAt ||= Date.now();
    probe.disconnects.push({ code: event.code, reason: String(event.reason) });
    // The server's close as it was: a reconnect would only repeat or mask it.
    socket.shouldConnect = false;
  });
  provider.attach();
  return probe;
}

const texts = (probe: Probe) => listMessages(probe.doc).map((m) => m.text);

/**
 * One bare socket (bearer tokens, no cookie) carrying several documents, each opened with its
 * own token, in order: the next opens only once the one before has synced.
 */
async function connectShared(server: TestServer, opens: Array<{ conversationId: string; token: string }>): Promise<Probe[]> {
  const socket = new HocuspocusProviderWebsocket({
    url: `ws://127.0.0.1:${server.running.port}/collab`,
    WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
  });
  const disconnects: Probe["disconnects"] = [];
  const probes: Probe[] = [];
  socket.on("disconnect", ({ event }: { event: { code: number; reason: string } }) => {
    disconnects.push({ code: event.code, reason: String(event.reason) });
    for (const probe of probes) probe.closedAt ||= Date.now();
    socket.shouldConnect = false;
  });
  for (const { conversationId, token } of opens) {
    const doc = new Y.Doc();
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: `conversation:${conversationId}`, document: doc, token });
    opened.push({ socket, provider });
    const probe: Probe = { doc, synced: false, authFailures: [], disconnects, closedAt: 0 };
    provider.on("synced", () => {
      probe.synced = true;
    });
    provider.on("authenticationFailed", ({ reason }: { reason: string }) => probe.authFailures.push(reason));
    provider.attach();
    probes.push(probe);
    await eventually(() => expect(probe.synced).toBe(true));
  }
  return probes;
}

/** A bare upgrade: "open", or the HTTP answer that refused it. */
function upgrade(server: TestServer, headers: Record<string, string>, route = "/collab") {
  return new Promise<"open" | { status: number; contentType: string | undefined; body: unknown }>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.running.port}${route}`, { headers });
    ws.on("open", () => {
      ws.close();
      resolve("open");
    });
    ws.on("unexpected-response", (_req, res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, contentType: res.headers["content-type"], body: JSON.parse(body) }));
    });
    ws.on("error", reject);
  });
}

describe("cookie requests from other origins (CSRF) and CORS_ORIGINS", () => {
  const cast = useTwoPeople({ ...NO_LIMITS, CORS_ORIGINS: LISTED });
  const own = () => cast.server.url;
  afterEach(closeProbes);

  it("a state-changing cookie request from a foreign page gets 403 csrf_rejected and creates nothing", async () => {
    const before = await conversationsOf(cast.server, cast.ann);
    const port = cast.server.running.port;
    const foreign: Array<Record<string, string>> = [
      { origin: FOREIGN },
      { origin: "null" },
      // Another port is another origin; so is a look-alike host.
      { origin: `http://127.0.0.1:${port + 1}` },
      { origin: `https://127.0.0.1:${port}` },
      { origin: `${LISTED}.evil.example` },
      // Without TRUST_PROXY the forwarded headers name nothing.
      { origin: FOREIGN, "x-forwarded-proto": "https", "x-forwarded-host": "evil.example" },
      // No Origin, but the browser says the page is elsewhere.
      { "sec-fetch-site": "cross-site" },
      { "sec-fetch-site": "same-site" },
    ];
    for (const headers of foreign) {
      const answer = await api(cast.server.url, "POST", "/api/conversations", {
        headers: { ...cookie(cast.ann), ...headers },
        body: { title: "Forged", memberIds: [cast.ben.user.id] },
      });
      expect({ headers, status: answer.status, body: answer.body, cors: corsHeaders(answer.headers) }).toEqual({
        headers,
        status: 403,
        body: CSRF,
        cors: [],
      });
    }
    expect(await conversationsOf(cast.server, cast.ann)).toEqual(before);
    expect(await conversationsOf(cast.server, cast.ben)).toHaveLength(before.length);
  });

  it("the same request passes from the server's own origin, from a non-browser client, and with a bearer token from anywhere", async () => {
    const before = (await conversationsOf(cast.server, cast.ann)).length;
    const passing: Array<[string, { token?: string; headers: Record<string, string> }]> = [
      ["own origin, cookie", { headers: { ...cookie(cast.ann), origin: own() } }],
      ["own origin, cookie, Sec-Fetch-Site same-origin", { headers: { ...cookie(cast.ann), origin: own(), "sec-fetch-site": "same-origin" } }],
      ["no Origin (not a page), cookie", { headers: cookie(cast.ann) }],
      ["no Origin, Sec-Fetch-Site none (typed by the user)", { headers: { ...cookie(cast.ann), "sec-fetch-site": "none" } }],
      ["bearer from a foreign page", { token: cast.ann.token, headers: { origin: FOREIGN } }],
      ["bearer and cookie from a foreign page: the bearer decides", { token: cast.ann.token, headers: { ...cookie(cast.ann), origin: FOREIGN } }],
    ];
    for (const [label, options] of passing) {
      const answer = await api<{ conversation: Conversation }>(cast.server.url, "POST", "/api/conversations", {
        ...options,
        body: { title: label },
      });
      expect({ label, status: answer.status, title: answer.body.conversation?.title }).toEqual({ label, status: 201, title: label });
    }
    expect(await conversationsOf(cast.server, cast.ann)).toHaveLength(before + passing.length);
  });

  it("every state-changing route refuses the foreign page; reads still answer, without CORS headers", async () => {
    const { server, ann, ben, conversationId } = cast;
    const c = `/api/conversations/${conversationId}`;
    const forged: Array<[string, string, unknown]> = [
      ["PATCH", "/api/me", { displayName: "Forged" }],
      ["PATCH", c, { title: "Forged" }],
      ["POST", `${c}/messages`, { id: "forged", text: "forged" }],
      ["POST", `${c}/members`, { userId: ann.user.id }],
      ["DELETE", `${c}/members/${ben.user.id}`, undefined],
      ["POST", "/api/auth/password", { currentPassword: ann.password, newPassword: "the forger's password" }],
      ["POST", "/api/auth/logout", undefined],
    ];
    for (const [method, route, body] of forged) {
      const answer = await api(server.url, method, route, { headers: { ...cookie(ann), origin: FOREIGN }, body });
      expect({ method, route, status: answer.status, body: answer.body }).toEqual({ method, route, status: 403, body: CSRF });
    }
    const sync = await fetch(`${server.url}${c}/sync`, {
      method: "POST",
      headers: { ...cookie(ann), origin: FOREIGN, "content-type": "application/octet-stream" },
      body: Y.encodeStateAsUpdate(new Y.Doc()) as Uint8Array<ArrayBuffer>,
    });
    expect({ status: sync.status, body: await sync.json() }).toEqual({ status: 403, body: CSRF });

    // Nothing changed: name, title, members, messages, session, password.
    const me = await api<{ user: { displayName: string } }>(server.url, "GET", "/api/me", { headers: { ...cookie(ann), origin: FOREIGN } });
    expect({ status: me.status, displayName: me.body.user.displayName, cors: corsHeaders(me.headers) }).toEqual({
      status: 200,
      displayName: "Ann",
      cors: [],
    });
    const conversation = (await conversationsOf(server, ann)).find((x) => x.id === conversationId);
    expect(conversation?.title).toBe("Family");
    expect(conversation?.members.map((m) => m.id).sort()).toEqual([ann.user.id, ben.user.id].sort());
    expect(await messageTexts(server, ann, conversationId)).toEqual([]);
    const login = await api(server.url, "POST", "/api/auth/login", { body: { email: ann.email, password: ann.password } });
    expect(login.status).toBe(200);
  });

  it("/api/openapi.json documents 403 csrf_rejected on every state-changing operation, and on no read", async () => {
    type Spec = { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    const spec = (await api<Spec>(cast.server.url, "GET", "/api/openapi.json")).body;
    const forbidden = (method: string, route: string) => spec.paths[route]?.[method]?.responses["403"]?.description ?? null;
    expect({
      create: forbidden("post", "/api/conversations"),
      rename: forbidden("patch", "/api/conversations/{id}"),
      logout: forbidden("post", "/api/auth/logout"),
      upload: forbidden("post", "/api/uploads"),
      list: forbidden("get", "/api/conversations"),
      me: forbidden("get", "/api/me"),
    }).toEqual({
      create: "csrf_rejected",
      rename: "forbidden, csrf_rejected",
      logout: "csrf_rejected",
      upload: "forbidden, csrf_rejected",
      list: null,
      me: null,
    });
    const stateChanging = Object.entries(spec.paths).flatMap(([route, item]) =>
      Object.entries(item)
        .filter(([method]) => ["post", "patch", "put", "delete"].includes(method))
        .map(([method, operation]) => ({ route: `${method} ${route}`, csrf: operation.responses["403"]?.description.endsWith("csrf_rejected") })),
    );
    expect(stateChanging.filter((operation) => !operation.csrf)).toEqual([]);
  });

  it("tus: a foreign page's cookie POST, PATCH and DELETE get 403 csrf_rejected with Tus-Resumable; the upload stays as it was", async () => {
    const { server, ann } = cast;
    const uploads = await createConversation(server.url, ann, [], "Uploads");
    const video = fixture("clip-h264-5s.mp4");
    const metadata = { conversationId: uploads.id, filename: "clip.mp4", filetype: "video/mp4" };
    const tus = tusClient(server.url);

    const refused = await tus.create(video.byteLength, metadata, { ...cookie(ann), origin: FOREIGN });
    expect({ status: refused.status, json: refused.json, tus: refused.headers.get("tus-resumable"), cors: corsHeaders(refused.headers) }).toEqual({
      status: 403,
      json: CSRF,
      tus: "1.0.0",
      cors: [],
    });
    expect(await messageTexts(server, ann, uploads.id)).toEqual([]);
    expect(fs.readdirSync(path.join(server.dataDir, "uploads"))).toEqual([]);

    const created = await tus.create(video.byteLength, metadata, { ...cookie(ann), origin: own() });
    expect(created.status).toBe(201);
    const location = created.headers.get("location") as string;
    const viaBearer = await tusClient(server.url, ann.token).create(video.byteLength, metadata, { origin: FOREIGN });
    expect(viaBearer.status).toBe(201);

    const tusHeaders = { ...cookie(ann), origin: FOREIGN, "tus-resumable": "1.0.0" };
    const patch = await fetch(location, {
      method: "PATCH",
      headers: { ...tusHeaders, "upload-offset": "0", "content-type": "application/offset+octet-stream" },
      body: video as Uint8Array<ArrayBuffer>,
    });
    expect({ status: patch.status, body: await patch.json() }).toEqual({ status: 403, body: CSRF });
    const cancel = await fetch(location, { method: "DELETE", headers: tusHeaders });
    expect({ status: cancel.status, body: await cancel.json() }).toEqual({ status: 403, body: CSRF });
    const head = await fetch(location, { method: "HEAD", headers: { ...cookie(ann), "tus-resumable": "1.0.0" } });
    expect({ status: head.status, offset: head.headers.get("upload-offset"), length: head.headers.get("upload-length") }).toEqual({
      status: 200,
      offset: "0",
      length: String(video.byteLength),
    });
  });

  it("a socket upgrade with the cookie from a foreign page is answered 403 csrf_rejected; own and listed pages, and bearer sockets, connect", async () => {
    const { server, ann, conversationId } = cast;
    const before = server.running.sockets.size;
    const foreign: Array<Record<string, string>> = [{ origin: FOREIGN }, { origin: "null" }, { "sec-fetch-site": "cross-site" }];
    for (const headers of foreign) {
      expect(await upgrade(server, { ...cookie(ann), ...headers })).toEqual({ status: 403, contentType: "application/json", body: CSRF });
    }
    expect(server.running.sockets.size).toBe(before);
    // Not the socket's path at all: a JSON 404 too.
    expect(await upgrade(server, {}, "/elsewhere")).toEqual({
      status: 404,
      contentType: "application/json",
      body: { error: { code: "not_found", message: "no WebSocket at /elsewhere; use /collab" } },
    });

    await api(server.url, "POST", `/api/conversations/${conversationId}/messages`, { token: ann.token, body: { id: "hello", text: "hello" } });
    const probes = [
      connect(server, conversationId, { headers: { ...cookie(ann), origin: own() } }),
      connect(server, conversationId, { headers: { ...cookie(ann), origin: LISTED } }),
      connect(server, conversationId, { headers: cookie(ann) }),
      connect(server, conversationId, { headers: { origin: FOREIGN }, token: ann.token }),
    ];
    await eventually(() => expect(probes.map(texts)).toEqual([["hello"], ["hello"], ["hello"], ["hello"]]));
    expect(probes.map((p) => p.disconnects)).toEqual([[], [], [], []]);
  });

  it("CORS: a listed origin gets its preflight answered with credentials and may POST with the cookie; others get no CORS headers", async () => {
    const { server, ann } = cast;
    const preflight = (origin: string, route: string, requestHeaders: string) =>
      fetch(`${server.url}${route}`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": requestHeaders },
      });
    const listed = await preflight(LISTED, "/api/conversations", "content-type");
    expect(listed.status).toBe(204);
    expect(headersStarting(listed.headers, "access-control-", "vary")).toEqual({
      "access-control-allow-origin": LISTED,
      "access-control-allow-credentials": "true",
      "access-control-allow-methods": "GET,HEAD,POST,PATCH,DELETE",
      "access-control-allow-headers":
        "Authorization,Content-Type,Range,Tus-Resumable,Upload-Length,Upload-Metadata,Upload-Offset,Upload-Concat,Upload-Defer-Length,X-HTTP-Method-Override,X-Requested-With",
      "access-control-expose-headers": EXPOSED,
      "access-control-max-age": "600",
      vary: "Origin, Access-Control-Request-Headers",
    });
    const tusPreflight = await preflight(LISTED, "/api/uploads", "tus-resumable,upload-length,upload-metadata");
    expect([tusPreflight.status, tusPreflight.headers.get("access-control-allow-origin")]).toEqual([204, LISTED]);

    const unlisted = await preflight(FOREIGN, "/api/conversations", "content-type");
    expect(corsHeaders(unlisted.headers)).toEqual([]);
    const unlistedTus = await preflight(FOREIGN, "/api/uploads", "tus-resumable");
    expect([unlistedTus.status, unlistedTus.headers.get("tus-version"), corsHeaders(unlistedTus.headers)]).toEqual([204, "1.0.0", []]);

    const before = (await conversationsOf(server, ann)).length;
    const post = await api<{ conversation: Conversation }>(server.url, "POST", "/api/conversations", {
      headers: { ...cookie(ann), origin: LISTED },
      body: { title: "From the listed app" },
    });
    expect({
      status: post.status,
      title: post.body.conversation.title,
      origin: post.headers.get("access-control-allow-origin"),
      credentials: post.headers.get("access-control-allow-credentials"),
      exposed: post.headers.get("access-control-expose-headers"),
      vary: post.headers.get("vary"),
    }).toEqual({ status: 201, title: "From the listed app", origin: LISTED, credentials: "true", exposed: EXPOSED, vary: "Origin" });
    expect(await conversationsOf(server, ann)).toHaveLength(before + 1);

    // A tus upload from the listed page: its script may read Location and the ids.
    const created = await tusClient(server.url).create(10, { conversationId: post.body.conversation.id, filename: "a.mp4", filetype: "" }, {
      ...cookie(ann),
      origin: LISTED,
    });
    expect({
      status: created.status,
      origin: created.headers.get("access-control-allow-origin"),
      credentials: created.headers.get("access-control-allow-credentials"),
      exposed: created.headers.get("access-control-expose-headers"),
      ids: [created.headers.get("wbk-video-id") !== null, created.headers.get("wbk-message-id") !== null],
    }).toEqual({ status: 201, origin: LISTED, credentials: "true", exposed: EXPOSED, ids: [true, true] });

    // The server's own page needs no CORS: none is sent, and answers vary by Origin for caches.
    const same = await api(server.url, "GET", "/api/me", { headers: { ...cookie(ann), origin: own() } });
    expect([same.status, corsHeaders(same.headers), same.headers.get("vary")]).toEqual([200, [], "Origin"]);
  });

  it("the cookie without TRUST_PROXY: HttpOnly, SameSite=Lax, Path=/, never Secure on forwarded https; sign-out clears it with the same flags", async () => {
    const { server, ben } = cast;
    const login = await api<AuthResult>(server.url, "POST", "/api/auth/login", {
      headers: { "x-forwarded-proto": "https" },
      body: { email: ben.email, password: ben.password },
    });
    expect(login.headers.get("set-cookie")).toBe(`wbk_session=${login.body.token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`);
    const out = await api(server.url, "POST", "/api/auth/logout", { headers: { cookie: `wbk_session=${login.body.token}`, origin: own() } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toBe("wbk_session=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
  });
});

describe("behind an https proxy (TRUST_PROXY=true)", () => {
  let server: TestServer;
  let ann: TestUser;
  const proxied = { "x-forwarded-proto": "https", "x-forwarded-host": "chat.example.org" };
  beforeAll(async () => {
    server = await startTestServer({ ...NO_LIMITS, TRUST_PROXY: "true" });
  });
  afterAll(() => server.stop());

  it("the cookie is Secure on forwarded https, with the same flags cleared on sign-out", async () => {
    const answer = await api<AuthResult>(server.url, "POST", "/api/auth/register", {
      headers: proxied,
      body: { email: "ann@example.com", password: "correct horse battery", displayName: "Ann" },
    });
    expect(answer.status).toBe(201);
    ann = { ...answer.body, email: "ann@example.com", password: "correct horse battery" };
    expect(answer.headers.get("set-cookie")).toBe(`wbk_session=${ann.token}; Max-Age=2592000; Path=/; HttpOnly; Secure; SameSite=Lax`);
    const plain = await api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email: ann.email, password: ann.password } });
    expect(plain.headers.get("set-cookie")).toBe(`wbk_session=${plain.body.token}; Max-Age=2592000; Path=/; HttpOnly; SameSite=Lax`);
    const out = await api(server.url, "POST", "/api/auth/logout", { headers: { ...proxied, cookie: `wbk_session=${plain.body.token}` } });
    expect(out.status).toBe(204);
    expect(out.headers.get("set-cookie")).toBe("wbk_session=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax");
  });

  it("the proxy's scheme and host are the server's origin: its page passes, the direct address behind it does not", async () => {
    const create = (headers: Record<string, string>) =>
      api(server.url, "POST", "/api/conversations", { headers: { ...cookie(ann), ...headers }, body: { title: "Proxied" } });
    expect((await create({ ...proxied, origin: "https://chat.example.org" })).status).toBe(201);
    expect((await create({ ...proxied, origin: "https://chat.example.org:443" })).status).toBe(201);
    expect((await create({ ...proxied, origin: "http://chat.example.org" })).body).toEqual(CSRF);
    expect((await create({ ...proxied, origin: server.url })).body).toEqual(CSRF);
    // Without forwarded headers the request's own Host decides.
    expect((await create({ origin: server.url })).status).toBe(201);
    expect(await conversationsOf(server, ann)).toHaveLength(3);
    expect(await upgrade(server, { ...cookie(ann), ...proxied, origin: server.url })).toEqual({
      status: 403,
      contentType: "application/json",
      body: CSRF,
    });
    expect(await upgrade(server, { ...cookie(ann), ...proxied, origin: "https://chat.example.org" })).toBe("open");
  });
});

describe("sessions that end cut their live sockets at once (injected clock)", () => {
  const clock = new Clock();
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let conversationId: string;

  beforeAll(async () => {
    clock.at(Date.parse("2026-03-02T09:00:00Z"));
    server = await startClockedServer(clock, NO_LIMITS);
    ben = await signUp(server.url, "Ben");
  });
  afterEach(closeProbes);
  afterAll(() => server.stop());

  const sessionEnd = (token: string) => server.running.storage.sessions.get(sessionIdOf(token))?.expiresAt;

  /** Ben signed in afresh at the clock's time (his earlier sessions may have ended on it). */
  async function benNow(): Promise<TestUser> {
    const login = await api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email: ben.email, password: ben.password } });
    expect(login.status).toBe(200);
    return { ...ben, token: login.body.token };
  }

  /** Ben posts; the probe's document must receive it, its socket still open. */
  async function roundTrip(probe: Probe, id: string): Promise<void> {
    const posted = await api(server.url, "POST", `/api/conversations/${conversationId}/messages`, { token: (await benNow()).token, body: { id, text: id } });
    expect(posted.status).toBe(201);
    await eventually(() => expect(texts(probe)).toContain(id));
    expect(probe.disconnects).toEqual([]);
  }

  async function freshAnn(): Promise<TestUser> {
    ann = await signUp(server.url, "Ann");
    conversationId = (await createConversation(server.url, ann, [ben], "Clocked")).id;
    return ann;
  }

  it("sign-out with the cookie: a foreign page's attempt changes nothing, the page's own cuts the cookie socket with 4401 session_revoked", async () => {
    await freshAnn();
    const probe = connect(server, conversationId, { headers: { ...cookie(ann), origin: server.url } });
    await eventually(() => expect(probe.synced).toBe(true));

    const forged = await api(server.url, "POST", "/api/auth/logout", { headers: { ...cookie(ann), origin: FOREIGN } });
    expect({ status: forged.status, body: forged.body }).toEqual({ status: 403, body: CSRF });
    await roundTrip(probe, "after-forged-logout");

    const out = await api(server.url, "POST", "/api/auth/logout", { headers: { ...cookie(ann), origin: server.url } });
    expect(out.status).toBe(204);
    await eventually(() => expect(probe.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));
  });

  it("a password change with the cookie cuts the other sessions' sockets with session_revoked, never the changing one's", async () => {
    await freshAnn();
    const other = await api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email: ann.email, password: ann.password } });
    const mine = connect(server, conversationId, { headers: { ...cookie(ann), origin: server.url } });
    const theirs = connect(server, conversationId, { headers: { cookie: `wbk_session=${other.body.token}`, origin: server.url } });
    await eventually(() => expect([mine.synced, theirs.synced]).toEqual([true, true]));
    const change = (origin: string) =>
      api(server.url, "POST", "/api/auth/password", {
        headers: { ...cookie(ann), origin },
        body: { currentPassword: ann.password, newPassword: "a new password for ann" },
      });

    expect((await change(FOREIGN)).body).toEqual(CSRF);
    await roundTrip(mine, "after-forged-change");
    expect(theirs.disconnects).toEqual([]);

    expect((await change(server.url)).status).toBe(204);
    await eventually(() => expect(theirs.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));
    await roundTrip(mine, "after-change");
  });

  it("expiry: the socket lives to the last millisecond of its session and is cut with 4401 session_expired at it", async () => {
    await freshAnn();
    const end = clock.t + TTL_MS;
    expect(sessionEnd(ann.token)).toBe(end);
    const probe = connect(server, conversationId, { token: ann.token });
    await eventually(() => expect(probe.synced).toBe(true));

    clock.at(end - 1);
    server.running.sockets.sweep();
    await roundTrip(probe, "last-millisecond");

    clock.at(end);
    server.running.sockets.sweep();
    await eventually(() => expect(probe.disconnects).toEqual([{ code: 4401, reason: "session_expired" }]));
    const me = await api(server.url, "GET", "/api/me", { token: ann.token });
    expect({ status: me.status, body: me.body }).toEqual({
      status: 401,
      body: { error: { code: "session_expired", message: "this session has expired; sign in again" } },
    });
  });

  it("writing on the open socket does not extend the session; REST use past half its life does, and the socket lives to the new end", async () => {
    await freshAnn();
    const start = clock.t;
    const quiet = connect(server, conversationId, { token: ann.token });
    await eventually(() => expect(quiet.synced).toBe(true));

    // Three quarters in, Ann writes over the socket: stored, but the session's end stays.
    clock.at(start + TTL_MS * 0.75);
    writeRawMessage(quiet.doc, "socket-write", ann.user.id, "socket write");
    const reader = await benNow();
    await eventually(async () => expect(await messageTexts(server, reader, conversationId)).toEqual(["socket write"]));
    expect(sessionEnd(ann.token)).toBe(start + TTL_MS);

    // A REST request at the same moment slides it (Lucia: used past half its life).
    expect((await api(server.url, "GET", "/api/me", { token: ann.token })).status).toBe(200);
    const newEnd = start + TTL_MS * 1.75;
    expect(sessionEnd(ann.token)).toBe(newEnd);

    clock.at(start + TTL_MS);
    server.running.sockets.sweep();
    await roundTrip(quiet, "past-the-first-end");

    clock.at(newEnd);
    server.running.sockets.sweep();
    await eventually(() => expect(quiet.disconnects).toEqual([{ code: 4401, reason: "session_expired" }]));
  });

  // The attack: a thief opens the victim's conversation on a socket with the stolen token, then
  // their own conversation on the same socket with their own token. The socket must still be cut
  // when the stolen session ends, though its last-opened document used a live session.
  async function stolenAndOwnOnOneSocket() {
    const victim = await freshAnn();
    const stolen = victim.token;
    // The thief signs up a little later: their session ends after the victim's.
    clock.at(clock.t + 60_000);
    const thief = await signUp(server.url, "Thief");
    const thiefs = (await createConversation(server.url, thief, [ben], "Thief's own")).id;
    const [victimDoc, thiefDoc] = await connectShared(server, [
      { conversationId, token: stolen },
      { conversationId: thiefs, token: thief.token },
    ]);
    if (!victimDoc || !thiefDoc) throw new Error("both documents must open");
    await roundTrip(victimDoc, `stolen-${thiefs}`);
    return { victim, stolen, thief, victimDoc, thiefDoc };
  }

  it("one socket, two tokens: the victim's password change cuts the socket that opened their conversation with a stolen token, though a later document used the thief's own", async () => {
    const { victim, stolen, victimDoc, thiefDoc } = await stolenAndOwnOnOneSocket();
    const own = await api<AuthResult>(server.url, "POST", "/api/auth/login", { body: { email: victim.email, password: victim.password } });
    const change = await api(server.url, "POST", "/api/auth/password", {
      token: own.body.token,
      body: { currentPassword: victim.password, newPassword: "a new password for the victim" },
    });
    expect(change.status).toBe(204);
    const me = await api(server.url, "GET", "/api/me", { token: stolen });
    expect({ status: me.status, code: (me.body as { error: { code: string } }).error.code }).toEqual({ status: 401, code: "session_revoked" });
    await eventually(() => expect(victimDoc.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));
    expect(thiefDoc.disconnects).toBe(victimDoc.disconnects);
  });

  it("one socket, two tokens: the victim signing out cuts the socket with 4401 session_revoked", async () => {
    const { stolen, victimDoc } = await stolenAndOwnOnOneSocket();
    // The victim signs out that very session (their own device, the token the thief copied).
    expect((await api(server.url, "POST", "/api/auth/logout", { token: stolen })).status).toBe(204);
    await eventually(() => expect(victimDoc.disconnects).toEqual([{ code: 4401, reason: "session_revoked" }]));
  });

  it("one socket, two tokens: the stolen session's expiry cuts the socket with 4401 session_expired, though the thief's own lives on", async () => {
    const { stolen, thief, victimDoc } = await stolenAndOwnOnOneSocket();
    const end = sessionEnd(stolen) as number;
    expect(sessionEnd(thief.token)).toBeGreaterThan(end);

    clock.at(end - 1);
    server.running.sockets.sweep();
    await roundTrip(victimDoc, "stolen-last-millisecond");

    clock.at(end);
    server.running.sockets.sweep();
    await eventually(() => expect(victimDoc.disconnects).toEqual([{ code: 4401, reason: "session_expired" }]));
    // The thief's own session is still live on REST: only the socket was cut.
    expect((await api(server.url, "GET", "/api/me", { token: thief.token })).status).toBe(200);
  });
});
