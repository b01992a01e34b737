/**
 * The request log (issue 5, item 1): every request under /api is one row with the user (or
 * none), method, the route pattern (never the raw URL, its ids or its query), status, duration
 * and bytes; sockets log their sign-in and close. Rows are written in batches, and a clean
 * shutdown writes what is still buffered.
 */
import Database from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sqliteFile } from "./helpers/activity.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

interface Row {
  kind: string;
  user_id: string | null;
  method: string | null;
  route: string | null;
  status: number | null;
  duration_ms: number | null;
  bytes_in: number | null;
  bytes_out: number | null;
}

describe("request log", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  let conversationId: string;
  let rows: Row[];
  const secret = "s3cret-query-value";
  const bigBody = JSON.stringify({ title: "x".repeat(4000) });

  beforeAll(async () => {
    server = await startTestServer({ MAX_BODY_BYTES: "2048" });
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
    conversationId = (await createConversation(server.url, ann, [ben])).id;
    const page = await api(server.url, "GET", `/api/conversations/${conversationId}/messages?after=0&limit=5&token=${secret}`, { token: ann.token });
    expect(page.status).toBe(200);
    expect((await api(server.url, "GET", `/api/no-such/${conversationId}?q=${secret}`, { token: ann.token })).status).toBe(404);
    expect((await api(server.url, "GET", "/api/me")).status).toBe(401);
    const big = await api(server.url, "POST", "/api/conversations", { token: ben.token, raw: bigBody });
    expect(big.status).toBe(413);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);

    const client = await clientFor(server.url, ann);
    const chat = client.conversation(conversationId);
    await eventually(() => expect(chat.synced).toBe(true));
    // Left open: the shutdown closes it, and its close must still be logged.

    // A clean shutdown writes the buffered rows; read them from the file afterwards.
    await server.running.close();
    const db = new Database(sqliteFile(server), { readonly: true });
    rows = db.prepare("SELECT * FROM request_log ORDER BY id").all() as Row[];
    db.close();
    await client.close();
  });
  afterAll(() => server?.stop());

  it("records route patterns, never raw paths, ids or query strings", () => {
    for (const row of rows) {
      const text = JSON.stringify(row);
      expect({ row, leaks: [secret, conversationId, "?", ann.token].some((s) => text.includes(s)) }).toEqual({ row, leaks: false });
    }
    expect(rows).toContainEqual(
      expect.objectContaining({ kind: "http", user_id: ann.user.id, method: "GET", route: "/api/conversations/:id/messages", status: 200 }),
    );
  });

  it("records the user, or none, with status, duration and bytes, failures included", () => {
    const http = rows.filter((r) => r.kind === "http");
    const find = (method: string, route: string, status: number) =>
      http.filter((r) => r.method === method && r.route === route && r.status === status);
    const registered = find("POST", "/api/auth/register", 201);
    expect(registered.map((r) => r.user_id)).toEqual([ann.user.id, ben.user.id]);
    expect(find("POST", "/api/conversations", 201).map((r) => r.user_id)).toEqual([ann.user.id]);
    // Refused before anyone was asked who it is: anonymous, under the route it was meant for.
    expect(find("POST", "/api/conversations", 413)).toEqual([expect.objectContaining({ user_id: null, bytes_in: bigBody.length })]);
    expect(find("GET", "/api/me", 401)).toEqual([expect.objectContaining({ user_id: null })]);
    // A path no route declares is logged under the /api catch-all.
    expect(find("GET", "/api/*", 404)).toEqual([expect.objectContaining({ user_id: null })]);
    for (const row of http) {
      expect(row.duration_ms).toBeGreaterThanOrEqual(0);
      expect(row.bytes_out).toBeGreaterThan(0); // status line and headers at least
    }
    const page = find("GET", "/api/conversations/:id/messages", 200)[0]!;
    expect(page.bytes_out).toBeGreaterThan('{"messages":[],"next":null}'.length);
    // Only /api is logged: not /healthz, not the socket upgrade as a request.
    expect(http.every((r) => r.route!.startsWith("/api/"))).toBe(true);
  });

  it("logs a socket's sign-in and close, as the user, apart from API calls", () => {
    const sockets = rows.filter((r) => r.kind !== "http");
    expect(sockets).toEqual([
      expect.objectContaining({ kind: "socket.connect", user_id: ann.user.id, route: "/collab", method: null, status: null }),
      expect.objectContaining({ kind: "socket.disconnect", user_id: ann.user.id, route: "/collab", method: null, status: null }),
    ]);
    expect(sockets[1]!.duration_ms).toBeGreaterThanOrEqual(0);
  });
});
