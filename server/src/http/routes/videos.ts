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
 * The one range a `Range` header asks for (RFC 9110 §14.1.2), inclusive; "whole" when there is
 * no header or it is one this server ignores (several ranges, another unit); null when it
 * cannot be satisfied.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | "whole" | null {
  if (!header) return "whole";
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return header.trim().startsWith("bytes=") && !header.includes(",") ? null : "whole";
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return null;
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
      200: { description: "The whole video; `ETag` is its SHA-256", content: bytes },
      206: { description: "The requested byte range (`Range: bytes=…`)", content: bytes },
      304: { description: "Not modified (`If-None-Match`)" },
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
    if (c.req.header("if-none-match")?.split(",").some((tag) => tag.trim() === etag)) {
      return c.body(null, 304, headers);
    }
    const range = parseRange(c.req.header("range"), video.size);
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
