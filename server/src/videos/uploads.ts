/**
 * tus 1.0.0 resumable uploads at /api/uploads on the main port (@tus/server with
 * @tus/file-store under DATA_DIR/uploads). This module guards the door: every request is signed
 * in and its tus headers checked (tusProtocol.ts) before tus sees it, an upload is only ever
 * touched by its uploader while still a member, and every error leaves as the JSON body of
 * DESIGN.md "Errors" with its tus headers. What an upload means for the conversation, and how
 * one ends, is VideoService's business.
 */
import { randomBytes } from "node:crypto";
import fs from "node:fs/promises";
import path from "node:path";
import { FileStore } from "@tus/file-store";
import { MemoryLocker, Server as TusServer, type Upload } from "@tus/server";
import { WbkError, type ConversationId, type UserId, type VideoId } from "@wbk/shared";
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import { z } from "zod";
import type { Access } from "../access.js";
import type { AppEnv, RequireAuth } from "../http/context.js";
import { requestOrigin, schemeOf } from "../http/crossOrigin.js";
import { bearer, errorAnswers } from "../http/openapi.js";
import { errorResponse, toWbkError } from "../http/errors.js";
import type { Logger } from "../log.js";
import type { VideoService } from "./service.js";
import {
  TUS_VERSION,
  checkTusHeaders,
  fromTusAnswer,
  fromTusRefusal,
  requestForTus,
  tusErrorAnswer,
  type UploadMetadata,
} from "./tusProtocol.js";

export const UPLOADS_PATH = "/api/uploads";
/** Upload ids are 128 random bits in hex: unguessable, and never anything a client chose. */
const UPLOAD_ID = /^[0-9a-f]{32}$/;
/** What tus offers here (`Tus-Extension`): FileStore's list without deferred lengths, which we refuse. */
const TUS_EXTENSIONS = ["creation", "creation-with-upload", "termination", "expiration"];

/**
 * Where upload bytes live: one file per upload id (plus tus's `<id>.json`), nothing else.
 * `locker` is tus's: removing waits until no request holds the upload, and a PATCH still
 * writing is asked to stop (it does within tus's lockDrainTimeout, 3 s).
 */
export function uploadFiles(dataDir: string) {
  const directory = path.join(dataDir, "uploads");
  const locker = new MemoryLocker();
  return {
    directory,
    locker,
    path: (id: VideoId) => path.join(directory, id),
    async remove(id: VideoId): Promise<void> {
      const lock = locker.newLock(id);
      // Whoever asks for the lock meanwhile waits: the removal is short.
      await lock.lock(new AbortController().signal, () => undefined);
      try {
        await Promise.all([fs.rm(path.join(directory, id), { force: true }), fs.rm(path.join(directory, `${id}.json`), { force: true })]);
      } finally {
        await lock.unlock();
      }
    },
  };
}
export type UploadFiles = ReturnType<typeof uploadFiles>;

interface RequestState {
  userId: UserId;
  /** Where the upload URL points: the origin the client sees, or none (a relative Location). */
  origin: string;
  /** The creating POST's checked metadata. */
  metadata?: UploadMetadata;
  /** Set on the creating POST, so its answer can name the video and its message. */
  created?: { videoId: VideoId; messageId: string };
}

