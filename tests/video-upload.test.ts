/**
 * Video sharing over tus, at the protocol level (issue "Video sharing"): uploads of real files,
 * the video message members see, byte-exact playback with ranges, refusal by content on both
 * probe paths, metadata edge cases, limits, access, cancel and expiry.
 */
import fs from "node:fs";
import path from "node:path";
import type { MessageDto, VideoDto } from "@wbk/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { fixture, sha256, tusClient, uploadMetadata } from "./helpers/tus.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const H264_5S = fixture("clip-h264-5s.mp4");
const VP9_3S = fixture("clip-vp9-3s.webm");
const TRUNCATED = fixture("clip-h264-truncated.mp4");
const NOT_A_VIDEO = fixture("not-a-video.mp4");

async function messageOf(url: string, user: TestUser, conversationId: string, id: string): Promise<MessageDto | undefined> {
  const { body } = await api<{ messages: MessageDto[] }>(url, "GET", `/api/conversations/${conversationId}/messages?limit=200`, {
    token: user.token,
  });
  return body.messages.find((m) => m.id === id);
}

async function download(url: string, user: TestUser, videoId: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/api/videos/${videoId}`, { headers: { authorization: `Bearer ${user.token}`, ...headers } });
  return { status: response.status, headers: response.headers, bytes: Buffer.from(await response.arrayBuffer()) };
}

/** Every header an upload error answer carries; anything else would be injected. */
const EXPECTED_HEADERS = new Set([
  "access-control-expose-headers",
  "connection",
  "content-length",
  "content-type",
  "date",
  "keep-alive",
  "tus-resumable",
]);

/** Files under DATA_DIR/uploads (bytes and tus's .json per upload). */
const uploadsOnDisk = (server: TestServer) => fs.readdirSync(path.join(server.dataDir, "uploads")).sort();

describe("video uploads", () => {
  const cast = useTwoPeople();
  let cat: TestUser;
  beforeAll(async () => {
    cat = await signUp(cast.server.url, "Cat");
  });
  const meta = (filename: string, filetype = "video/mp4") => ({ conversationId: cast.conversationId, filename, filetype });

  it("uploads an MP4 and a WebM; the bytes served back are identical and Ben sees the video messages", async () => {
    const ben = await clientFor(cast.server.url, cast.ben);
    const benChat = ben.conversation(cast.conversationId);
    await benChat.ready;
    const tus = tusClient(cast.server.url, cast.ann.token);

    const mp4 = await tus.upload(H264_5S, meta("clip.mp4"));
    expect(mp4.created.status).toBe(201);
    const videoId = mp4.created.headers.get("wbk-video-id") as string;
    expect(videoId).toMatch(/^[0-9a-f]{32}$/);
    expect(mp4.created.headers.get("location")).toBe(`${cast.server.url}/api/uploads/${videoId}`);
    expect(mp4.created.headers.get("wbk-message-id")).toBe(`video-${videoId}`);
    expect(mp4.finished.status).toBe(204);
    expect(mp4.finished.headers.get("upload-offset")).toBe(String(H264_5S.length));
    expect(mp4.finished.headers.get("wbk-video-id")).toBe(videoId);
    expect(mp4.finished.headers.get("wbk-message-id")).toBe(`video-${videoId}`);

    const webm = await tus.upload(VP9_3S, meta("clip.webm", "video/webm"));
    expect(webm.finished.status).toBe(204);
    const webmId = webm.created.headers.get("wbk-video-id") as string;

    const served = await download(cast.server.url, cast.ben, videoId);
    expect(served.status).toBe(200);
    expect(sha256(served.bytes)).toBe(sha256(H264_5S));
    expect(served.headers.get("content-type")).toBe("video/mp4");
    expect(served.headers.get("content-length")).toBe(String(H264_5S.length));
    expect(served.headers.get("accept-ranges")).toBe("bytes");
    expect(served.headers.get("etag")).toBe(`"${sha256(H264_5S)}"`);
    expect(served.headers.get("cache-control")).toBe("private, max-age=31536000, immutable");
    const servedWebm = await download(cast.server.url, cast.ben, webmId);
    expect(sha256(servedWebm.bytes)).toBe(sha256(VP9_3S));
    expect(servedWebm.headers.get("content-type")).toBe("video/webm");

    // Ben's SDK got both messages live, with the metadata the bytes gave.
    const shown = await eventually(() => {
      const videos = benChat.messages.filter((m) => m.kind === "video");
      expect(videos.map((m) => m.video?.status)).toEqual(["ready", "ready"]);
      return videos;
    });
    expect(shown.map((m) => ({ id: m.id, authorId: m.authorId, text: m.text, video: m.video }))).toEqual([
      {
        id: `video-${videoId}`,
        authorId: cast.ann.user.id,
        text: "",
        video: { videoId, filename: "clip.mp4", mime: "video/mp4", size: H264_5S.length, durationMs: 5000, status: "ready" },
      },
      {
        id: `video-${webmId}`,
        authorId: cast.ann.user.id,
        text: "",
        video: { videoId: webmId, filename: "clip.webm", mime: "video/webm", size: VP9_3S.length, durationMs: 3008, status: "ready" },
      },
    ]);
    ben.disconnect();

    const listed = await api<{ videos: VideoDto[]; next: number | null }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/videos?limit=1`,
      { token: cast.ben.token },
    );
    expect(listed.status).toBe(200);
    expect(listed.body.videos).toEqual([
      {
        id: videoId,
        conversationId: cast.conversationId,
        uploaderId: cast.ann.user.id,
        filename: "clip.mp4",
        mime: "video/mp4",
        size: H264_5S.length,
        durationMs: 5000,
        sha256: sha256(H264_5S),
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      },
    ]);
    const second = await api<{ videos: VideoDto[]; next: number | null }>(
      cast.server.url,
      "GET",
      `/api/conversations/${cast.conversationId}/videos?after=${listed.body.next}`,
      { token: cast.ben.token },
    );
    expect(second.body.videos.map((v) => v.id)).toEqual([webmId]);
    expect(second.body.next).toBeNull();
  });

  it("serves byte ranges: the first bytes, a middle slice, a suffix; an unsatisfiable range is 416, a malformed one is ignored", async () => {
    const { created } = await tusClient(cast.server.url, cast.ann.token).upload(H264_5S, meta("ranges.mp4"));
    const videoId = created.headers.get("wbk-video-id") as string;
    const size = H264_5S.length;

    const first = await download(cast.server.url, cast.ben, videoId, { range: "bytes=0-99" });
    expect(first.status).toBe(206);
    expect(first.headers.get("content-range")).toBe(`bytes 0-99/${size}`);
    expect(first.headers.get("content-length")).toBe("100");
    expect(first.bytes.equals(H264_5S.subarray(0, 100))).toBe(true);

    const middle = await download(cast.server.url, cast.ben, videoId, { range: "bytes=100000-165535" });
    expect(middle.status).toBe(206);
    expect(middle.headers.get("content-range")).toBe(`bytes 100000-165535/${size}`);
    expect(middle.bytes.equals(H264_5S.subarray(100000, 165536))).toBe(true);

    const open = await download(cast.server.url, cast.ben, videoId, { range: `bytes=${size - 10}-` });
    expect(open.headers.get("content-range")).toBe(`bytes ${size - 10}-${size - 1}/${size}`);
    expect(open.bytes.equals(H264_5S.subarray(size - 10))).toBe(true);

    const suffix = await download(cast.server.url, cast.ben, videoId, { range: "bytes=-500" });
    expect(suffix.status).toBe(206);
    expect(suffix.headers.get("content-range")).toBe(`bytes ${size - 500}-${size - 1}/${size}`);
    expect(suffix.bytes.equals(H264_5S.subarray(size - 500))).toBe(true);

    for (const range of [`bytes=${size}-`, "bytes=500-100", "bytes=-0", `bytes=${"9".repeat(30)}-`]) {
      const refused = await download(cast.server.url, cast.ben, videoId, { range });
      expect(refused.status, range).toBe(416);
      expect(refused.headers.get("content-range"), range).toBe(`bytes */${size}`);
      expect(JSON.parse(refused.bytes.toString()), range).toEqual({
        error: { code: "range_not_satisfiable", message: `the video has ${size} bytes` },
      });
    }

    // RFC 9110 §14.2: a Range this server does not understand (malformed, another unit) or does
    // not serve (several ranges) is ignored: the whole video.
    for (const range of ["bytes=abc", "bytes=-", "bytes=", "items=0-99", "bytes 0-99", "bytes=0-9,20-29", "bytes=0-99 x"]) {
      const whole = await download(cast.server.url, cast.ben, videoId, { range });
      expect({ range, status: whole.status, contentRange: whole.headers.get("content-range") }).toEqual({ range, status: 200, contentRange: null });
      expect(whole.bytes.equals(H264_5S), range).toBe(true);
    }
    // The unit is case-insensitive.
    expect((await download(cast.server.url, cast.ben, videoId, { range: "Bytes=0-9" })).status).toBe(206);
  });

  it("answers conditional requests: If-None-Match (weak, lists, *) with 304, If-Range with a stale validator with the whole video", async () => {
    const { created } = await tusClient(cast.server.url, cast.ann.token).upload(H264_5S, meta("conditional.mp4"));
    const videoId = created.headers.get("wbk-video-id") as string;
    const etag = `"${sha256(H264_5S)}"`;

    for (const ifNoneMatch of [etag, `W/${etag}`, `"other", ${etag}`, `"other",W/${etag}`, "*", ` * `]) {
      const cached = await download(cast.server.url, cast.ben, videoId, { "if-none-match": ifNoneMatch, range: "bytes=0-9" });
      expect({ ifNoneMatch, status: cached.status, length: cached.bytes.length, etag: cached.headers.get("etag") }).toEqual({
        ifNoneMatch,
        status: 304,
        length: 0,
        etag,
      });
    }
    for (const ifNoneMatch of ['"other"', `W/"other", "also-other"`, `"${sha256(VP9_3S)}"`]) {
      expect((await download(cast.server.url, cast.ben, videoId, { "if-none-match": ifNoneMatch })).status, ifNoneMatch).toBe(200);
    }

    // If-Range: the range holds only for the same file, named by its strong ETag (RFC 9110 §13.1.5).
    const resumed = await download(cast.server.url, cast.ben, videoId, { range: "bytes=100-199", "if-range": etag });
    expect(resumed.status).toBe(206);
    expect(resumed.bytes.equals(H264_5S.subarray(100, 200))).toBe(true);
    for (const ifRange of ['"changed"', `W/${etag}`, "Tue, 01 Dec 2026 10:00:00 GMT"]) {
      const whole = await download(cast.server.url, cast.ben, videoId, { range: "bytes=100-199", "if-range": ifRange });
      expect({ ifRange, status: whole.status, contentRange: whole.headers.get("content-range") }).toEqual({ ifRange, status: 200, contentRange: null });
      expect(whole.bytes.equals(H264_5S), ifRange).toBe(true);
    }
    // A stale If-Range also lifts an unsatisfiable range: the whole file, not 416.
    expect((await download(cast.server.url, cast.ben, videoId, { range: `bytes=${H264_5S.length}-`, "if-range": '"changed"' })).status).toBe(200);
  });

  it("needs a session, membership and the uploader's own upload id", async () => {
    const anonymous = await tusClient(cast.server.url).create(H264_5S.length, meta("x.mp4"));
    expect(anonymous.status).toBe(401);
    expect(anonymous.json).toEqual({ error: { code: "unauthenticated", message: "sign in first" } });
    expect(anonymous.headers.get("tus-resumable")).toBe("1.0.0");

    const outsider = await tusClient(cast.server.url, cat.token).create(H264_5S.length, meta("x.mp4"));
    expect(outsider.status).toBe(403);
    expect(outsider.json).toEqual({ error: { code: "forbidden", message: "you are not a member of this conversation" } });

    const annTus = tusClient(cast.server.url, cast.ann.token);
    const { created } = await annTus.upload(H264_5S, meta("private.mp4"));
    const videoId = created.headers.get("wbk-video-id") as string;
    const download403 = await download(cast.server.url, cat, videoId);
    expect(download403.status).toBe(403);
    expect(JSON.parse(download403.bytes.toString()).error.code).toBe("forbidden");
    const noSession = await fetch(`${cast.server.url}/api/videos/${videoId}`);
    expect(noSession.status).toBe(401);
    expect(await download(cast.server.url, cast.ann, "0123456789abcdef0123456789abcdef")).toMatchObject({ status: 404 });

    // Someone else's unfinished upload: not theirs to see or write.
    const pending = await annTus.create(H264_5S.length, meta("pending.mp4"));
    const location = pending.headers.get("location") as string;
    const benTus = tusClient(cast.server.url, cast.ben.token);
    expect((await benTus.head(location)).status).toBe(404);
    const foreignPatch = await benTus.patch(location, 0, H264_5S.subarray(0, 1000));
    expect(foreignPatch.status).toBe(404);
    expect(foreignPatch.json).toEqual({ error: { code: "not_found", message: "no such upload" } });
    expect((await annTus.head(location)).headers.get("upload-offset")).toBe("0");

    // Ids that are not ours never reach the file store.
    for (const id of ["..%2F..%2Fwbk.sqlite", "ZZZZ", "0123456789abcdef0123456789abcdeg"]) {
      const answer = await annTus.patch(`/api/uploads/${id}`, 0, new Uint8Array(1));
      expect(answer.status, id).toBe(404);
    }

    // Playback works with the cookie alone, like a <video src>.
    const cookie = `wbk_session=${cast.ben.token}`;
    const viaCookie = await fetch(`${cast.server.url}/api/videos/${videoId}`, { headers: { cookie, range: "bytes=0-3" } });
    expect(viaCookie.status).toBe(206);
    expect(Buffer.from(await viaCookie.arrayBuffer()).equals(H264_5S.subarray(0, 4))).toBe(true);
    expect((await annTus.remove(location)).status).toBe(204);
  });

  it("completing twice changes nothing", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const { created } = await tus.upload(VP9_3S, meta("twice.webm"));
    const location = created.headers.get("location") as string;
    const videoId = created.headers.get("wbk-video-id") as string;
    const before = await messageOf(cast.server.url, cast.ann, cast.conversationId, `video-${videoId}`);
    const again = await tus.patch(location, VP9_3S.length, new Uint8Array(0));
    expect(again.status).toBe(204);
    expect(again.headers.get("wbk-video-id")).toBe(videoId);
    expect(await messageOf(cast.server.url, cast.ann, cast.conversationId, `video-${videoId}`)).toEqual(before);
    const videos = cast.server.running.storage.videos.videos(cast.conversationId as never, 0, 200);
    expect(videos.filter((v) => v.id === videoId)).toHaveLength(1);
    // A finished video cannot be deleted through tus.
    const removal = await tus.remove(location);
    expect({ status: removal.status, json: removal.json }).toEqual({
      status: 403,
      json: { error: { code: "forbidden", message: "a finished video cannot be deleted through tus" } },
    });
    expect((await download(cast.server.url, cast.ann, videoId)).status).toBe(200);
  });

  it("decides the type by content: an empty filetype is fine, a wrong name and claimed type change nothing", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const { created, finished } = await tus.upload(VP9_3S, meta("holiday.mp4", ""));
    expect(finished.status).toBe(204);
    const videoId = created.headers.get("wbk-video-id") as string;
    const served = await download(cast.server.url, cast.ann, videoId, { range: "bytes=0-3" });
    expect(served.headers.get("content-type")).toBe("video/webm");
    const message = await messageOf(cast.server.url, cast.ben, cast.conversationId, `video-${videoId}`);
    expect(message?.video).toEqual({
      videoId,
      filename: "holiday.mp4",
      mime: "video/webm",
      size: VP9_3S.length,
      durationMs: 3008,
      status: "ready",
    });
  });

  it("refuses a filename with a line break, with no header injected, and metadata that is missing", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const injected = await tus.create(100, meta("a.mp4\r\nSet-Cookie: x=1"));
    expect(injected.status).toBe(400);
    expect(injected.json).toEqual({
      error: {
        code: "validation_failed",
        message: "filename must not contain control characters",
        details: [{ path: "Upload-Metadata.filename", message: "filename must not contain control characters" }],
      },
    });
    expect(injected.headers.get("set-cookie")).toBeNull();
    const names: string[] = [];
    injected.headers.forEach((_value, name) => names.push(name));
    expect(names.filter((name) => !EXPECTED_HEADERS.has(name))).toEqual([]);

    const noConversation = await tus.create(100, { filename: "a.mp4", filetype: "" });
    expect(noConversation.status).toBe(400);
    expect(noConversation.json?.error?.code).toBe("validation_failed");
    expect(noConversation.json?.error?.details).toEqual([{ path: "Upload-Metadata.conversationId", message: expect.any(String) }]);

    const deferred = await fetch(`${cast.server.url}/api/uploads`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${cast.ann.token}`,
        "tus-resumable": "1.0.0",
        "upload-defer-length": "1",
        "upload-metadata": uploadMetadata(meta("a.mp4")),
      },
    });
    expect(deferred.status).toBe(400);
    const lengthRequired = "Upload-Length is required (a whole number of bytes)";
    expect(await deferred.json()).toEqual({
      error: { code: "validation_failed", message: lengthRequired, details: [{ path: "Upload-Length", message: lengthRequired }] },
    });

    const noTusVersion = await fetch(`${cast.server.url}/api/uploads`, {
      method: "POST",
      headers: { authorization: `Bearer ${cast.ann.token}`, "upload-length": "100", "upload-metadata": uploadMetadata(meta("a.mp4")) },
    });
    expect(noTusVersion.status).toBe(412);
    expect(noTusVersion.headers.get("tus-version")).toBe("1.0.0");
    expect((await noTusVersion.json()).error.code).toBe("precondition_failed");
  });

  it("answers a PATCH at the wrong offset with 409 and keeps the bytes it has", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("offsets.mp4"));
    const location = created.headers.get("location") as string;
    expect((await tus.patch(location, 0, H264_5S.subarray(0, 1000))).headers.get("upload-offset")).toBe("1000");
    const wrong = await tus.patch(location, 500, H264_5S.subarray(500, 1500));
    expect(wrong.status).toBe(409);
    expect(wrong.json?.error?.code).toBe("offset_mismatch");
    expect((await tus.head(location)).headers.get("upload-offset")).toBe("1000");
    const rest = await tus.patch(location, 1000, H264_5S.subarray(1000));
    expect(rest.status).toBe(204);
    const served = await download(cast.server.url, cast.ann, created.headers.get("wbk-video-id") as string);
    expect(sha256(served.bytes)).toBe(sha256(H264_5S));
  });

  it("cancelling an upload deletes its bytes and ends its message failed", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("cancel.mp4"));
    const location = created.headers.get("location") as string;
    const videoId = created.headers.get("wbk-video-id") as string;
    await tus.patch(location, 0, H264_5S.subarray(0, 5000));
    expect(uploadsOnDisk(cast.server)).toContain(videoId);
    expect((await tus.remove(location)).status).toBe(204);
    const message = await eventually(async () => {
      const found = await messageOf(cast.server.url, cast.ann, cast.conversationId, `video-${videoId}`);
      expect(found?.video?.status).toBe("failed");
      return found;
    });
    expect(message?.video).toEqual({ videoId, filename: "cancel.mp4", mime: "", size: H264_5S.length, durationMs: null, status: "failed" });
    expect(uploadsOnDisk(cast.server).filter((f) => f.startsWith(videoId))).toEqual([]);
    expect((await tus.head(location)).status).toBe(404);
  });

  it("emoji in the filename read back the same after a server restart", async () => {
    const filename = "Oma 👵🏽 am Strand 🏖️ – Sommer.mp4";
    const { created } = await tusClient(cast.server.url, cast.ann.token).upload(H264_5S, meta(filename));
    const videoId = created.headers.get("wbk-video-id") as string;
    await cast.server.restart();
    const message = await messageOf(cast.server.url, cast.ben, cast.conversationId, `video-${videoId}`);
    expect(message?.video?.filename).toBe(filename);
    const listed = await api<{ videos: VideoDto[] }>(cast.server.url, "GET", `/api/conversations/${cast.conversationId}/videos?limit=200`, {
      token: cast.ben.token,
    });
    expect(listed.body.videos.find((v) => v.id === videoId)?.filename).toBe(filename);
    expect(sha256((await download(cast.server.url, cast.ben, videoId)).bytes)).toBe(sha256(H264_5S));
  });
});

/** Both probe paths refuse what is not a whole video: 415, nothing on disk, message failed. */
describe.each(["structure", "ffprobe"])("refusal by content with VIDEO_PROBE=%s", (probe) => {
  const cast = useTwoPeople({ VIDEO_PROBE: probe });

  it.each([
    ["not-a-video.mp4", NOT_A_VIDEO],
    ["clip-h264-truncated.mp4", TRUNCATED],
  ])("refuses %s", async (name, bytes) => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const { created, finished } = await tus.upload(bytes, { conversationId: cast.conversationId, filename: name, filetype: "video/mp4" });
    expect(created.status).toBe(201);
    const videoId = created.headers.get("wbk-video-id") as string;
    expect(finished.status).toBe(415);
    expect(finished.json).toEqual({
      error: { code: "unsupported_media_type", message: "the upload is not a whole video (MP4, MOV, WebM or Matroska)" },
    });
    expect(finished.headers.get("tus-resumable")).toBe("1.0.0");
    expect(uploadsOnDisk(cast.server)).toEqual([]);
    const message = await messageOf(cast.server.url, cast.ben, cast.conversationId, `video-${videoId}`);
    expect(message?.video).toEqual({ videoId, filename: name, mime: "", size: bytes.length, durationMs: null, status: "failed" });
    expect((await download(cast.server.url, cast.ben, videoId)).status).toBe(404);
    expect(cast.server.running.storage.videos.video(videoId as never)).toBeUndefined();
  });

  it("accepts the real clips", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const { finished } = await tus.upload(H264_5S, { conversationId: cast.conversationId, filename: "ok.mp4", filetype: "" });
    expect(finished.status).toBe(204);
    const video = cast.server.running.storage.videos.video(finished.headers.get("wbk-video-id") as never);
    expect(video).toMatchObject({ mime: "video/mp4", durationMs: 5000, codec: probe === "ffprobe" ? "h264" : "avc1" });
  });
});

describe("upload limits and expiry", () => {
  let server: TestServer;
  let now = Date.parse("2026-12-01T10:00:00Z");
  let ann: TestUser;
  let conversationId: string;
  beforeAll(async () => {
    server = await startTestServer(
      { MAX_VIDEO_BYTES: String(1024 * 1024), MAX_CONCURRENT_UPLOADS: "2", RATE_LIMIT_UPLOADS_PER_HOUR: "4", UPLOAD_EXPIRY_HOURS: "24" },
      { now: () => now },
    );
    ann = await signUp(server.url, "Ann");
    conversationId = (await createConversation(server.url, ann, [])).id;
  });
  afterAll(() => server.stop());
  const meta = (filename: string) => ({ conversationId, filename, filetype: "video/mp4" });

  it("refuses a declared size over MAX_VIDEO_BYTES with 413 before any byte is sent", async () => {
    const answer = await tusClient(server.url, ann.token).create(1024 * 1024 + 1, meta("big.mp4"));
    expect(answer.status).toBe(413);
    expect(answer.json).toEqual({ error: { code: "payload_too_large", message: "a video may be at most 1048576 bytes" } });
    expect(server.running.storage.videos.createdSince(ann.user.id as never, 0).count).toBe(0);
  });

  it("allows MAX_CONCURRENT_UPLOADS unfinished uploads, then the hourly rate limit with Retry-After", async () => {
    const tus = tusClient(server.url, ann.token);
    const first = await tus.create(H264_5S.length, meta("1.mp4"));
    const second = await tus.create(H264_5S.length, meta("2.mp4"));
    expect([first.status, second.status]).toEqual([201, 201]);
    const third = await tus.create(H264_5S.length, meta("3.mp4"));
    expect(third.status).toBe(429);
    expect(third.json).toEqual({
      error: { code: "limit_exceeded", message: "at most 2 unfinished uploads at once; finish or cancel one first" },
    });
    // Finishing one frees a place.
    expect((await tus.patch(first.headers.get("location") as string, 0, H264_5S)).status).toBe(204);
    now += 10 * 60_000;
    const fourth = await tus.create(H264_5S.length, meta("4.mp4"));
    expect(fourth.status).toBe(201);
    expect((await tus.remove(fourth.headers.get("location") as string)).status).toBe(204);
    now += 5 * 60_000;
    const fifth = await tus.create(H264_5S.length, meta("5.mp4"));
    expect(fifth.status).toBe(201);
    // Four created this hour (the refused one does not count): the next waits for the first to age.
    const sixth = await tus.create(H264_5S.length, meta("6.mp4"));
    expect(sixth.status).toBe(429);
    expect(sixth.headers.get("retry-after")).toBe(String(45 * 60));
    expect(sixth.json).toEqual({
      error: { code: "rate_limited", message: "at most 4 uploads an hour; try again in 2700 s", details: { retryAfterSeconds: 2700 } },
    });
    // Exactly when Retry-After says, the first two uploads have left the hour (a place for the next).
    expect((await tus.remove(fifth.headers.get("location") as string)).status).toBe(204);
    now += 45 * 60_000 - 1;
    const early = await tus.create(H264_5S.length, meta("7.mp4"));
    expect([early.status, early.headers.get("retry-after")]).toEqual([429, "1"]);
    now += 1;
    expect((await tus.create(H264_5S.length, meta("8.mp4"))).status).toBe(201);
  });

  it("expires unfinished uploads after UPLOAD_EXPIRY_HOURS; finished videos stay", async () => {
    // The previous test's two unfinished uploads turn a day old.
    now += 24 * 3_600_000 + 1;
    expect(await server.running.videos.expire()).toBe(2);

    const tus = tusClient(server.url, ann.token);
    const stale = await tus.create(H264_5S.length, meta("stale.mp4"));
    const staleId = stale.headers.get("wbk-video-id") as string;
    await tus.patch(stale.headers.get("location") as string, 0, H264_5S.subarray(0, 4096));
    const done = await tus.upload(VP9_3S, meta("done.webm"));
    const doneId = done.created.headers.get("wbk-video-id") as string;

    now += 24 * 3_600_000 - 60_000;
    expect(await server.running.videos.expire()).toBe(0);
    expect(uploadsOnDisk(server).filter((f) => f.startsWith(staleId))).toHaveLength(2);

    now += 60_001;
    expect(await server.running.videos.expire()).toBe(1);
    expect(await server.running.videos.expire()).toBe(0);
    expect(uploadsOnDisk(server).filter((f) => f.startsWith(staleId))).toEqual([]);
    expect(server.running.storage.videos.upload(staleId as never)?.status).toBe("failed");
    const message = await messageOf(server.url, ann, conversationId, `video-${staleId}`);
    expect(message?.video?.status).toBe("failed");
    const kept = await download(server.url, ann, doneId);
    expect(kept.status).toBe(200);
    expect(sha256(kept.bytes)).toBe(sha256(VP9_3S));
  });
});

describe("behind a proxy", () => {
  const single = { "x-forwarded-proto": "https", "x-forwarded-host": "chat.example.org" };
  // A chain of proxies: each appends its own value; the first is the client's, as elsewhere in the server.
  const chain = { "x-forwarded-proto": "https, http", "x-forwarded-host": "a.example, b.example" };
  const direct = /^http:\/\/127\.0\.0\.1:\d+\/api\/uploads\/[0-9a-f]{32}$/;
  it.each([
    ["TRUST_PROXY=true", { TRUST_PROXY: "true" }, single, /^https:\/\/chat\.example\.org\/api\/uploads\/[0-9a-f]{32}$/],
    ["TRUST_PROXY=true, a chain", { TRUST_PROXY: "true" }, chain, /^https:\/\/a\.example\/api\/uploads\/[0-9a-f]{32}$/],
    ["no TRUST_PROXY", {}, single, direct],
    ["no TRUST_PROXY, a chain", {}, chain, direct],
  ])("Location with X-Forwarded-Proto and X-Forwarded-Host, %s; the PATCH through the same proxy goes through", async (_name, env, forwarded, location) => {
    const server = await startTestServer(env);
    try {
      const ann = await signUp(server.url, "Ann");
      const conversationId = (await createConversation(server.url, ann, [])).id;
      const tus = tusClient(server.url, ann.token);
      const answer = await tus.create(VP9_3S.length, { conversationId, filename: "a.webm", filetype: "" }, forwarded);
      expect(answer.status).toBe(201);
      expect(answer.headers.get("location")).toMatch(location);
      const uploadPath = new URL(answer.headers.get("location") as string).pathname;
      const finished = await tus.patch(uploadPath, 0, VP9_3S, forwarded);
      expect(finished.status).toBe(204);
    } finally {
      await server.stop();
    }
  });
});
