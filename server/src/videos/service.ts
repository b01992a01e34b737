/**
 * Video sharing (DESIGN.md "REST API", issue "Video sharing"): an upload's life from creation to
 * a playable video or a failure, mirrored into the conversation as a video message that every
 * member sees change from "uploading" to "ready" or "failed".
 *
 * The tus protocol itself lives in uploads.ts; this module decides and records.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import { pipeline } from "node:stream/promises";
import {
  WbkError,
  appendVideoMessage,
  findMessageMap,
  setVideoInfo,
  type ConversationId,
  type MessageId,
  type UserId,
  type VideoDto,
  type VideoId,
  type VideoInfo,
  type VideoStatus,
} from "@wbk/shared";
import type { Access } from "../access.js";
import type { WithDocument } from "../chat/documents.js";
import type { WritePath } from "../collab/writePath.js";
import type { Logger } from "../log.js";
import { rateLimited } from "../rateLimit.js";
import type { Storage, UploadRecord, VideoRecord } from "../storage/types.js";
import { inspectVideo } from "./inspect.js";

const HOUR_MS = 3_600_000;

export interface VideoServiceOptions {
  storage: Storage;
  access: Access;
  withDocument: WithDocument;
  writePath: WritePath;
  logger: Logger;
  now: () => number;
  maxVideoBytes: number;
  maxConcurrentUploads: number;
  /** Uploads one user may start per hour; 0 = no limit. */
  uploadsPerHour: number;
  uploadExpiryHours: number;
  probe: "ffprobe" | "structure";
  /** Where an upload's bytes are, by upload id, and how to delete them. */
  files: { path(id: VideoId): string; remove(id: VideoId): Promise<void> };
}

export interface UploadIds {
  videoId: VideoId;
  messageId: MessageId;
}

export interface NewUpload {
  conversationId: ConversationId;
  filename: string;
  claimedType: string;
  size: number;
}

/** The video message of an upload: one per upload, so its id comes from the upload's. */
export const videoMessageId = (videoId: VideoId) => `video-${videoId}` as MessageId;

export const toVideoDto = (video: VideoRecord): VideoDto => ({
  id: video.id,
  conversationId: video.conversationId,
  uploaderId: video.uploaderId,
  filename: video.filename,
  mime: video.mime,
  size: video.size,
  durationMs: video.durationMs,
  sha256: video.sha256,
  createdAt: new Date(video.createdAt).toISOString(),
});

export class VideoService {
  constructor(private readonly options: VideoServiceOptions) {}

  /**
   * The caller's own upload, unfinished or finished, or `not_found`: another user's upload id is
   * not theirs to see, and a failed upload (refused, cancelled, expired) is gone.
   */
  ownUpload(userId: UserId, id: VideoId): UploadRecord {
    const upload = this.options.storage.videos.upload(id);
    if (!upload || upload.userId !== userId) throw new WbkError("not_found", "no such upload");
    if (upload.status === "failed") throw new WbkError("not_found", "the upload has ended (refused, cancelled or expired)");
    return upload;
  }

  /** A size a video may declare (`Upload-Length`): at least a byte, at most MAX_VIDEO_BYTES. */
  checkSize(size: number): void {
    if (size === 0) {
      const message = "the video is empty";
      throw new WbkError("validation_failed", message, [{ path: "Upload-Length", message }]);
    }
    if (size > this.options.maxVideoBytes) {
      throw new WbkError("payload_too_large", `a video may be at most ${this.options.maxVideoBytes} bytes`);
    }
  }

  /**
   * Checks a new upload (membership, size, limits), records it and writes its "uploading"
   * message, which members see at once and offline members when they sync.
   */
  async begin(userId: UserId, id: VideoId, upload: NewUpload): Promise<UploadIds> {
    const { storage, access, now } = this.options;
    access.requireMember(userId, upload.conversationId);
    this.checkSize(upload.size);
    const createdAt = now();
    const perHour = this.options.uploadsPerHour;
    const recent = storage.videos.createdSince(userId, createdAt - HOUR_MS);
    if (perHour > 0 && recent.count >= perHour) {
      // The window frees up when its oldest upload turns an hour old.
      throw rateLimited(
        this.options.logger,
        { limit: "RATE_LIMIT_UPLOADS_PER_HOUR", userId },
        `at most ${perHour} uploads an hour`,
        (recent.oldest ?? createdAt) + HOUR_MS - createdAt,
      );
    }
    const record = { id, userId, createdAt, ...upload };
    if (!storage.videos.createUpload(record, this.options.maxConcurrentUploads)) {
      throw new WbkError(
        "limit_exceeded",
        `at most ${this.options.maxConcurrentUploads} unfinished uploads at once; finish or cancel one first`,
      );
    }
    const messageId = videoMessageId(id);
    const video: VideoInfo = {
      videoId: id,
      filename: upload.filename,
      mime: "",
      size: upload.size,
      durationMs: null,
      status: "uploading",
    };
    await this.options.withDocument(upload.conversationId, userId, (document) => {
      this.options.writePath.serverWrite(document, userId, ["message.sent"], [{ messageId, authorId: userId }], (doc) =>
        appendVideoMessage(doc, { id: messageId, authorId: userId, createdAt, video }),
      );
      this.options.writePath.flushStamps();
    });
    this.options.logger.info({ videoId: id, userId, conversationId: upload.conversationId, size: upload.size }, "upload created");
    return { videoId: id, messageId };
  }

