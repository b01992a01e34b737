/**
 * Sharing videos through the SDK (`conversation.shareVideo`, tus underneath): by path and as a
 * stream in Node, what the other member sees, refusals by content, by size and of paths that
 * cannot be opened, cancelling, what sign-out leaves on the device, and what a waiting upload
 * waits for (a sign-in, a free upload slot, the hourly limit).
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import {
  createChatClient,
  fileStorage,
  type ChatClient,
  type ChatError,
  type StorageAdapter,
  type VideoUploadEvents,
  type VideoUploadState,
} from "@wbk/client-sdk/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCountingProxy, type CountingProxy } from "./helpers/countingProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { useTempDirs } from "./helpers/tempDirs.js";
import { api, clientFor, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");
const fixturePath = (name: string) => path.join(FIXTURES, name);
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const H264_5S = fs.readFileSync(fixturePath("clip-h264-5s.mp4"));
const VP9_3S = fs.readFileSync(fixturePath("clip-vp9-3s.webm"));

async function download(url: string, user: TestUser, videoId: string): Promise<{ status: number; bytes: Buffer }> {
  const response = await fetch(`${url}/api/videos/${videoId}`, { headers: { authorization: `Bearer ${user.token}` } });
  return { status: response.status, bytes: Buffer.from(await response.arrayBuffer()) };
}

const tempDir = useTempDirs("wbk-video-device-");

/** The status of a video's message, as a member reads it over REST. */
async function videoMessageStatus(url: string, conversationId: string, reader: TestUser, videoId: string): Promise<string | undefined> {
  const { body } = await api<{ messages: Array<{ id: string; video?: { status: string } }> }>(url, "GET", `/api/conversations/${conversationId}/messages?limit=200`, {
    token: reader.token,
  });
  return body.messages.find((m) => m.id === `video-${videoId}`)?.video?.status;
}

/** A client of `user` through the counting proxy, so the test sees every upload request. */
async function countedClient(proxy: CountingProxy, user: TestUser, storage?: StorageAdapter): Promise<ChatClient> {
  const client = createChatClient({ baseUrl: proxy.url, getToken: () => user.token, ...(storage ? { storage } : {}) });
  expect(await client.me()).not.toBeNull();
  return client;
}

