/**
 * Which web pages may use the API with the `wbk_session` cookie: the server's own origin and
 * the CORS_ORIGINS allow-list (DESIGN.md "Errors", csrf_rejected; "Configuration").
 *
 * - CORS: a listed origin gets Access-Control-Allow-Origin with credentials (hono/cors), for
 *   REST and tus alike; any other origin gets no CORS headers, so browsers keep answers from it.
 * - CSRF: a request that changes state (not GET, HEAD or OPTIONS), carries the cookie and no
 *   bearer token, and comes from a page of another origin is answered 403 csrf_rejected before
 *   anything runs. The /collab upgrade is checked the same way (collab/transport.ts).
 *
 * "Another origin" is an `Origin` header naming neither. Without `Origin`, `Sec-Fetch-Site:
 * cross-site` or `same-site` counts as another origin; a request with neither header is not
 * from a browser page (browsers send `Origin` on every cross-origin request that changes
 * state), so it passes. A bearer token is never sent by the browser on its own: not CSRF-able.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import { WbkError, errorSchema } from "@wbk/shared";
import type { Context, MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import type { Logger } from "../log.js";
import type { AppEnv } from "./context.js";
import { errorResponse } from "./errors.js";

/** Reads one request header by lower-case name. */
export type HeaderOf = (name: string) => string | undefined;

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);
/** Request headers listed origins may send: the API's and tus 1.0.0's. */
const ALLOW_HEADERS = [
  "Authorization",
  "Content-Type",
  "Range",
  "Tus-Resumable",
  "Upload-Length",
  "Upload-Metadata",
  "Upload-Offset",
  "Upload-Concat",
  "Upload-Defer-Length",
  "X-HTTP-Method-Override",
  "X-Requested-With",
];
/** Answer headers listed origins' scripts may read: tus resumes by them, the SDK needs the ids. */
const EXPOSE_HEADERS = [
  "Location",
  "Upload-Offset",
  "Upload-Length",
  "Upload-Expires",
  "Tus-Resumable",
  "Tus-Version",
  "Tus-Extension",
  "Tus-Max-Size",
  "Wbk-Video-Id",
  "Wbk-Message-Id",
  "Retry-After",
  "Content-Range",
  "Accept-Ranges",
  "ETag",
  "Allow",
];
/** How long browsers may reuse a preflight answer (seconds). */
const PREFLIGHT_MAX_AGE = 600;

/** `https://chat.example.org` from any spelling of an origin; null for `null` or garbage. */
function normalize(origin: string): string | null {
  try {
    const { origin: normalized } = new URL(origin);
    return normalized === "null" ? null : normalized;
  } catch {
    return null;
  }
}

/** The first entry of a comma-separated header (`X-Forwarded-*` after a chain of proxies). */
export const firstValue = (value: string | undefined) => value?.split(",")[0]?.trim() || undefined;

/** `http` or `https` as the browser sees it: behind TRUST_PROXY, X-Forwarded-Proto decides. */
export function requestScheme(header: HeaderOf, scheme: string, trustProxy: boolean): string {
  return (trustProxy && firstValue(header("x-forwarded-proto"))?.toLowerCase()) || scheme;
}

/**
 * The server's own origin as the browser sees it: scheme and `Host` of the request (behind
 * TRUST_PROXY, the first X-Forwarded-Proto and X-Forwarded-Host); null without a usable host.
 */
export function requestOrigin(header: HeaderOf, scheme: string, trustProxy: boolean): string | null {
  const host = (trustProxy && firstValue(header("x-forwarded-host"))) || header("host");
  return host ? normalize(`${requestScheme(header, scheme, trustProxy)}://${host}`) : null;
}

/** The scheme a Hono request arrived with (`http` here; the server speaks plain HTTP). */
export const schemeOf = (c: Context): string => new URL(c.req.url).protocol.slice(0, -1);

export interface OriginPolicy {
  /** CORS_ORIGINS, normalised. */
  readonly listed: ReadonlySet<string>;
  /** Whether the request comes from a web page of an origin that may not use the cookie. */
  isForeign(header: HeaderOf, scheme: string): boolean;
}

export function createOriginPolicy(options: { corsOrigins: readonly string[]; trustProxy: boolean }): OriginPolicy {
  const listed = new Set(options.corsOrigins.map(normalize).filter((o): o is string => o !== null));
  return {
    listed,
    isForeign(header, scheme) {
      const origin = header("origin");
      if (origin === undefined) {
        const site = header("sec-fetch-site");
        return site === "cross-site" || site === "same-site";
      }
      const normalized = normalize(origin);
      if (normalized === null) return true;
      return !listed.has(normalized) && normalized !== requestOrigin(header, scheme, options.trustProxy);
    },
  };
}

export function csrfRejected(): WbkError {
  return new WbkError("csrf_rejected", "a page of another origin may not use this session's cookie to change anything");
}

/** CORS for listed origins only; everyone else's answers carry no CORS header at all. */
export function corsForListed(policy: OriginPolicy): MiddlewareHandler<AppEnv> {
  const allow = cors({
    origin: (origin) => (policy.listed.has(origin) ? origin : null),
    credentials: true,
    allowMethods: ["GET", "HEAD", "POST", "PATCH", "DELETE"],
    allowHeaders: ALLOW_HEADERS,
    exposeHeaders: EXPOSE_HEADERS,
    maxAge: PREFLIGHT_MAX_AGE,
  });
  return async (c, next) => {
    const origin = c.req.header("origin");
    // hono/cors answers every OPTIONS as a preflight; a plain OPTIONS (tus capability
    // discovery) goes on to its route.
    const preflight = c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined;
    if (origin !== undefined && policy.listed.has(origin) && (preflight || c.req.method !== "OPTIONS")) return allow(c, next);
    await next();
    // Once some origins get CORS headers, answers differ by Origin: caches must keep them apart.
    if (policy.listed.size > 0) c.header("Vary", "Origin", { append: true });
  };
}

/** 403 csrf_rejected for cookie-authenticated requests that change state from another origin. */
export function csrfGuard(policy: OriginPolicy, logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (SAFE_METHODS.has(c.req.method) || c.get("token")?.via !== "cookie") return next();
    if (!policy.isForeign((name) => c.req.header(name), schemeOf(c))) return next();
    logger.info({ origin: c.req.header("origin") ?? null, method: c.req.method, path: c.req.path }, "cross-origin cookie request refused");
    const response = errorResponse(c, csrfRejected());
    // tus answers keep their protocol header, as every other tus error does.
    if (c.req.path.startsWith("/api/uploads")) response.headers.set("Tus-Resumable", "1.0.0");
    return response;
  };
}

/**
 * Documents 403 csrf_rejected on every state-changing operation in /api/openapi.json, in one
 * place as the check is. Call once every route is declared.
 */
export function documentCsrf(app: OpenAPIHono<AppEnv>): void {
  for (const definition of app.openAPIRegistry.definitions) {
    if (definition.type !== "route" || SAFE_METHODS.has(definition.route.method.toUpperCase())) continue;
    const { responses } = definition.route;
    const forbidden = responses[403];
    const codes = forbidden && "description" in forbidden ? `${forbidden.description}, csrf_rejected` : "csrf_rejected";
    responses[403] = { content: { "application/json": { schema: errorSchema } }, description: codes };
  }
}
