/**
 * JSON bodies must be UTF-8 (RFC 8259 §8.1). The platform's JSON reader decodes bytes that are
 * not UTF-8 into U+FFFD without a word, so a lone surrogate sent as WTF-8 would be stored as
 * "�" and read back as something its writer never wrote. Such a body is refused before any
 * route parses it; a lone surrogate written as a JSON escape (`"\ud800"`) parses, and the
 * schemas refuse that string as `validation_failed`.
 */
import { isUtf8 } from "node:buffer";
import { WbkError } from "@wbk/shared";
import type { Context, Next } from "hono";

export function utf8Body(): (c: Context, next: Next) => Promise<void> {
  return async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      // Hono keeps the bytes: the route's JSON parse reads the same ones again.
      if (!isUtf8(await c.req.arrayBuffer())) {
        throw new WbkError("invalid_json", "the body is not valid JSON: it must be UTF-8 text");
      }
    }
    await next();
  };
}