describe("shareVideo", () => {
  const cast = useTwoPeople();
  let proxy: CountingProxy;
  beforeAll(async () => {
    proxy = await startCountingProxy({ port: cast.server.running.port });
  });
  afterAll(() => proxy?.close());

  it("uploads an MP4 by path and a WebM as a stream; Ben sees both ready, and the served bytes are the files'", async () => {
    const ann = await countedClient(proxy, cast.ann);
    const ben = await clientFor(cast.server.url, cast.ben);
    const chat = ann.conversation(cast.conversationId);
    const benChat = ben.conversation(cast.conversationId);
    await benChat.ready;
    const before = proxy.uploads().length;

    const progress: number[] = [];
    const mp4 = await chat.shareVideo(fixturePath("clip-h264-5s.mp4"), { onProgress: (p) => progress.push(p.bytesSent) });
    expect(mp4.filename).toBe("clip-h264-5s.mp4");
    const mp4Video = await mp4.message;
    expect(mp4Video.videoId).toMatch(/^[0-9a-f]{32}$/);
    expect(mp4Video.messageId).toBe(`video-${mp4Video.videoId}`);
    expect(mp4.state).toBe("done");
    expect(mp4.progress).toEqual({ bytesSent: H264_5S.length, bytesTotal: H264_5S.length });
    expect(mp4.uploadUrl).toBe(`${proxy.url}/api/uploads/${mp4Video.videoId}`);
    expect(progress.at(-1)).toBe(H264_5S.length);

    const stream = fs.createReadStream(fixturePath("clip-vp9-3s.webm"), { highWaterMark: 7000 });
    const webm = await chat.shareVideo(stream, { size: VP9_3S.length, filename: "clip-vp9-3s.webm" });
    const webmVideo = await webm.message;
    expect(webm.progress).toEqual({ bytesSent: VP9_3S.length, bytesTotal: VP9_3S.length });

    // Each file under the 8 MiB default chunk: one creating POST and one PATCH with every byte.
    expect(proxy.uploads().slice(before).map((r) => [r.method, r.offset, r.bodyBytes, r.status])).toEqual([
      ["POST", null, 0, 201],
      ["PATCH", 0, H264_5S.length, 204],
      ["POST", null, 0, 201],
      ["PATCH", 0, VP9_3S.length, 204],
    ]);

    const shown = await eventually(() => {
      const videos = benChat.messages.filter((m) => m.kind === "video" && [mp4Video.messageId, webmVideo.messageId].includes(m.id));
      expect(videos.map((m) => m.video?.status)).toEqual(["ready", "ready"]);
      return videos;
    });
    expect(shown.map((m) => ({ id: m.id, authorId: m.authorId, text: m.text, video: m.video }))).toEqual([
      {
        id: mp4Video.messageId,
        authorId: cast.ann.user.id,
        text: "",
        video: { videoId: mp4Video.videoId, filename: "clip-h264-5s.mp4", mime: "video/mp4", size: 333_489, durationMs: 5000, status: "ready" },
      },
      {
        id: webmVideo.messageId,
        authorId: cast.ann.user.id,
        text: "",
        video: { videoId: webmVideo.videoId, filename: "clip-vp9-3s.webm", mime: "video/webm", size: 83_232, durationMs: 3008, status: "ready" },
      },
    ]);
    const servedMp4 = await download(cast.server.url, cast.ben, mp4Video.videoId);
    expect(servedMp4.status).toBe(200);
    expect(sha256(servedMp4.bytes)).toBe(sha256(H264_5S));
    const servedWebm = await download(cast.server.url, cast.ben, webmVideo.videoId);
    expect(sha256(servedWebm.bytes)).toBe(sha256(VP9_3S));
    expect(ann.pendingUploads()).toEqual([]);
    await ann.close();
    await ben.close();
  });

  it("takes a Blob in the main entry's way, in the chunks asked for", async () => {
    const client = createChatClient({ baseUrl: proxy.url, getToken: () => cast.ann.token, uploadChunkBytes: 100_000 });
    await client.me();
    const before = proxy.uploads().length;
    const blob = new Blob([H264_5S], { type: "video/mp4" });
    const upload = await client.conversation(cast.conversationId).shareVideo(blob, { filename: "from a blob.mp4" });
    const { videoId } = await upload.message;
    expect(upload.filename).toBe("from a blob.mp4");
    // 333,489 bytes in chunks of 100,000: four PATCHes, at the offsets the server confirmed.
    expect(proxy.uploads().slice(before).map((r) => [r.method, r.offset, r.bodyBytes, r.answerOffset])).toEqual([
      ["POST", null, 0, null],
      ["PATCH", 0, 100_000, 100_000],
      ["PATCH", 100_000, 100_000, 200_000],
      ["PATCH", 200_000, 100_000, 300_000],
      ["PATCH", 300_000, 33_489, 333_489],
    ]);
    expect(sha256((await download(cast.server.url, cast.ben, videoId)).bytes)).toBe(sha256(H264_5S));
    await client.close();
  });

  it("a file that is not a video: the message promise rejects with unsupported_media_type and the message ends failed", async () => {
    const storage = fileStorage(tempDir());
    const ann = await countedClient(proxy, cast.ann, storage);
    const ben = await clientFor(cast.server.url, cast.ben);
    const benChat = ben.conversation(cast.conversationId);
    const upload = await ann.conversation(cast.conversationId).shareVideo(fixturePath("not-a-video.mp4"));
    const states: VideoUploadState[] = [];
    upload.on("state", ({ state }) => states.push(state));
    const error = (await upload.message.catch((e: unknown) => e)) as ChatError;
    expect(error.name).toBe("ChatError");
    expect([error.code, error.status]).toEqual(["unsupported_media_type", 415]);
    expect(upload.state).toBe("failed");
    expect(states.at(-1)).toBe("failed");
    const videoId = upload.videoId!;
    expect(videoId).toMatch(/^[0-9a-f]{32}$/);
    await eventually(() =>
      expect(benChat.messages.find((m) => m.id === `video-${videoId}`)?.video).toEqual({
        videoId,
        filename: "not-a-video.mp4",
        mime: "",
        size: 190,
        durationMs: null,
        status: "failed",
      }),
    );
    // Nothing of it stays on the device: no queue entry, no copy, no resume entry.
    expect(await storage.readMeta(`uploads:${cast.ann.user.id}`)).toBeNull();
    expect(await storage.files!.list("")).toEqual([]);
    expect(ann.pendingUploads()).toEqual([]);
    expect((await download(cast.server.url, cast.ben, videoId)).status).toBe(404);
    await ann.close();
    await ben.close();
  });

  it("abort() deletes the upload on the server (tus DELETE) and the message ends failed", async () => {
    const storage = fileStorage(tempDir());
    const client = createChatClient({ baseUrl: proxy.url, getToken: () => cast.ann.token, storage, uploadChunkBytes: 256 * 1024 });
    await client.me();
    const before = proxy.uploads().length;
    const upload = await client.conversation(cast.conversationId).shareVideo(fixturePath("clip-h264-8s-2mb.mp4"));
    // Pause after the first chunk, so the abort finds an unfinished upload on the server.
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= 256 * 1024) upload.pause();
    });
    await eventually(() => expect(upload.state).toBe("paused"));
    const videoId = upload.videoId!;
    await upload.abort();
    expect(upload.state).toBe("aborted");
    await expect(upload.message).rejects.toMatchObject({ code: "aborted" });
    const requests = proxy.uploads().slice(before);
    expect(requests.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(requests.filter((r) => r.method === "DELETE").map((r) => [r.path, r.status])).toEqual([[`/api/uploads/${videoId}`, 204]]);
    expect(await videoMessageStatus(cast.server.url, cast.conversationId, cast.ben, videoId)).toBe("failed");
    expect(await storage.readMeta(`uploads:${cast.ann.user.id}`)).toBeNull();
    expect(await storage.files!.list("")).toEqual([]);
    await client.close();
  });

  it("sharing the same file again while it uploads continues the same upload", async () => {
    const client = createChatClient({ baseUrl: proxy.url, getToken: () => cast.ann.token, uploadChunkBytes: 256 * 1024 });
    await client.me();
    const chat = client.conversation(cast.conversationId);
    const first = await chat.shareVideo(fixturePath("clip-h264-8s-2mb.mp4"));
    first.pause();
    // A renamed copy of the same file: same content, same upload.
    const renamed = path.join(tempDir(), "IMG_0001.MP4");
    fs.copyFileSync(fixturePath("clip-h264-8s-2mb.mp4"), renamed);
    const again = await chat.shareVideo(renamed);
    expect(again).toBe(first);
    // The first share's name stays (documented): the server named the message at creation.
    expect(again.filename).toBe("clip-h264-8s-2mb.mp4");
    expect(first.state).toBe("uploading");
    await first.message;
    expect(client.pendingUploads()).toEqual([]);
    await client.close();
  });

  it("a path that cannot be opened is refused with read_failed, before any upload request", async () => {
    const client = await countedClient(proxy, cast.ann);
    const chat = client.conversation(cast.conversationId);
    const before = proxy.uploads().length;
    const refusal = async (video: string) => {
      const error = (await chat.shareVideo(video).catch((e: unknown) => e)) as ChatError;
      return [error.name, error.code, error.message];
    };
    expect(await refusal("/no/such/file.mp4")).toEqual(["ChatError", "read_failed", "could not open the video /no/such/file.mp4: no such file"]);
    expect(await refusal(FIXTURES)).toEqual(["ChatError", "read_failed", `could not open the video ${FIXTURES}: it is a folder, not a file`]);
    expect(proxy.uploads().length).toBe(before);
    expect(client.pendingUploads()).toEqual([]);
    await client.close();
  });

  it("a refused session: the upload waits for a sign-in (waitingFor), then goes on with a valid token", async () => {
    let token = cast.ann.token;
    const client = createChatClient({ baseUrl: cast.server.url, getToken: () => token });
    await client.me();
    const authRequired: string[] = [];
    client.on("auth-required", ({ reason }) => authRequired.push(reason));
    token = "not-a-session";
    const upload = await client.conversation(cast.conversationId).shareVideo(new Blob([VP9_3S]), { filename: "refused.webm" });
    const states: VideoUploadEvents["state"][] = [];
    upload.on("state", (event) => states.push(event));
    await eventually(() => expect([upload.state, upload.waitingFor, upload.retryAt]).toEqual(["waiting", "sign-in", null]));
    expect(states).toEqual([{ state: "waiting", waitingFor: "sign-in" }]);
    expect(authRequired).toEqual(["unauthenticated"]);
    token = cast.ann.token;
    upload.resume();
    await upload.message;
    expect([upload.state, upload.waitingFor]).toEqual(["done", null]);
    await client.close();
  });

  it("sign-out drops the queued videos, their copies and the resume entries of that user", async () => {
    const dir = tempDir();
    const storage = fileStorage(dir);
    const client = createChatClient({ baseUrl: proxy.url, getToken: () => cast.ann.token, storage, uploadChunkBytes: 256 * 1024 });
    await client.me();
    const upload = await client.conversation(cast.conversationId).shareVideo(fixturePath("clip-h264-8s-2mb.mp4"));
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= 512 * 1024) upload.pause();
    });
    await eventually(() => expect(upload.state).toBe("paused"));
    const videoId = upload.videoId!;
    const saved = JSON.parse((await storage.readMeta(`uploads:${cast.ann.user.id}`))!) as { resume: object; queue: object };
    expect([Object.keys(saved.resume).length, Object.keys(saved.queue).length]).toEqual([1, 1]);
    expect(await storage.files!.list(`wbk:${cast.ann.user.id}:video:`)).toHaveLength(1);
    expect(fs.statSync(path.join(dir, "files", fs.readdirSync(path.join(dir, "files"))[0]!)).size).toBe(2_008_228);

    await client.logout();
    expect(await storage.readMeta(`uploads:${cast.ann.user.id}`)).toBeNull();
    expect(await storage.files!.list("")).toEqual([]);
    expect(upload.state).toBe("aborted");
    // The running upload was cancelled on the server too: its message does not hang at "uploading".
    expect(await videoMessageStatus(cast.server.url, cast.conversationId, cast.ben, videoId)).toBe("failed");
  });
});

