/**
 * tus 1.0.0 resumable uploads at /api/uploads on the main port (@tus/server with
 * @tus/file-store under DATA_DIR/uploads). This module speaks the protocol and guards the door:
 * every request is signed in, an upload is only ever touched by its uploader while still a
 * member, and every error leaves as the JSON body of DESIGN.md "Errors" with its tus headers.
 * What an upload means for the conversation is VideoService's business.
 */
import { isUtf8 } from "node:buffer";
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { FileStore } from "@tus/file-store";
import { Server as TusServer, type Upload } from "@tus/server";
import {
  WbkError,
  idSchema,
  uploadFilenameSchema,
  uploadFiletypeSchema,
  type ConversationId,
  type ErrorBody,
  type ErrorCode,
  type UserId,
  type VideoId,
} from "@wbk/shared";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { Access } from "../access.js";
import type { AppEnv, RequireAuth } from "../http/context.js";
import { bearer, errorAnswers } from "../http/openapi.js";
import { errorResponse, retryAfterSeconds, toWbkError, validationError } from "../http/errors.js";
import type { Logger } from "../log.js";
import type { UploadRecord } from "../storage/types.js";
import type { VideoService } from "./service.js";

export const UPLOADS_PATH = "/api/uploads";
/** Upload ids are 128 random bits in hex: unguessable, and never anything a client chose. */
const UPLOAD_ID = /^[0-9a-f]{32}$/;

/** tus answers some failures itself with a plain-text body; their codes by status. */
const TUS_ERROR_CODES: Record<number, ErrorCode> = {
  400: "validation_failed",
  403: "forbidden",
  404: "not_found",
  409: "offset_mismatch",
  410: "upload_expired",
  412: "precondition_failed",
  413: "payload_too_large",
  415: "unsupported_media_type",
  501: "not_implemented",
};

/** A key sent without a value (`filetype`, as phones do) arrives as null: it means empty. */
const emptyIfNull = (value: unknown) => (value === null ? "" : value);
const metadataSchema = z.object({
  conversationId: idSchema,
  filename: z.preprocess(emptyIfNull, uploadFilenameSchema),
  filetype: z.preprocess(emptyIfNull, uploadFiletypeSchema).default(""),
});

/** Where upload bytes live: one file per upload id (plus tus's `<id>.json`), nothing else. */
export function uploadFiles(dataDir: string) {
  const directory = path.join(dataDir, "uploads");
  return {
    directory,
    path: (id: VideoId) => path.join(directory, id),
    async remove(id: VideoId): Promise<void> {
      await Promise.all([fs.rm(path.join(directory, id), { force: true }), fs.rm(path.join(directory, `${id}.json`), { force: true })]);
    },
  };
}

interface RequestState {
  userId: UserId;
  /** Set on the creating POST, so its answer can name the video and its message. */
  created?: { videoId: string; messageId: string };
}

