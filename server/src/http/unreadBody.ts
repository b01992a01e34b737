/**
 * A response sent before the request's body arrived in full (a 413 judged by Content-Length, a
 * refusal before the body is read) closes the connection. The client may stop sending the
 * rest once it has the answer, and @hono/node-server then drops the socket after half a second
 * of waiting for it: without `Connection: close`, a keep-alive client sends its next request
 * into that socket and gets a network error instead of an answer.
 */
import type { IncomingMessage } from "node:http";
import type { MiddlewareHandler } from "hono";

export function closeUnreadBodies(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    if (incoming && !incoming.complete) c.res.headers.set("Connection", "close");
  };
}
