/**
 * Logs every request under /api (REST now, tus later) for the weekly reports: the user if
 * signed in, method, the matched route pattern (never the raw URL or query, which can hold
 * ids and tokens), status, duration and bytes. Written in batches by the RequestLogger.
 */
import type { ServerResponse } from "node:http";
import type { MiddlewareHandler } from "hono";
import { matchedRoutes } from "hono/route";
import type { RequestLogger } from "../reports/requestLog.js";
import type { AppEnv } from "./context.js";

/** The route of a request no endpoint declares: it fell through to the /api 404. */
const UNMATCHED = "/api/*";

const size = (value: string | undefined) => (value && /^\d+$/.test(value) ? Number(value) : null);

export function requestLog(log: RequestLogger, now: () => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const at = now();
    const started = performance.now();
    // Under @hono/node-server the Node response is at hand: bytes are counted as sent.
    const outgoing = (c.env as { outgoing?: ServerResponse } | undefined)?.outgoing;
    const socket = outgoing?.socket ?? null;
    const sentBefore = socket?.bytesWritten ?? 0;
    await next();
    // Middleware is registered for ALL methods; the first method-specific match is the endpoint.
    const endpoint = matchedRoutes(c).find((route) => route.method !== "ALL");
    const entry = {
      at,
      kind: "http" as const,
      userId: c.get("auth")?.user.id ?? null,
      method: c.req.method,
      route: endpoint?.path ?? UNMATCHED,
      status: c.res.status,
      durationMs: 0,
      bytesIn: size(c.req.header("content-length")),
      bytesOut: null as number | null,
    };
    if (!outgoing) {
      entry.durationMs = Math.round(performance.now() - started);
      log.record(entry);
      return;
    }
    // The answer is still being written: measure once it is sent (or the client went away).
    outgoing.once("close", () => {
      entry.durationMs = Math.round(performance.now() - started);
      entry.bytesOut = socket ? socket.bytesWritten - sentBefore : null;
      log.record(entry);
    });
  };
}