export function uploadRoutes(
  app: OpenAPIHono<AppEnv>,
  deps: {
    videos: VideoService;
    access: Access;
    requireAuth: RequireAuth;
    files: UploadFiles;
    trustProxy: boolean;
    maxVideoBytes: number;
    uploadExpiryHours: number;
    logger: Logger;
  },
): void {
  const { videos } = deps;
  // The hooks get the Request object handed to tus: that is how they know the user.
  const states = new WeakMap<Request, RequestState>();
  const stateOf = (req: Request): RequestState => {
    const state = states.get(req);
    if (!state) throw new Error("tus request without a route state");
    return state;
  };

  const datastore = new FileStore({
    directory: deps.files.directory,
    expirationPeriodInMilliseconds: deps.uploadExpiryHours * 3_600_000,
  });
  datastore.extensions = TUS_EXTENSIONS;
  const tus = new TusServer({
    path: UPLOADS_PATH,
    datastore,
    locker: deps.files.locker,
    // Advertised as Tus-Max-Size; the creating POST is checked against it before tus (VideoService).
    maxSize: deps.maxVideoBytes,
    namingFunction: () => randomBytes(16).toString("hex"),
    getFileIdFromRequest: (_req, lastPath) => (lastPath && UPLOAD_ID.test(lastPath) ? lastPath : undefined),
    // Location from the same origin the rest of the server sees (first X-Forwarded-* value).
    generateUrl: (req, { path: base, id }) => `${stateOf(req).origin}${base}/${id}`,
    // CORS is the app's, one policy for REST and tus (http/crossOrigin.ts): tus sets none.
    allowedOrigins: [],
    async onUploadCreate(req, upload) {
      const state = stateOf(req);
      const metadata = state.metadata as UploadMetadata;
      state.created = await videos.begin(state.userId, upload.id as VideoId, {
        conversationId: metadata.conversationId as ConversationId,
        filename: metadata.filename,
        claimedType: metadata.filetype,
        size: upload.size as number,
      });
      // What HEAD gives back: our three keys as stored, nothing else the client sent.
      return { metadata: { conversationId: metadata.conversationId, filename: metadata.filename, filetype: metadata.filetype } };
    },
    async onUploadFinish(req, upload: Upload) {
      const ids = await videos.complete(stateOf(req).userId, upload.id as VideoId);
      return { headers: { "Wbk-Video-Id": ids.videoId, "Wbk-Message-Id": ids.messageId } };
    },
    async onResponseError(_req, error) {
      const ours = fromTusRefusal(error);
      if (!ours) deps.logger.error({ err: error }, "upload failed");
      const answer = ours ?? new WbkError("internal", "something went wrong on our side");
      return { status_code: answer.status, body: JSON.stringify(answer.toBody()) };
    },
  });

  const handle = async (c: Context<AppEnv>): Promise<Response> => {
    try {
      return await forward(c);
    } catch (error) {
      return tusErrorAnswer(toWbkError(error, deps.logger), c.req.method);
    }
  };

  const forward = async (c: Context<AppEnv>): Promise<Response> => {
    const request = c.req.raw;
    const { method } = request;
    if (method === "OPTIONS") return withoutTusCors(await tus.handleWeb(requestForTus(request)));
    const { userId } = deps.requireAuth(c);
    const declared = checkTusHeaders(method, request.headers);
    const id = c.req.param("id") as VideoId | undefined;
    if (id === undefined) {
      videos.checkSize(declared.length as number);
    } else {
      const upload = videos.ownUpload(userId, id);
      deps.access.requireMember(userId, upload.conversationId);
      // Not tus's: one way to end an upload, for the uploader, a member leaving and expiry alike.
      if (method === "DELETE") {
        await videos.cancel(upload);
        return new Response(null, { status: 204, headers: { "Tus-Resumable": TUS_VERSION } });
      }
    }
    const forTus = requestForTus(request);
    const state: RequestState = { userId, origin: ownOrigin(c), metadata: declared.metadata };
    states.set(forTus, state);
    const response = await tus.handleWeb(forTus);
    if (response.status >= 400) return tusErrorAnswer(await fromTusAnswer(response), method);
    // Ended while tus was at it (cancelled, the uploader left, expired): what it wrote is gone.
    const uploadId = id ?? state.created?.videoId;
    if (uploadId !== undefined) videos.ownUpload(userId, uploadId);
    if (state.created) {
      response.headers.set("Wbk-Video-Id", state.created.videoId);
      response.headers.set("Wbk-Message-Id", state.created.messageId);
    }
    return withoutTusCors(response);
  };

  /** The upload URL's origin, as the rest of the server sees it; only http(s), else Location is relative. */
  const ownOrigin = (c: Context<AppEnv>): string => {
    const origin = requestOrigin((name) => c.req.header(name), schemeOf(c), deps.trustProxy);
    return origin && /^https?:/.test(origin) ? origin : "";
  };

  app.on(["POST", "OPTIONS"], UPLOADS_PATH, handle);
  app.on(["PATCH", "DELETE", "OPTIONS"], `${UPLOADS_PATH}/:id`, handle);
  // Hono routes HEAD through the GET route. tus would serve the raw bytes on GET; videos are
  // served (checked, with ranges) at /api/videos/:videoId instead.
  app.get(`${UPLOADS_PATH}/:id`, (c) => (c.req.method === "HEAD" ? handle(c) : notAllowed(c)));
  app.on(["PUT", "POST"], `${UPLOADS_PATH}/:id`, notAllowed);
  documentUploads(app);
}

const UPLOAD_METHODS = "HEAD, PATCH, DELETE, OPTIONS";