  /**
   * Called when the last byte arrived: the bytes decide whether it is a whole video. A refused
   * upload is deleted and its message ends "failed"; a second completion changes nothing.
   */
  async complete(userId: UserId, id: VideoId): Promise<UploadIds> {
    const upload = this.ownUpload(userId, id);
    const ids = { videoId: id, messageId: videoMessageId(id) };
    if (upload.status === "ready") return ids;
    const file = this.options.files.path(id);
    let check: Awaited<ReturnType<typeof inspectVideo>>;
    let sha256 = "";
    try {
      check = await inspectVideo(file, this.options.probe);
      if (check.ok) sha256 = await hashFile(file);
    } finally {
      // Cancelled meanwhile (DELETE, the uploader left): that wins over what the bytes said.
      this.ownUpload(userId, id);
    }
    if (!check.ok) {
      await this.abandon(upload, `not a whole video: ${check.reason}`);
      throw refusedUpload();
    }
    // No await since the check above: nothing can end the upload before it is finished.
    const video = this.options.storage.videos.finish({
      id,
      conversationId: upload.conversationId,
      uploaderId: userId,
      filename: upload.filename,
      mime: check.mime,
      codec: check.codec,
      size: upload.size,
      durationMs: check.durationMs,
      sha256,
      createdAt: this.options.now(),
    });
    await this.writeStatus(upload, "ready", { mime: video.mime, durationMs: video.durationMs });
    this.options.logger.info({ videoId: id, mime: video.mime, codec: video.codec, size: video.size }, "video ready");
    return ids;
  }

  /** The uploader cancels (tus DELETE): the bytes go, the message ends "failed". A finished video stays. */
  async cancel(upload: UploadRecord): Promise<void> {
    if (upload.status === "ready") throw new WbkError("forbidden", "a finished video cannot be deleted through tus");
    await this.abandon(upload, "cancelled by the uploader");
  }

  /** A member left or was removed: their unfinished uploads to the conversation end now, freeing their places. */
  async memberLeft(conversationId: ConversationId, userId: UserId): Promise<void> {
    for (const upload of this.options.storage.videos.unfinishedIn(conversationId, userId)) {
      try {
        await this.abandon(upload, "the uploader left the conversation");
      } catch (error) {
        // The member is gone either way; the upload is marked failed before anything can fail.
        this.options.logger.error({ err: error, videoId: upload.id }, "could not delete a leaving member's upload");
      }
    }
  }

  /**
   * Deletes unfinished uploads older than UPLOAD_EXPIRY_HOURS; their messages end "failed".
   * Finished videos are never touched. Returns how many were removed.
   */
  async expire(): Promise<number> {
    const before = this.options.now() - this.options.uploadExpiryHours * HOUR_MS;
    const stale = this.options.storage.videos.unfinishedBefore(before);
    for (const upload of stale) {
      try {
        await this.abandon(upload, "expired");
      } catch (error) {
        this.options.logger.error({ err: error, videoId: upload.id }, "could not expire an upload");
      }
    }
    if (stale.length > 0) this.options.logger.info({ count: stale.length }, "expired unfinished uploads");
    return stale.length;
  }

  /** A finished video the user may watch: `not_found` or `forbidden` otherwise. */
  video(userId: UserId, id: VideoId): VideoRecord {
    const video = this.options.storage.videos.video(id);
    if (!video) throw new WbkError("not_found", "no such video");
    this.options.access.requireMember(userId, video.conversationId);
    return video;
  }

  filePath(id: VideoId): string {
    return this.options.files.path(id);
  }

  list(userId: UserId, conversationId: ConversationId, after: number, limit: number): { videos: VideoDto[]; next: number | null } {
    this.options.access.requireMember(userId, conversationId);
    const page = this.options.storage.videos.videos(conversationId, after, limit + 1);
    const videos = page.slice(0, limit);
    return { videos: videos.map(toVideoDto), next: page.length > limit ? (videos.at(-1)?.seq ?? null) : null };
  }

  /**
   * Ends an unfinished upload as failed. Recorded first, so from then on every request takes it
   * for gone (a PATCH still being written answers 404); then its bytes are deleted once no
   * request writes them, and its message ends "failed". Nothing when it had ended already.
   */
  private async abandon(upload: UploadRecord, reason: string): Promise<void> {
    if (!this.options.storage.videos.fail(upload.id, this.options.now())) return;
    this.options.logger.info({ videoId: upload.id, reason }, "upload ended");
    await this.options.files.remove(upload.id);
    await this.writeStatus(upload, "failed", {});
  }

  /** Rewrites the upload's video message with its new status (and what the bytes told). */
  private async writeStatus(upload: UploadRecord, status: VideoStatus, found: Partial<VideoInfo>): Promise<void> {
    const messageId = videoMessageId(upload.id);
    await this.options.withDocument(upload.conversationId, upload.userId, (document) => {
      const map = findMessageMap(document, messageId);
      if (!map) {
        this.options.logger.warn({ videoId: upload.id }, "the upload's message is gone; status not written");
        return;
      }
      const current = map.get("video") as VideoInfo;
      const actions = status === "ready" ? (["video.shared"] as const) : [];
      this.options.writePath.serverWrite(document, upload.userId, actions, [], () =>
        setVideoInfo(map, { ...current, ...found, status }),
      );
    });
  }
}

function refusedUpload(): WbkError {
  return new WbkError("unsupported_media_type", "the upload is not a whole video (MP4, MOV, WebM or Matroska)");
}

async function hashFile(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest("hex");
}