export function uploadRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: {
    videos: VideoService;
    access: Access;
    requireAuth: RequireAuth;
    directory: string;
    trustProxy: boolean;
    uploadExpiryHours: number;
    logger: Logger;
  },
): void {
  const { videos } = deps;
  // The hooks get the same Request object the route passes in: that is how they know the user.
  const states = new WeakMap<Request, RequestState>();
  const stateOf = (req: Request): RequestState => {
    const state = states.get(req);
    if (!state) throw new Error("tus request without a route state");
    return state;
  };

  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore: new FileStore({
      directory: deps.directory,
      expirationPeriodInMilliseconds: deps.uploadExpiryHours * 3_600_000,
    }),
    namingFunction: () => randomBytes(16).toString("hex"),
    getFileIdFromRequest: (_req, lastPath) => (lastPath && UPLOAD_ID.test(lastPath) ? lastPath : undefined),
    respectForwardedHeaders: deps.trustProxy,
    // CORS is the app's, one policy for REST and tus (http/crossOrigin.ts): tus sets none.
    allowedOrigins: [],
    disableTerminationForFinishedUploads: true,
    async onUploadCreate(req, upload) {
      const state = stateOf(req);
      const garbled = notUtf8Value(req.headers.get("upload-metadata"));
      if (garbled !== undefined) {
        const message = `${garbled} must be UTF-8 text`;
        throw new WbkError("validation_failed", message, [{ path: `Upload-Metadata.${garbled}`, message }]);
      }
      const meta = metadataSchema.safeParse(upload.metadata ?? {});
      if (!meta.success) throw withMetadataPaths(validationError(meta.error));
      if (upload.size === undefined) throw new WbkError("validation_failed", "Upload-Length is required");
      state.created = await videos.begin(state.userId, upload.id as VideoId, {
        conversationId: meta.data.conversationId as ConversationId,
        filename: meta.data.filename,
        claimedType: meta.data.filetype,
        size: upload.size,
      });
      return {};
    },
    async onUploadFinish(req, upload: Upload) {
      const ids = await videos.complete(stateOf(req).userId, upload.id as VideoId);
      return { headers: { "Wbk-Video-Id": ids.videoId, "Wbk-Message-Id": ids.messageId } };
    },
    async onResponseError(_req, error) {
      if (error instanceof WbkError) return { status_code: error.status, body: JSON.stringify(error.toBody()) };
      if (!("status_code" in error)) deps.logger.error({ err: error }, "upload failed");
      return undefined;
    },
  });
  const handle = async (c: Context<AppEnv>): Promise<Response> => {
    try {
      return await forward(c);
    } catch (error) {
      const response = errorResponse(c, toWbkError(error, deps.logger));
      response.headers.set("Tus-Resumable", "1.0.0");
      return response;
    }
  };

  const forward = async (c: Context<AppEnv>): Promise<Response> => {
    const request = c.req.raw;
    let upload: UploadRecord | undefined;
    if (request.method !== "OPTIONS") {
      const { userId } = deps.requireAuth(c);
      const id = c.req.param("id");
      if (id !== undefined) {
        upload = videos.ownUpload(userId, id as VideoId);
        deps.access.requireMember(userId, upload.conversationId);
      } else if (request.method === "POST" && !/^\d+$/.test(request.headers.get("upload-length") ?? "")) {
        // Size decides the limits and the message shown while uploading: no deferred lengths.
        throw new WbkError("validation_failed", "Upload-Length is required (a whole number of bytes)");
      }
      states.set(request, { userId });
    }
    const response = await tus.handleWeb(request);
    // tus adds Access-Control-* headers for any origin; the app's CORS policy decides instead.
    for (const name of [...response.headers.keys()]) if (name.startsWith("access-control-")) response.headers.delete(name);
    if (request.method === "DELETE" && response.status === 204 && upload) {
      // Cancelled by the uploader: recorded before the answer, so the place it held is free.
      await videos.cancelled(upload);
    }
    const created = states.get(request)?.created;
    if (request.method === "POST" && response.status === 201 && created) {
      response.headers.set("Wbk-Video-Id", created.videoId);
      response.headers.set("Wbk-Message-Id", created.messageId);
    }
    return response.status >= 400 ? asJsonError(response, request.method) : response;
  };

  app.on(["POST", "OPTIONS"], UPLOADS_PATH, handle);
  app.on(["PATCH", "DELETE", "OPTIONS"], `${UPLOADS_PATH}/:id`, handle);
  // Hono routes HEAD through the GET route. tus would serve the raw bytes on GET; videos are
  // served (checked, with ranges) at /api/videos/:videoId instead.
  app.get(`${UPLOADS_PATH}/:id`, (c) => {
    if (c.req.method === "HEAD") return handle(c);
    c.header("Allow", "HEAD, PATCH, DELETE, OPTIONS");
    return errorResponse(c, new WbkError("method_not_allowed", "uploads are not downloaded: play videos at /api/videos/:videoId"));
  });
  documentUploads(app);
}