/** 405 for what an upload URL does not do, with the methods it does. */
function notAllowed(c: Context<AppEnv>): Response {
  c.header("Allow", UPLOAD_METHODS);
  const message =
    c.req.method === "GET"
      ? "uploads are not downloaded: play videos at /api/videos/:videoId"
      : `an upload URL takes ${UPLOAD_METHODS}; uploads are created with POST ${UPLOADS_PATH}`;
  return errorResponse(c, new WbkError("method_not_allowed", message));
}

/** tus adds Access-Control-* headers for any origin; the app's CORS policy decides instead. */
function withoutTusCors(response: Response): Response {
  for (const name of [...response.headers.keys()]) if (name.startsWith("access-control-")) response.headers.delete(name);
  return response;
}

/** The tus operations in /api/openapi.json (the protocol itself is tus 1.0.0), as they answer. */
function documentUploads(app: OpenAPIHono<AppEnv>): void {
  const tusHeaders = "tus 1.0.0 (`Tus-Resumable: 1.0.0`; without it 412 with `Tus-Version`)";
  const ids = "`Wbk-Video-Id` and `Wbk-Message-Id` name the video and its message";
  const notAllowedAnswer = errorAnswers("method_not_allowed");
  const operations: Array<{
    method: "post" | "patch" | "delete" | "options" | "get" | "head" | "put";
    path: string;
    summary: string;
    isPublic?: boolean;
    responses: Record<number, { description: string }>;
  }> = [
    {
      method: "post",
      path: UPLOADS_PATH,
      summary: `Creates an upload (${tusHeaders}): \`Upload-Length\` (1 byte up to \`Tus-Max-Size\`) and \`Upload-Metadata\` (at most 4 KiB) with conversationId, filename, filetype. A body (creation-with-upload) is appended at once. ${ids}.`,
      responses: {
        201: { description: "Created; `Location` is the upload URL" },
        ...errorAnswers(
          "unauthenticated",
          "forbidden",
          "not_found",
          "validation_failed",
          "precondition_failed",
          "payload_too_large",
          "unsupported_media_type",
          "rate_limited",
          "limit_exceeded",
          "not_implemented",
          "load_failed",
        ),
      },
    },
    {
      method: "head",
      path: `${UPLOADS_PATH}/{id}`,
      summary: `The upload's \`Upload-Offset\`, \`Upload-Length\` and \`Upload-Metadata\`, to resume (${tusHeaders})`,
      responses: {
        200: { description: "`Upload-Offset`, `Upload-Length`, `Upload-Metadata`" },
        ...errorAnswers("unauthenticated", "forbidden", "not_found", "precondition_failed", "upload_expired"),
      },
    },
    {
      method: "patch",
      path: `${UPLOADS_PATH}/{id}`,
      summary: `Appends bytes at \`Upload-Offset\` (\`Content-Type: application/offset+octet-stream\`). The final one checks the content; ${ids}.`,
      responses: {
        204: { description: "Stored; `Upload-Offset` is the new offset" },
        ...errorAnswers(
          "unauthenticated",
          "forbidden",
          "not_found",
          "validation_failed",
          "offset_mismatch",
          "upload_expired",
          "precondition_failed",
          "payload_too_large",
          "unsupported_media_type",
          "load_failed",
        ),
      },
    },
    {
      method: "delete",
      path: `${UPLOADS_PATH}/{id}`,
      summary: "Cancels an unfinished upload; its message ends failed. A finished video is `forbidden`.",
      responses: { 204: { description: "Cancelled" }, ...errorAnswers("unauthenticated", "forbidden", "not_found", "precondition_failed", "load_failed") },
    },
    { method: "options", path: UPLOADS_PATH, isPublic: true, summary: "tus capabilities (`Tus-Version`, `Tus-Extension`, `Tus-Max-Size`)", responses: { 204: { description: "Capabilities" } } },
    { method: "options", path: `${UPLOADS_PATH}/{id}`, isPublic: true, summary: "tus capabilities", responses: { 204: { description: "Capabilities" } } },
    // Answered before any session is read: never an upload's methods.
    { method: "get", path: `${UPLOADS_PATH}/{id}`, isPublic: true, summary: "405: uploads are not downloaded; play videos at /api/videos/{videoId}", responses: notAllowedAnswer },
    { method: "put", path: `${UPLOADS_PATH}/{id}`, isPublic: true, summary: "405 with `Allow`", responses: notAllowedAnswer },
    { method: "post", path: `${UPLOADS_PATH}/{id}`, isPublic: true, summary: "405 with `Allow`: uploads are created at /api/uploads", responses: notAllowedAnswer },
  ];
  const upload = { params: z.object({ id: z.string().regex(UPLOAD_ID) }) };
  for (const { method, path: route, summary, isPublic, responses } of operations) {
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