describe("shareVideo with a small MAX_VIDEO_BYTES", () => {
  const cast = useTwoPeople({ MAX_VIDEO_BYTES: "300000" });
  let proxy: CountingProxy;
  beforeAll(async () => {
    proxy = await startCountingProxy({ port: cast.server.running.port });
  });
  afterAll(() => proxy?.close());

  it("rejects a file over the server's maxVideoBytes, and an empty one, before any upload request", async () => {
    const storage = fileStorage(tempDir());
    const client = await countedClient(proxy, cast.ann, storage);
    const chat = client.conversation(cast.conversationId);
    const tooLarge = (await chat.shareVideo(fixturePath("clip-h264-5s.mp4")).catch((e: unknown) => e)) as ChatError;
    expect([tooLarge.name, tooLarge.code, tooLarge.status, tooLarge.message]).toEqual([
      "ChatError",
      "payload_too_large",
      413,
      "a video may be at most 300000 bytes",
    ]);
    // The server answers an empty one (Upload-Length: 0) the same way.
    const empty = (await chat.shareVideo(new Blob([]), { filename: "empty.mp4" }).catch((e: unknown) => e)) as ChatError;
    expect([empty.name, empty.code, empty.status, empty.message]).toEqual(["ChatError", "validation_failed", 400, "the video is empty"]);
    // Under the limit goes through.
    await (await chat.shareVideo(fixturePath("clip-vp9-3s.webm"))).message;
    expect(proxy.uploads().map((r) => r.method)).toEqual(["POST", "PATCH"]);
    expect(await storage.files!.list("")).toEqual([]);
    expect(client.pendingUploads()).toEqual([]);
    await client.close();
  });
});

