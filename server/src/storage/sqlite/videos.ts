import type { ConversationId, UserId, VideoId } from "@wbk/shared";
import type { UploadRecord, UploadStatus, VideoRecord, VideoStore } from "../types.js";
import type { Db } from "./database.js";
import type { Rollups } from "./rollups.js";

interface UploadRow {
  id: string;
  conversation_id: string;
  user_id: string;
  filename: string;
  claimed_type: string;
  size: number;
  created_at: number;
  status: UploadStatus;
  ended_at: number | null;
}

interface VideoRow {
  seq: number;
  id: string;
  conversation_id: string;
  uploader_id: string;
  filename: string;
  mime: string;
  codec: string | null;
  size: number;
  duration_ms: number | null;
  sha256: string;
  created_at: number;
}

const toUpload = (row: UploadRow): UploadRecord => ({
  id: row.id as VideoId,
  conversationId: row.conversation_id as ConversationId,
  userId: row.user_id as UserId,
  filename: row.filename,
  claimedType: row.claimed_type,
  size: row.size,
  createdAt: row.created_at,
  status: row.status,
  endedAt: row.ended_at,
});

const toVideo = (row: VideoRow): VideoRecord => ({
  seq: row.seq,
  id: row.id as VideoId,
  conversationId: row.conversation_id as ConversationId,
  uploaderId: row.uploader_id as UserId,
  filename: row.filename,
  mime: row.mime,
  codec: row.codec,
  size: row.size,
  durationMs: row.duration_ms,
  sha256: row.sha256,
  createdAt: row.created_at,
});

export function sqliteVideos(db: Db, rollups: Rollups): VideoStore {
  const unfinishedOf = db.prepare<[string], { n: number }>(
    "SELECT COUNT(*) AS n FROM uploads WHERE user_id = ? AND status = 'uploading'",
  );
  const insertUpload = db.prepare(
    `INSERT INTO uploads (id, conversation_id, user_id, filename, claimed_type, size, created_at, status)
     VALUES (@id, @conversationId, @userId, @filename, @claimedType, @size, @createdAt, 'uploading')`,
  );
  const upload = db.prepare<[string], UploadRow>("SELECT * FROM uploads WHERE id = ?");
  const createdSince = db.prepare<[string, number], { n: number; oldest: number | null }>(
    "SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM uploads WHERE user_id = ? AND created_at > ?",
  );
  const end = db.prepare<[UploadStatus, number, string]>(
    "UPDATE uploads SET status = ?, ended_at = ? WHERE id = ? AND status = 'uploading'",
  );
  const insertVideo = db.prepare(
    `INSERT INTO videos (id, conversation_id, uploader_id, filename, mime, codec, size, duration_ms, sha256, created_at)
     VALUES (@id, @conversationId, @uploaderId, @filename, @mime, @codec, @size, @durationMs, @sha256, @createdAt)`,
  );
  const unfinishedBefore = db.prepare<[number], UploadRow>(
    "SELECT * FROM uploads WHERE status = 'uploading' AND created_at < ? ORDER BY created_at",
  );
  const unfinishedIn = db.prepare<[string, string], UploadRow>(
    "SELECT * FROM uploads WHERE user_id = ? AND status = 'uploading' AND conversation_id = ? ORDER BY created_at",
  );
  const video = db.prepare<[string], VideoRow>("SELECT * FROM videos WHERE id = ?");
  const videos = db.prepare<[string, number, number], VideoRow>(
    "SELECT * FROM videos WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?",
  );

  const createUpload = db.transaction((record: Omit<UploadRecord, "status" | "endedAt">, maxUnfinished: number) => {
    if ((unfinishedOf.get(record.userId)?.n ?? 0) >= maxUnfinished) return false;
    insertUpload.run(record);
    return true;
  });
  const finish = db.transaction((record: Omit<VideoRecord, "seq">) => {
    if (end.run("ready", record.createdAt, record.id).changes === 0) {
      throw new Error(`upload ${record.id} is not in flight`);
    }
    const seq = Number(insertVideo.run(record).lastInsertRowid);
    rollups.action("video.shared", record.uploaderId, record.conversationId, record.createdAt, 1, record.size);
    return { ...record, seq };
  });

  return {
    createUpload: (record, maxUnfinished) => createUpload.immediate(record, maxUnfinished),
    upload: (id) => {
      const row = upload.get(id);
      return row && toUpload(row);
    },
    createdSince: (userId, since) => {
      const row = createdSince.get(userId, since);
      return { count: row?.n ?? 0, oldest: row?.oldest ?? null };
    },
    fail: (id, at) => end.run("failed", at, id).changes > 0,
    finish: (record) => finish.immediate(record),
    unfinishedBefore: (before) => unfinishedBefore.all(before).map(toUpload),
    unfinishedIn: (conversationId, userId) => unfinishedIn.all(userId, conversationId).map(toUpload),
    video: (id) => {
      const row = video.get(id);
      return row && toVideo(row);
    },
    videos: (conversationId, afterSeq, limit) => videos.all(conversationId, afterSeq, limit).map(toVideo),
  };
}
