/**
 * GET /api/openapi.json (DESIGN.md "REST API"): OpenAPI 3.1, generated from the same route
 * declarations the server serves, so the documented (method, path) pairs are exactly the
 * routes the app answers.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./helpers/server.js";

interface Operation {
  security?: Array<Record<string, string[]>>;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  responses: Record<string, unknown>;
}
interface Spec {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
  components?: { securitySchemes?: Record<string, unknown> };
}

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * The REST routes the server had when this test was written (DESIGN.md "REST API", minus
 * what is not built yet). The spec is compared with the app's own route list
 * (`RunningServer.routes`); this list is only a floor: none of these may disappear.
 */
const ROUTES_AT_WRITING = [
  "GET /api/config",
  "GET /healthz",
  "POST /api/auth/register",
  "POST /api/auth/login",
  "POST /api/auth/logout",
  "POST /api/auth/password",
  "GET /api/me",
  "PATCH /api/me",
  "POST /api/conversations",
  "GET /api/conversations",
  "PATCH /api/conversations/{id}",
  "POST /api/conversations/{id}/members",
  "DELETE /api/conversations/{id}/members/{userId}",
  "GET /api/conversations/{id}/messages",
  "POST /api/conversations/{id}/messages",
  "GET /api/conversations/{id}/sync",
  "POST /api/conversations/{id}/sync",
  "GET /api/reports/weekly",
  "GET /api/reports/weekly/index",
  "POST /api/uploads",
  "PATCH /api/uploads/{id}",
  "DELETE /api/uploads/{id}",
  "GET /api/conversations/{id}/videos",
  "GET /api/videos/{videoId}",
];
/** Served by the app but, by nature, not an operation of the document it serves. */
const NOT_IN_SPEC = new Set(["GET /api/openapi.json"]);

/** Routes anyone may call; every other route needs a session (bearer or cookie). */
const PUBLIC_ROUTES = new Set([
  "GET /api/config",
  "GET /healthz",
  "POST /api/auth/register",
  "POST /api/auth/login",
  // tus capability discovery (CORS preflight too): answered before any session is read.
  "OPTIONS /api/uploads",
  "OPTIONS /api/uploads/{id}",
  // Methods an upload URL never takes: 405 with Allow, before any session is read.
  "GET /api/uploads/{id}",
  "PUT /api/uploads/{id}",
  "POST /api/uploads/{id}",
]);

/** Hono answers HEAD with the GET route of the same path: a documented HEAD is served by that GET. */
const servedBy = (pair: string) => pair.replace(/^HEAD /, "GET ");

const pairsOf = (spec: Spec) =>
  Object.entries(spec.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.includes(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );

describe("GET /api/openapi.json", () => {
  let server: TestServer;
  let spec: Spec;

  beforeAll(async () => {
    server = await startTestServer();
    const response = await fetch(`${server.url}/api/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    spec = (await response.json()) as Spec;
  });
  afterAll(() => server.stop());

  /** The app's routes as "METHOD /path/{param}" (Hono's `:param` in OpenAPI syntax). */
  const registered = () =>
    [...new Set(server.running.routes.map((r) => `${r.method.toUpperCase()} ${r.path.replace(/:([A-Za-z0-9_]+)/g, "{$1}")}`))].sort();

  it("is OpenAPI 3.1 and documents exactly the (method, path) pairs registered in the app", () => {
    expect(spec.openapi).toBe("3.1.0");
    expect(spec.info).toMatchObject({ title: "wbk-chat", version: "0.1.0" });
    const documented = pairsOf(spec);
    // No pair twice, and the same set as the app's routes.
    expect(new Set(documented).size).toBe(documented.length);
    expect([...new Set(documented.map(servedBy))].sort()).toEqual(registered().filter((route) => !NOT_IN_SPEC.has(route)));
    expect(registered()).toEqual(expect.arrayContaining([...ROUTES_AT_WRITING, ...NOT_IN_SPEC]));
  });

  it("every documented route is served by its own handler, and other methods on those paths are not", async () => {
    const sample = (path: string) => path.replace(/\{([^}]+)\}/g, "sample-$1");
    const request = async (method: string, path: string) => {
      const init: RequestInit = { method };
      if (method !== "GET" && method !== "HEAD") {
        init.headers = { "content-type": "application/json" };
        init.body = "{}";
      }
      const response = await fetch(`${server.url}${path}`, init);
      const text = await response.text();
      return { status: response.status, text };
    };
    const catchAll = (method: string, path: string) => JSON.stringify({ error: { code: "not_found", message: `no route ${method} ${path}` } });

    const documented = pairsOf(spec);
    for (const route of documented) {
      const [method, template] = route.split(" ") as [string, string];
      const path = sample(template);
      const answer = await request(method, path);
      // Reached a real handler: not the /api catch-all, not Hono's plain 404.
      const handled = answer.text !== catchAll(method, path) && answer.status !== 404 && answer.status < 500;
      expect({ route, status: answer.status, handled }).toEqual({ route, status: answer.status, handled: true });
    }

    const listed = new Set(documented);
    for (const template of new Set(documented.map((r) => r.split(" ")[1] as string))) {
      for (const method of ["GET", "POST", "PUT", "PATCH", "DELETE"]) {
        if (listed.has(`${method} ${template}`)) continue;
        const path = sample(template);
        const answer = await request(method, path);
        expect({ route: `${method} ${template}`, status: answer.status, catchAll: path.startsWith("/api/") ? answer.text === catchAll(method, path) : true }).toEqual({
          route: `${method} ${template}`,
          status: 404,
          catchAll: true,
        });
      }
    }
  });

  it("declares the path parameters of each templated path and the session requirement of each route", () => {
    expect(spec.components?.securitySchemes).toEqual({
      bearer: { type: "http", scheme: "bearer" },
      cookie: { type: "apiKey", in: "cookie", name: "wbk_session" },
    });
    for (const [path, item] of Object.entries(spec.paths)) {
      const placeholders = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      for (const [method, operation] of Object.entries(item)) {
        if (!HTTP_METHODS.includes(method)) continue;
        const route = `${method.toUpperCase()} ${path}`;
        const pathParams = (operation.parameters ?? []).filter((p) => p.in === "path");
        expect({ route, params: pathParams.map((p) => p.name).sort() }).toEqual({ route, params: placeholders });
        expect({ route, required: pathParams.every((p) => p.required === true) }).toEqual({ route, required: true });
        expect({ route, security: operation.security ?? null }).toEqual({
          route,
          security: PUBLIC_ROUTES.has(route) ? null : [{ bearer: [] }, { cookie: [] }],
        });
        if (!PUBLIC_ROUTES.has(route)) expect({ route, has401: "401" in operation.responses }).toEqual({ route, has401: true });
      }
    }
  });
});