describe("shareVideo under the server's upload limits", () => {
  // One unfinished upload at a time and two an hour per user, on a clock the test moves.
  let now = Date.parse("2026-12-01T10:00:00Z");
  let server: TestServer;
  let ann: TestUser;
  let conversationId: string;
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONCURRENT_UPLOADS: "1", RATE_LIMIT_UPLOADS_PER_HOUR: "2" }, { now: () => now });
    ann = await signUp(server.url, "Ann");
    conversationId = (await createConversation(server.url, ann, [])).id;
  });
  afterAll(() => server?.stop());

  it("waits for a free upload slot, then for the hourly limit until retryAt, and says which in waitingFor", async () => {
    const client = await clientFor(server.url, ann);
    const chat = client.conversation(conversationId);
    // The first video's bytes are held back once it is under way, so it keeps the one slot.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let holding = false;
    const first = await chat.shareVideo({
      name: "held.mp4",
      type: "video/mp4",
      size: H264_5S.length,
      seekable: true,
      read: async (start, end) => {
        if (holding) await held;
        return H264_5S.subarray(start, end);
      },
    });
    holding = true;
    await eventually(() => expect([first.state, first.videoId]).toEqual(["uploading", expect.any(String)]));

    // 429 limit_exceeded: another upload of this client must end first.
    const second = await chat.shareVideo(fixturePath("clip-vp9-3s.webm"));
    const secondStates: VideoUploadEvents["state"][] = [];
    second.on("state", (event) => secondStates.push(event));
    await eventually(() => expect([second.state, second.waitingFor, second.retryAt]).toEqual(["waiting", "upload-slot", null]));
    release();
    await first.message;
    await second.message;
    expect(secondStates).toEqual([{ state: "waiting", waitingFor: "upload-slot" }, { state: "uploading" }, { state: "done" }]);
    expect([second.waitingFor, second.retryAt]).toEqual([null, null]);

    // 429 rate_limited: two uploads started this hour, the first 10 minutes ago: 50 minutes to wait.
    now += 10 * 60_000;
    const asked = Date.now();
    const third = await chat.shareVideo(fixturePath("clip-h264-8s-2mb.mp4"));
    const thirdStates: VideoUploadEvents["state"][] = [];
    third.on("state", (event) => thirdStates.push(event));
    await eventually(() => expect([third.state, third.waitingFor]).toEqual(["waiting", "rate-limit"]));
    const retryAt = third.retryAt!;
    expect(retryAt).toBeGreaterThanOrEqual(asked + 3000_000);
    expect(retryAt).toBeLessThanOrEqual(Date.now() + 3000_000);
    expect(thirdStates).toEqual([{ state: "waiting", waitingFor: "rate-limit", retryAt }]);
    // Past the hour of the first upload (at exactly the hour it still counts).
    now += 50 * 60_000 + 1000;
    third.resume();
    await third.message;
    expect(thirdStates.map((e) => e.state)).toEqual(["waiting", "uploading", "done"]);
    await client.close();
  });
});
