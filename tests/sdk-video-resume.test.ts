/**
 * Video uploads that survive bad networks and restarts: a line cut mid-chunk resumes from the
 * server's offset, a restarted app continues the same upload (its queued copy, or the same file
 * shared again), and a video shared while offline uploads once the network is back.
 * Clients reach the server through a fault proxy (cuts, refusals) and then a counting proxy that
 * records what the server really received.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createChatClient, fileStorage, type ChatClient, type VideoUpload } from "@wbk/client-sdk/node";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startCountingProxy, type CountingProxy, type ForwardedRequest } from "./helpers/countingProxy.js";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { useTempDirs } from "./helpers/tempDirs.js";
import { api, clientFor, createConversation, eventually } from "./helpers/users.js";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");
const CLIP = path.join(FIXTURES, "clip-h264-8s-2mb.mp4");
const CLIP_BYTES = fs.readFileSync(CLIP);
const SIZE = 2_008_228;
const CHUNK = 256 * 1024;
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

const tempDir = useTempDirs("wbk-video-resume-");

describe("video uploads across cuts, restarts and outages", () => {
  const cast = useTwoPeople();
  let counter: CountingProxy;
  let fault: FaultProxy;
  beforeAll(async () => {
    counter = await startCountingProxy({ port: cast.server.running.port });
    fault = await startFaultProxy({ port: counter.port });
  });
  afterAll(async () => {
    await fault?.close();
    await counter?.close();
  });
  afterEach(() => {
    counter.onPatchBytes(null);
    fault.refuse(false);
    fault.throttle(0);
  });

  /** Ann's client through both proxies. */
  const annClient = (options: { dir?: string; offlineQueueMaxBytes?: number } = {}): ChatClient =>
    createChatClient({
      baseUrl: fault.url,
      getToken: () => cast.ann.token,
      uploadChunkBytes: CHUNK,
      ...(options.dir ? { storage: fileStorage(options.dir) } : {}),
      ...(options.offlineQueueMaxBytes !== undefined ? { offlineQueueMaxBytes: options.offlineQueueMaxBytes } : {}),
    });

  const uploadsSince = (mark: number): ForwardedRequest[] => counter.requests.slice(mark).filter((r) => r.path.startsWith("/api/uploads"));
  const served = async (videoId: string) => {
    const response = await fetch(`${cast.server.url}/api/videos/${videoId}`, { headers: { authorization: `Bearer ${cast.ben.token}` } });
    return sha256(new Uint8Array(await response.arrayBuffer()));
  };
  /** The saved upload records of Ann (queue and resume entries), or null when there are none. */
  const savedRecords = async (dir: string) => {
    const raw = await fileStorage(dir).readMeta(`uploads:${cast.ann.user.id}`);
    return raw ? (JSON.parse(raw) as { resume: Record<string, { uploadUrl: string }>; queue: Record<string, unknown> }) : null;
  };

  it("a line cut in the middle of a chunk: the upload resumes from the server's offset, and the server gets at most one chunk twice", async () => {
    const client = annClient();
    await client.me();
    const mark = counter.requests.length;
    let cutAt: number | null = null;
    // Slow enough that a chunk is still on its way when the line is cut (localhost buffers a whole chunk at once).
    fault.throttle(2_000_000);
    // Cut in the fifth chunk, mid-body: the client has 4 chunks confirmed and part of the fifth on the wire.
    counter.onPatchBytes((total) => {
      if (cutAt === null && total >= 4 * CHUNK + 100_000) {
        cutAt = total;
        fault.dropAll();
        fault.throttle(0);
      }
    });
    const upload = await client.conversation(cast.conversationId).shareVideo(CLIP);
    const { videoId } = await upload.message;
    expect(cutAt).not.toBeNull();

    const requests = uploadsSince(mark);
    expect(requests.filter((r) => r.method === "POST")).toHaveLength(1);
    // The cut PATCH got no answer; the next request asks the server where it stands.
    const cutIndex = requests.findIndex((r) => r.method === "PATCH" && r.status === null);
    expect(requests[cutIndex]!.offset).toBe(4 * CHUNK);
    const head = requests[cutIndex + 1]!;
    expect(head.method).toBe("HEAD");
    expect(head.status).toBe(200);
    // The server kept the part of the cut chunk it received, and the upload goes on from there.
    const received = requests.slice(0, cutIndex + 1).reduce((sum, r) => sum + r.bodyBytes, 0);
    expect(head.answerOffset).toBe(received);
    expect(head.answerOffset).toBeGreaterThan(4 * CHUNK);
    expect(head.answerOffset).toBeLessThan(5 * CHUNK);
    const next = requests[cutIndex + 2]!;
    expect([next.method, next.offset]).toEqual(["PATCH", head.answerOffset]);
    expect(requests.at(-1)).toMatchObject({ method: "PATCH", status: 204, answerOffset: SIZE });
    const patched = requests.filter((r) => r.method === "PATCH").reduce((sum, r) => sum + r.bodyBytes, 0);
    expect(patched).toBeGreaterThanOrEqual(SIZE);
    expect(patched).toBeLessThanOrEqual(SIZE + CHUNK);
    expect(await served(videoId)).toBe(sha256(CLIP_BYTES));
    await client.close();
  });

  it("a restarted app continues its queued video: same upload URL, from the server's offset, one creating POST", async () => {
    const dir = tempDir();
    const mark = counter.requests.length;
    const first = annClient({ dir });
    await first.me();
    const upload = await first.conversation(cast.conversationId).shareVideo(CLIP);
    expect(upload.queued).toBe(true);
    // The app is killed after three chunks.
    let killed: Promise<void> | null = null;
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= 3 * CHUNK && !killed) killed = first.close();
    });
    await eventually(() => expect(killed).not.toBeNull());
    await killed;
    expect(upload.state).toBe("stopped");
    await expect(upload.message).rejects.toMatchObject({ code: "closed" });
    const firstUrl = upload.uploadUrl!;
    expect(firstUrl).toMatch(/\/api\/uploads\/[0-9a-f]{32}$/);
    const saved = await savedRecords(dir);
    expect(Object.values(saved!.resume).map((e) => e.uploadUrl)).toEqual([firstUrl]);
    expect(Object.keys(saved!.queue)).toEqual([upload.id]);
    const beforeRestart = uploadsSince(mark).length;

    // A new client on the same device storage: the queued video starts again by itself.
    const second = annClient({ dir });
    await second.me();
    const [restored] = second.pendingUploads() as [VideoUpload];
    expect(second.pendingUploads()).toHaveLength(1);
    expect([restored.id, restored.filename, restored.size]).toEqual([upload.id, "clip-h264-8s-2mb.mp4", SIZE]);
    const { videoId } = await restored.message;
    expect(restored.uploadUrl).toBe(firstUrl);
    expect(firstUrl.endsWith(`/${videoId}`)).toBe(true);

    const all = uploadsSince(mark);
    expect(all.filter((r) => r.method === "POST")).toHaveLength(1);
    const resumed = all.slice(beforeRestart);
    expect(resumed[0]).toMatchObject({ method: "HEAD", status: 200 });
    expect(resumed[0]!.answerOffset).toBeGreaterThanOrEqual(3 * CHUNK);
    expect(resumed[1]).toMatchObject({ method: "PATCH", offset: resumed[0]!.answerOffset });
    expect(await served(videoId)).toBe(sha256(CLIP_BYTES));
    // Done: no resume entry, no queue entry, no copy.
    expect(await savedRecords(dir)).toBeNull();
    expect(fs.readdirSync(path.join(dir, "files"))).toEqual([]);
    expect(second.pendingUploads()).toEqual([]);
    await second.close();
  });

  it("a paused video stays paused after a restart until resume()", async () => {
    const dir = tempDir();
    const first = annClient({ dir });
    await first.me();
    const upload = await first.conversation(cast.conversationId).shareVideo(CLIP);
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= 2 * CHUNK) upload.pause();
    });
    await eventually(() => expect(upload.state).toBe("paused"));
    await first.close();
    const mark = counter.requests.length;

    const second = annClient({ dir });
    await second.me();
    const [restored] = second.pendingUploads() as [VideoUpload];
    expect(restored.state).toBe("paused");
    await new Promise((r) => setTimeout(r, 300));
    expect(uploadsSince(mark)).toEqual([]);
    restored.resume();
    const { videoId } = await restored.message;
    expect(uploadsSince(mark).filter((r) => r.method === "POST")).toHaveLength(0);
    expect(await served(videoId)).toBe(sha256(CLIP_BYTES));
    await second.close();
  });

  it("a restored paused video can be cancelled: the DELETE reaches the server and the device forgets it", async () => {
    const dir = tempDir();
    const first = annClient({ dir });
    await first.me();
    const upload = await first.conversation(cast.conversationId).shareVideo(CLIP);
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= CHUNK) upload.pause();
    });
    await eventually(() => expect(upload.state).toBe("paused"));
    const videoId = upload.videoId!;
    await first.close();

    const second = annClient({ dir });
    await second.me();
    const [restored] = second.pendingUploads() as [VideoUpload];
    expect(restored.state).toBe("paused");
    const mark = counter.requests.length;
    await restored.abort();
    expect(uploadsSince(mark).map((r) => [r.method, r.path, r.status])).toEqual([["DELETE", `/api/uploads/${videoId}`, 204]]);
    expect(await savedRecords(dir)).toBeNull();
    expect(fs.readdirSync(path.join(dir, "files"))).toEqual([]);
    expect(second.pendingUploads()).toEqual([]);
    await second.close();
  });

  it("a video over offlineQueueMaxBytes resumes after a restart when the same file is shared again, under another name", async () => {
    const dir = tempDir();
    const mark = counter.requests.length;
    const first = annClient({ dir, offlineQueueMaxBytes: 1024 * 1024 });
    await first.me();
    const upload = await first.conversation(cast.conversationId).shareVideo(CLIP);
    expect(upload.queued).toBe(false);
    let killed: Promise<void> | null = null;
    upload.on("progress", ({ bytesSent }) => {
      if (bytesSent >= 3 * CHUNK && !killed) killed = first.close();
    });
    await eventually(() => expect(killed).not.toBeNull());
    await killed;
    const firstUrl = upload.uploadUrl!;
    // Not copied: only the resume entry stays on the device.
    expect(fs.existsSync(path.join(dir, "files")) ? fs.readdirSync(path.join(dir, "files")) : []).toEqual([]);
    expect(Object.keys((await savedRecords(dir))!.queue)).toEqual([]);

    const second = annClient({ dir, offlineQueueMaxBytes: 1024 * 1024 });
    await second.me();
    expect(second.pendingUploads()).toEqual([]);
    const beforeAgain = uploadsSince(mark).length;
    // The phone renamed the file; the content decides.
    const renamed = path.join(tempDir(), "VID_20260101_120000.mp4");
    fs.copyFileSync(CLIP, renamed);
    const again = await second.conversation(cast.conversationId).shareVideo(renamed);
    const { videoId } = await again.message;
    expect(again.uploadUrl).toBe(firstUrl);
    const all = uploadsSince(mark);
    expect(all.filter((r) => r.method === "POST")).toHaveLength(1);
    const resumed = all.slice(beforeAgain);
    expect(resumed[0]).toMatchObject({ method: "HEAD", status: 200 });
    expect(resumed[0]!.answerOffset).toBeGreaterThanOrEqual(3 * CHUNK);
    expect(resumed[1]).toMatchObject({ method: "PATCH", offset: resumed[0]!.answerOffset });
    expect(await served(videoId)).toBe(sha256(CLIP_BYTES));
    expect(await savedRecords(dir)).toBeNull();
    await second.close();
  });

  it("a video shared while the server is unreachable is kept on the device and uploads once, after a restart, when the network is back", async () => {
    const dir = tempDir();
    const conversation = await createConversation(cast.server.url, cast.ann, [cast.ben], "Offline video");
    const first = annClient({ dir });
    await first.me(); // remembers Ann on this device
    fault.refuse(true);
    fault.dropAll();
    const mark = counter.requests.length;

    const upload = await first.conversation(conversation.id).shareVideo(CLIP);
    // Kept on the device before anything reached the server.
    const files = fs.readdirSync(path.join(dir, "files"));
    expect(files).toHaveLength(1);
    expect(sha256(fs.readFileSync(path.join(dir, "files", files[0]!)))).toBe(sha256(CLIP_BYTES));
    expect(Object.keys((await savedRecords(dir))!.queue)).toEqual([upload.id]);
    await eventually(() => expect(upload.state).toBe("waiting"), 15_000);
    expect([upload.waitingFor, upload.retryAt]).toEqual(["network", null]);
    expect(uploadsSince(mark)).toEqual([]);
    await first.close();

    // The app restarts, still offline.
    const second = annClient({ dir });
    expect(await second.me()).toMatchObject({ id: cast.ann.user.id });
    expect(second.pendingUploads().map((u) => u.id)).toEqual([upload.id]);
    const restored = second.pendingUploads()[0]!;
    await eventually(() => expect(restored.state).toBe("waiting"), 15_000);

    fault.refuse(false);
    const { videoId, messageId } = await restored.message;
    expect(uploadsSince(mark).filter((r) => r.method === "POST")).toHaveLength(1);
    expect(await served(videoId)).toBe(sha256(CLIP_BYTES));
    expect(await savedRecords(dir)).toBeNull();
    expect(fs.readdirSync(path.join(dir, "files"))).toEqual([]);

    const ben = await clientFor(cast.server.url, cast.ben);
    const benChat = ben.conversation(conversation.id);
    await eventually(() => expect(benChat.messages.find((m) => m.id === messageId)?.video?.status).toBe("ready"));
    expect(benChat.messages.filter((m) => m.kind === "video").map((m) => m.id)).toEqual([messageId]);
    const listed = await api<{ videos: Array<{ id: string }> }>(cast.server.url, "GET", `/api/conversations/${conversation.id}/videos`, {
      token: cast.ben.token,
    });
    expect(listed.body.videos.map((v) => v.id)).toEqual([videoId]);
    await ben.close();
    await second.close();
  });
});
