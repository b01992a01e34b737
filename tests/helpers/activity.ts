/**
 * Known activity at fixed instants, for the report tests: a server on an injected clock, and
 * one method per kind of thing a user does, each through the real REST API or HTTP sync.
 * Every method sets the clock first, so each row the server logs carries that exact instant.
 */
import path from "node:path";
import { findMessageMap, type AuthResult, type Conversation, type WeeklyReport } from "@wbk/shared";
import * as Y from "yjs";
import { startTestServer, type TestServer } from "./server.js";
import { tusClient } from "./tus.js";
import { api, type TestUser } from "./users.js";

export const PASSWORD = "correct horse battery";

/** A settable clock; `at` takes ISO 8601 with an offset or ms. */
export class Clock {
  t = 0;
  readonly now = () => this.t;
  at(when: string | number): void {
    this.t = typeof when === "number" ? when : Date.parse(when);
    if (Number.isNaN(this.t)) throw new Error(`not a time: ${when}`);
  }
}

/** A test server whose every stored time comes from `clock`. */
export async function startClockedServer(clock: Clock, env: Record<string, string> = {}): Promise<TestServer> {
  return startTestServer(env, { now: clock.now });
}

export class Activity {
  constructor(
    readonly server: TestServer,
    readonly clock: Clock,
  ) {}

  private call<T>(when: string, method: string, path: string, options: Parameters<typeof api>[3] = {}) {
    this.clock.at(when);
    return api<T>(this.server.url, method, path, options);
  }

  async register(when: string, email: string, displayName: string): Promise<TestUser> {
    const { status, body } = await this.call<AuthResult>(when, "POST", "/api/auth/register", {
      body: { email, password: PASSWORD, displayName },
    });
    if (status !== 201) throw new Error(`register: ${status} ${JSON.stringify(body)}`);
    return { ...body, email, password: PASSWORD };
  }

  /** Signs in; on success the user's token becomes the new session's (sessions expire after 30 idle days). */
  async login(when: string, user: TestUser, password = user.password): Promise<number> {
    const { status, body } = await this.call<AuthResult>(when, "POST", "/api/auth/login", { body: { email: user.email, password } });
    if (status === 200) user.token = body.token;
    return status;
  }

  async createConversation(when: string, owner: TestUser, members: TestUser[], title: string): Promise<Conversation> {
    const { status, body } = await this.call<{ conversation: Conversation }>(when, "POST", "/api/conversations", {
      token: owner.token,
      body: { title, memberIds: members.map((m) => m.user.id) },
    });
    if (status !== 201) throw new Error(`create: ${status} ${JSON.stringify(body)}`);
    return body.conversation;
  }

  async addMember(when: string, actor: TestUser, conversationId: string, member: TestUser): Promise<void> {
    const { status } = await this.call(when, "POST", `/api/conversations/${conversationId}/members`, {
      token: actor.token,
      body: { userId: member.user.id },
    });
    if (status !== 200) throw new Error(`add member: ${status}`);
  }

  async post(when: string, user: TestUser, conversationId: string, id: string, text = `text of ${id}`): Promise<number> {
    const { status, body } = await this.call<{ message: { seq: number } }>(when, "POST", `/api/conversations/${conversationId}/messages`, {
      token: user.token,
      body: { id, text },
    });
    if (status !== 201) throw new Error(`post: ${status} ${JSON.stringify(body)}`);
    return body.message.seq;
  }

  async get(when: string, user: TestUser | null, path: string): Promise<number> {
    return (await this.call(when, "GET", path, user ? { token: user.token } : {})).status;
  }

