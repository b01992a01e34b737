/** Input the schemas refuse, the same way on every route that takes it. */
import { describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { api } from "./helpers/users.js";

describe("validation of names, text and paging", () => {
  const cast = useTwoPeople();

  const refused = (message: string, path: string) => ({
    status: 400,
    body: { error: { code: "validation_failed", message, details: [{ path, message }] } },
  });

  it("refuses names that are not well-formed, hold control characters, or look empty", async () => {
    const cases: Array<[string, string]> = [
      ["a\ud800b", "displayName must be well-formed Unicode"],
      ["nul\u0000name", "displayName must not contain control characters"],
      ["two\nlines", "displayName must not contain control characters"],
      ["\t\u00a0\u200b", "displayName must not be empty"],
      ["\u202e", "displayName must not be empty"],
      ["\u2067\u200f\u2069", "displayName must not be empty"],
    ];
    for (const [displayName, message] of cases) {
      const { status, body } = await api(cast.server.url, "PATCH", "/api/me", { token: cast.ann.token, body: { displayName } });
      expect({ status, body }).toEqual(refused(message, "displayName"));
    }
    const title = await api(cast.server.url, "POST", "/api/conversations", { token: cast.ann.token, body: { title: "NUL\u0000title" } });
    expect({ status: title.status, body: title.body }).toEqual(refused("title must not contain control characters", "title"));
    const me = await api<{ user: { displayName: string } }>(cast.server.url, "GET", "/api/me", { token: cast.ann.token });
    expect(me.body.user.displayName).toBe("Ann");
  });

  it("refuses message text with control characters but keeps tabs and line breaks", async () => {
    const path = `/api/conversations/${cast.conversationId}/messages`;
    const nul = await api(cast.server.url, "POST", path, { token: cast.ann.token, body: { id: "nul", text: "a\u0000b" } });
    expect({ status: nul.status, body: nul.body }).toEqual(refused("text must not contain control characters", "text"));
    const ok = await api<{ message: { text: string } }>(cast.server.url, "POST", path, {
      token: cast.ann.token,
      body: { id: "lines", text: "line one\n\tline two\r\n" },
    });
    expect(ok.status).toBe(201);
    expect(ok.body.message.text).toBe("line one\n\tline two\r\n");
  });

  it("reads paging numbers only when written plainly", async () => {
    const path = `/api/conversations/${cast.conversationId}/messages`;
    for (const [query, message, field] of [
      ["limit=1e2", "limit must be a whole number", "limit"],
      ["limit=0x10", "limit must be a whole number", "limit"],
      ["after=%20%201", "after must be a whole number", "after"],
      ["before=1e3", "before must be a whole number or latest", "before"],
      ["limit=0", "limit must be at least 1", "limit"],
      ["limit=201", "limit must be at most 200", "limit"],
    ] as const) {
      const { status, body } = await api(cast.server.url, "GET", `${path}?${query}`, { token: cast.ann.token });
      expect({ query, status, body }).toEqual({ query, ...refused(message, field) });
    }
  });
});

describe("request bodies take only the keys the API knows", () => {
  const cast = useTwoPeople();

  it("refuses unknown, __proto__ and constructor keys with validation_failed, and stores nothing", async () => {
    const path = `/api/conversations/${cast.conversationId}/messages`;
    const bodies = [
      '{"id":"uk","text":"a","extra":1}',
      '{"id":"uk","text":"a","__proto__":{"polluted":1}}',
      '{"id":"uk","text":"a","constructor":{"prototype":{"polluted":1}}}',
    ];
    const answers = [];
    for (const raw of bodies) answers.push(await api(cast.server.url, "POST", path, { token: cast.ann.token, raw }));
    expect(answers.map((a) => [a.status, (a.body as { error: { code: string; details: unknown } }).error.code])).toEqual([
      [400, "validation_failed"],
      [400, "validation_failed"],
      [400, "validation_failed"],
    ]);
    expect((answers[0]!.body as { error: { details: unknown } }).error.details).toEqual([{ path: "", message: 'Unrecognized key: "extra"' }]);
    const created = await api(cast.server.url, "POST", "/api/conversations", {
      token: cast.ann.token,
      raw: '{"title":"t","__proto__":{"isAdmin":true}}',
    });
    expect(created.status).toBe(400);
    const listed = await api<{ messages: unknown[] }>(cast.server.url, "GET", path, { token: cast.ann.token });
    expect(listed.body.messages).toEqual([]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