/** The tus operations in /api/openapi.json (the protocol itself is tus 1.0.0). */
function documentUploads(app: OpenAPIHono<AppEnv>): void {
  const tusHeaders = "tus 1.0.0 (`Tus-Resumable: 1.0.0`)";
  const upload = { params: z.object({ id: z.string().regex(UPLOAD_ID) }) };
  const ids = "`Wbk-Video-Id` and `Wbk-Message-Id` name the video and its message";
  const operations: Array<{ method: "post" | "patch" | "delete" | "options" | "get"; path: string; summary: string; responses: Record<number, { description: string }> }> = [
    {
      method: "post",
      path: UPLOADS_PATH,
      summary: `Creates an upload (${tusHeaders}); \`Upload-Length\` and \`Upload-Metadata\` with conversationId, filename, filetype. ${ids}.`,
      responses: { 201: { description: "Created; `Location` is the upload URL" }, ...errorAnswers("unauthenticated", "forbidden", "not_found", "validation_failed", "payload_too_large", "precondition_failed", "rate_limited", "limit_exceeded", "load_failed") },
    },
    {
      method: "patch",
      path: `${UPLOADS_PATH}/{id}`,
      summary: `Appends bytes at \`Upload-Offset\` (\`Content-Type: application/offset+octet-stream\`). The final one checks the content; ${ids}.`,
      responses: { 204: { description: "Stored; `Upload-Offset` is the new offset" }, ...errorAnswers("unauthenticated", "forbidden", "not_found", "offset_mismatch", "upload_expired", "payload_too_large", "unsupported_media_type") },
    },
    {
      method: "delete",
      path: `${UPLOADS_PATH}/{id}`,
      summary: "Cancels an unfinished upload; its message ends failed",
      responses: { 204: { description: "Cancelled" }, ...errorAnswers("unauthenticated", "forbidden", "not_found", "validation_failed") },
    },
    { method: "options", path: UPLOADS_PATH, summary: "tus capabilities (`Tus-Version`, `Tus-Extension`)", responses: { 204: { description: "Capabilities" } } },
    { method: "options", path: `${UPLOADS_PATH}/{id}`, summary: "tus capabilities", responses: { 204: { description: "Capabilities" } } },
    {
      // HEAD shares GET's route (Hono answers HEAD with the GET route): documented together.
      method: "get",
      path: `${UPLOADS_PATH}/{id}`,
      summary: "HEAD: the upload's `Upload-Offset` and `Upload-Length`, to resume. GET answers 405: play videos at /api/videos/{videoId}",
      responses: {
        200: { description: "HEAD: `Upload-Offset` and `Upload-Length`" },
        ...errorAnswers("unauthenticated", "forbidden", "not_found", "method_not_allowed", "upload_expired"),
      },
    },
  ];
  for (const { method, path: route, summary, responses } of operations) {
    const isPublic = method === "options";
    app.openAPIRegistry.registerPath({
      method,
      path: route,
      tags: ["uploads"],
      summary,
      ...(isPublic ? {} : { security: bearer }),
      ...(route.endsWith("{id}") ? { request: upload } : {}),
      responses,
    });
  }
}

/**
 * The key of the first Upload-Metadata value whose bytes are not UTF-8. tus decodes values
 * with Buffer's decoder, which turns such bytes (a lone surrogate sent as WTF-8, say) into
 * U+FFFD without a word: refused instead, like the JSON bodies (http/utf8Body.ts).
 */
function notUtf8Value(header: string | null): string | undefined {
  for (const pair of (header ?? "").split(",")) {
    const [key, value] = pair.trim().split(" ");
    if (key && value && !isUtf8(Buffer.from(value, "base64"))) return key;
  }
  return undefined;
}

/** Validation details of Upload-Metadata name the metadata key. */
function withMetadataPaths(error: WbkError): WbkError {
  const details = (error.details as Array<{ path: string; message: string }> | undefined)?.map((d) => ({
    ...d,
    path: `Upload-Metadata.${d.path}`,
  }));
  return new WbkError(error.code, error.message, details);
}

/** Gives a tus error answer the JSON body of DESIGN.md "Errors", keeping its tus headers. */
async function asJsonError(response: Response, method: string): Promise<Response> {
  const text = (await response.text()).trim();
  let error: WbkError;
  try {
    // Ours, thrown by a hook and serialised by onResponseError.
    const { code, message, details } = (JSON.parse(text) as ErrorBody).error;
    error = new WbkError(code, message, details);
  } catch {
    const code = TUS_ERROR_CODES[response.status] ?? "internal";
    error = new WbkError(code, code === "internal" ? "something went wrong on our side" : text || code);
  }
  const headers = new Headers(response.headers);
  headers.set("Content-Type", "application/json");
  headers.delete("Content-Length");
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== null) headers.set("Retry-After", String(retryAfter));
  // A HEAD answer carries no body.
  return new Response(method === "HEAD" ? null : JSON.stringify(error.toBody()), { status: error.status, headers });
}