  /**
   * One HTTP-sync write, as a client without a socket makes it: pull the document (GET
   * …/sync), change a fresh copy, push the update (POST …/sync). Two requests.
   */
  async syncWrite(when: string, user: TestUser, conversationId: string, change: (doc: Y.Doc) => void): Promise<void> {
    this.clock.at(when);
    const path = `${this.server.url}/api/conversations/${conversationId}/sync`;
    const headers = { authorization: `Bearer ${user.token}` };
    const pulled = await fetch(path, { headers });
    if (pulled.status !== 200) throw new Error(`pull: ${pulled.status}`);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, new Uint8Array(await pulled.arrayBuffer()));
    let update: Uint8Array | null = null;
    doc.on("update", (u: Uint8Array) => (update = u));
    doc.transact(() => change(doc));
    if (!update) throw new Error("the change changed nothing");
    const pushed = await fetch(path, {
      method: "POST",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: update as Uint8Array<ArrayBuffer>,
    });
    if (pushed.status !== 200) throw new Error(`push: ${pushed.status} ${await pushed.text()}`);
  }

  edit(when: string, user: TestUser, conversationId: string, messageId: string, text: string) {
    return this.syncWrite(when, user, conversationId, (doc) => {
      const map = findMessageMap(doc, messageId)!;
      map.set("text", text);
      map.set("editedAt", this.clock.t);
    });
  }

  remove(when: string, user: TestUser, conversationId: string, messageId: string) {
    return this.syncWrite(when, user, conversationId, (doc) => {
      const map = findMessageMap(doc, messageId)!;
      map.set("deleted", true);
      map.set("text", "");
    });
  }

  react(when: string, user: TestUser, conversationId: string, messageId: string, emoji: string) {
    return this.syncWrite(when, user, conversationId, (doc) => {
      (findMessageMap(doc, messageId)!.get("reactions") as Y.Map<string>).set(user.user.id, emoji);
    });
  }

  read(when: string, user: TestUser, conversationId: string, seq: number) {
    return this.syncWrite(when, user, conversationId, (doc) => doc.getMap("reads").set(user.user.id, seq));
  }

  /**
   * Shares a video over tus: created at `when`, its bytes sent in one PATCH at `finishedAt`.
   * Returns the final PATCH's status (204, or 415 for what is not a video).
   */
  async shareVideo(when: string, finishedAt: string, user: TestUser, conversationId: string, bytes: Uint8Array, filename: string) {
    const tus = tusClient(this.server.url, user.token);
    this.clock.at(when);
    const created = await tus.create(bytes.length, { conversationId, filename, filetype: "" });
    if (created.status !== 201) throw new Error(`upload: ${created.status} ${created.body}`);
    this.clock.at(finishedAt);
    return (await tus.patch(created.headers.get("location") as string, 0, bytes)).status;
  }

  /** GET /api/reports/weekly?week=… at the given instant. */
  report(when: string, user: TestUser, week: string) {
    return this.call<WeeklyReport & { error?: { code: string } }>(when, "GET", `/api/reports/weekly?week=${encodeURIComponent(week)}`, {
      token: user.token,
    });
  }

  index(when: string, user: TestUser) {
    return this.call<{ weeks: string[]; error?: { code: string } }>(when, "GET", "/api/reports/weekly/index", { token: user.token });
  }
}

/** An all-zero report body (for weeks nobody used), minus the fields that name the week. */
export function emptyWeek() {
  return {
    partial: false,
    totals: { activeUsers: 0, messages: 0, videos: 0, videoBytes: 0, apiCalls: 0 },
    users: [],
    actions: {
      "message.sent": 0,
      "message.edited": 0,
      "message.deleted": 0,
      "video.shared": 0,
      "reaction.set": 0,
      "read.updated": 0,
      "member.added": 0,
      "conversation.created": 0,
      "user.registered": 0,
    },
    conversations: [],
    byDay: [0, 0, 0, 0, 0, 0, 0],
    byHour: new Array(24).fill(0),
  };
}

/** 24 hour buckets from a sparse {hour: count}. */
export function hours(counts: Record<number, number>): number[] {
  return Array.from({ length: 24 }, (_, h) => counts[h] ?? 0);
}

export const sqliteFile = (server: TestServer) => path.join(server.dataDir, "wbk.sqlite");
