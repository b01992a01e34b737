/**
 * Finished videos (DESIGN.md "REST API"): playback with byte ranges, for members only, by
 * bearer or cookie (so a plain `<video src>` plays), and the conversation's list of videos.
 */
import fs from "node:fs";
import { Readable } from "node:stream";
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import {
  WbkError,
  idSchema,
  pageLimitSchema,
  seqCursorSchema,
  videoSchema,
  type ConversationId,
  type VideoId,
} from "@wbk/shared";
import { z } from "zod";
import type { VideoService } from "../../videos/service.js";
import type { AppEnv, RequireAuth } from "../context.js";
import { bearer, errorAnswers, jsonAnswer } from "../openapi.js";

/** A finished video never changes (new bytes are a new upload): cache it for a year, privately. */
const CACHE_CONTROL = "private, max-age=31536000, immutable";

export type ByteRange = { start: number; end: number };

/**
 * The one range a `Range` header asks for (RFC 9110 §14.1.2), inclusive. "whole" when there is
 * no header or one this server ignores, as §14.2 allows: another unit, a malformed value,
 * several ranges (players ask for one at a time). null for a single byte range that cannot be
 * satisfied: it starts at or past the end, ends before it starts, or is the suffix `-0`.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "whole" | null {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/i.exec(header.trim());
  if (!match) return "whole";
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return "whole";
  if (first === "") {
    // A suffix: the last N bytes.
    const length = Number(last);
    if (length === 0 || size === 0) return null;
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? size - 1 : Math.min(Number(last), size - 1);
  if (start >= size || end < start) return null;
  return { start, end };
}

/** `If-None-Match` (RFC 9110 §13.1.2): `*` or a list holding the ETag, weak or not. */
function noneMatch(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === "*") return true;
  return header.split(",").some((tag) => tag.trim().replace(/^W\//, "") === etag);
}

/**
 * `If-Range` (RFC 9110 §13.1.5): the range holds only while the file is the one the client has
 * part of, named by its strong ETag. A weak tag or a date (there is no Last-Modified) never is.
 */
function rangeStillValid(header: string | undefined, etag: string): boolean {
  return header === undefined || header.trim() === etag;
}

export function videoRoutes(app: OpenAPIHono<AppEnv>, deps: { videos: VideoService; requireAuth: RequireAuth }): void {
  const { videos, requireAuth } = deps;

  app.openapi(
    createRoute({
      method: "get",
      path: "/api/conversations/{id}/videos",
      tags: ["videos"],
      security: bearer,
      request: {
        params: z.object({ id: idSchema }),
        query: z.object({ after: seqCursorSchema("after").optional(), limit: pageLimitSchema }),
      },
      responses: {
        200: jsonAnswer(
          z.object({ videos: z.array(videoSchema), next: z.number().nullable() }),
          "Finished videos in completion order; `next` is the cursor for the following page",
        ),
        ...errorAnswers("unauthenticated", "forbidden", "not_found", "validation_failed"),
      },
    }),
    (c) => {
      const { id } = c.req.valid("param");
      const { after, limit } = c.req.valid("query");
      return c.json(videos.list(requireAuth(c).userId, id as ConversationId, after ?? 0, limit), 200);
    },
  );

  // Bytes, not JSON: declared in the spec here and served by a plain route below.
  const bytes = { "video/*": { schema: z.string().openapi({ format: "binary" }) } };
  app.openAPIRegistry.registerPath({
    method: "get",
    path: "/api/videos/{videoId}",
    tags: ["videos"],
    security: bearer,
    request: { params: z.object({ videoId: idSchema }) },
    responses: {
      200: {
        description: "The whole video; `ETag` is its SHA-256. Also the answer to a `Range` this server ignores (malformed, another unit, several ranges) or whose `If-Range` is not the ETag",
        content: bytes,
      },
      206: { description: "The requested byte range (`Range: bytes=…`, one range)", content: bytes },
      304: { description: "Not modified (`If-None-Match` with its ETag, weak or strong, or `*`)" },
      ...errorAnswers("unauthenticated", "forbidden", "not_found", "range_not_satisfiable"),
    },
  });
  app.get("/api/videos/:videoId", (c) => {
    const video = videos.video(requireAuth(c).userId, c.req.param("videoId") as VideoId);
    const etag = `"${video.sha256}"`;
    const headers: Record<string, string> = {
      "Content-Type": video.mime,
      "Accept-Ranges": "bytes",
      ETag: etag,
      "Cache-Control": CACHE_CONTROL,
    };
    if (noneMatch(c.req.header("if-none-match"), etag)) return c.body(null, 304, headers);
    const range = rangeStillValid(c.req.header("if-range"), etag) ? parseRange(c.req.header("range"), video.size) : "whole";
    if (range === null) {
      c.header("Content-Range", `bytes */${video.size}`);
      throw new WbkError("range_not_satisfiable", `the video has ${video.size} bytes`);
    }
    const { start, end } = range === "whole" ? { start: 0, end: video.size - 1 } : range;
    headers["Content-Length"] = String(end - start + 1);
    if (range !== "whole") headers["Content-Range"] = `bytes ${start}-${end}/${video.size}`;
    const stream = fs.createReadStream(videos.filePath(video.id), { start, end });
    return c.body(Readable.toWeb(stream) as ReadableStream, range === "whole" ? 200 : 206, headers);
  });
}
