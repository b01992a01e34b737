/**
 * The tus 1.0.0 protocol at /api/uploads, answer by answer: what OPTIONS advertises works,
 * every refusal is a code of our catalogue (412 with Tus-Version, 400 naming the header, 413,
 * 405 with Allow), Upload-Metadata is bounded and keeps only our keys, and an upload ends at
 * once when it is cancelled under a running PATCH or its uploader leaves the conversation.
 */
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { MessageDto } from "@wbk/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { useTwoPeople } from "./helpers/fixture.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { fixture, sha256, tusClient, uploadMetadata } from "./helpers/tus.js";
import { api, createConversation, eventually, signUp, type TestUser } from "./helpers/users.js";

const H264_5S = fixture("clip-h264-5s.mp4");
const NOT_A_VIDEO = fixture("not-a-video.mp4");
const MAX_VIDEO_BYTES = 1024 * 1024;
const OCTET_STREAM = "application/offset+octet-stream";

async function videoMessages(url: string, user: TestUser, conversationId: string): Promise<MessageDto[]> {
  const { body } = await api<{ messages: MessageDto[] }>(url, "GET", `/api/conversations/${conversationId}/messages?limit=200`, {
    token: user.token,
  });
  return body.messages.filter((m) => m.kind === "video");
}

/** Files of one upload under DATA_DIR/uploads (its bytes and tus's .json). */
const filesOf = (server: TestServer, videoId: string) =>
  fs.readdirSync(path.join(server.dataDir, "uploads")).filter((name) => name.startsWith(videoId));

describe("tus protocol answers", () => {
  // Many unfinished uploads pile up here: no place or hourly limit in the way.
  const cast = useTwoPeople({ MAX_VIDEO_BYTES: String(MAX_VIDEO_BYTES), MAX_CONCURRENT_UPLOADS: "100", RATE_LIMIT_UPLOADS_PER_HOUR: "0" });
  const meta = (filename: string, filetype = "video/mp4") => ({ conversationId: cast.conversationId, filename, filetype });

  it("OPTIONS advertises tus 1.0.0, the extensions that work and Tus-Max-Size; creation-with-upload works", async () => {
    const options = await fetch(`${cast.server.url}/api/uploads`, { method: "OPTIONS" });
    expect(options.status).toBe(204);
    expect({
      version: options.headers.get("tus-version"),
      extensions: options.headers.get("tus-extension"),
      maxSize: options.headers.get("tus-max-size"),
    }).toEqual({ version: "1.0.0", extensions: "creation,creation-with-upload,termination,expiration", maxSize: String(MAX_VIDEO_BYTES) });

    // creation-with-upload: the POST carries the whole file, and the video is done at once.
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("at-once.mp4"), { "content-type": OCTET_STREAM }, H264_5S);
    expect(created.status).toBe(201);
    const videoId = created.headers.get("wbk-video-id") as string;
    expect(created.headers.get("upload-offset")).toBe(String(H264_5S.length));
    expect(created.headers.get("location")).toBe(`${cast.server.url}/api/uploads/${videoId}`);
    const served = await fetch(`${cast.server.url}/api/videos/${videoId}`, { headers: { authorization: `Bearer ${cast.ben.token}` } });
    expect(sha256(Buffer.from(await served.arrayBuffer()))).toBe(sha256(H264_5S));

    // …and a POST whose bytes are not a video is refused like the final PATCH: 415.
    const refused = await tus.create(NOT_A_VIDEO.length, meta("at-once-bad.mp4"), { "content-type": OCTET_STREAM }, NOT_A_VIDEO);
    expect({ status: refused.status, code: refused.json?.error?.code }).toEqual({ status: 415, code: "unsupported_media_type" });
  });

  it("Tus-Resumable other than 1.0.0 is 412 precondition_failed with Tus-Version, on every method, and changes nothing", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("versions.mp4"));
    const location = created.headers.get("location") as string;
    const message = "this server speaks tus 1.0.0: send Tus-Resumable: 1.0.0";
    for (const version of [undefined, "0.2.2", "abc", "1.0.0, 1.0.0", ""]) {
      const tusHeader: Record<string, string> = version === undefined ? {} : { "tus-resumable": version };
      const attempts = [
        ["POST", "/api/uploads", { ...tusHeader, "upload-length": "100", "upload-metadata": uploadMetadata(meta("v.mp4")) }],
        ["PATCH", location, { ...tusHeader, "upload-offset": "0", "content-type": OCTET_STREAM }],
        ["HEAD", location, tusHeader],
        ["DELETE", location, tusHeader],
      ] as const;
      for (const [method, where, headers] of attempts) {
        const answer = await tus.send(method, where, headers, method === "PATCH" ? H264_5S.subarray(0, 100) : undefined);
        expect({ version, method, status: answer.status, tusVersion: answer.headers.get("tus-version"), resumable: answer.headers.get("tus-resumable") }).toEqual({
          version,
          method,
          status: 412,
          tusVersion: "1.0.0",
          resumable: "1.0.0",
        });
        if (method !== "HEAD") {
          expect(answer.json).toEqual({ error: { code: "precondition_failed", message, details: [{ path: "Tus-Resumable", message }] } });
        }
      }
    }
    const head = await tus.head(location);
    expect({ status: head.status, offset: head.headers.get("upload-offset") }).toEqual({ status: 200, offset: "0" });
  });

  it("a wrong or missing tus header is 400 validation_failed whose details name it; the upload is untouched", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("headers.mp4"));
    const location = created.headers.get("location") as string;
    const v1 = { "tus-resumable": "1.0.0" };
    const metadata = uploadMetadata(meta("h.mp4"));
    const patchHeaders = { ...v1, "upload-offset": "0", "content-type": OCTET_STREAM };
    const withoutKey = (key: keyof typeof patchHeaders) => Object.fromEntries(Object.entries(patchHeaders).filter(([k]) => k !== key));
    const cases: Array<[string, string, string, Record<string, string>]> = [
      ...["abc", "-1", "1e3", "", "01", "1.5"].map((length): [string, string, string, Record<string, string>] => [
        "Upload-Length",
        "POST",
        "/api/uploads",
        { ...v1, "upload-length": length, "upload-metadata": metadata },
      ]),
      ["Upload-Length", "POST", "/api/uploads", { ...v1, "upload-metadata": metadata }],
      ...["a b c", "é eA==", "filename !!!!", `filename eA==,filename eA==`, "conversationId eA==,,"].map(
        (bad): [string, string, string, Record<string, string>] => ["Upload-Metadata", "POST", "/api/uploads", { ...v1, "upload-length": "100", "upload-metadata": bad }],
      ),
      ["Upload-Offset", "PATCH", location, withoutKey("upload-offset")],
      ["Upload-Offset", "PATCH", location, { ...patchHeaders, "upload-offset": "-1" }],
      ["Upload-Offset", "PATCH", location, { ...patchHeaders, "upload-offset": "abc" }],
      ["Content-Type", "PATCH", location, withoutKey("content-type")],
      ["Content-Type", "PATCH", location, { ...patchHeaders, "content-type": "text/plain" }],
      ["Content-Type", "PATCH", location, { ...patchHeaders, "content-type": "application/octet-stream" }],
      ["Upload-Length", "PATCH", location, { ...patchHeaders, "upload-length": String(H264_5S.length) }],
    ];
    for (const [header, method, where, headers] of cases) {
      const answer = await tus.send(method, where, headers, method === "PATCH" ? H264_5S.subarray(0, 1000) : undefined);
      const error = answer.json?.error;
      expect({ header, headers, status: answer.status, code: error?.code, details: error?.details }).toEqual({
        header,
        headers,
        status: 400,
        code: "validation_failed",
        details: [{ path: header, message: error?.message }],
      });
      expect(answer.headers.get("tus-resumable")).toBe("1.0.0");
    }
    expect((await tus.head(location)).headers.get("upload-offset")).toBe("0");
    // Metadata values are checked by key: the path names it.
    const missing = await tus.create(100, { filename: "a.mp4" });
    expect(missing.json?.error?.details).toEqual([{ path: "Upload-Metadata.conversationId", message: expect.any(String) }]);
  });

  it("a length over MAX_VIDEO_BYTES, however many digits, is 413; an empty video is refused before any message", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const before = await videoMessages(cast.server.url, cast.ann, cast.conversationId);
    const uploadsBefore = cast.server.running.storage.videos.createdSince(cast.ann.user.id as never, 0).count;
    for (const length of [MAX_VIDEO_BYTES + 1, "99999999999999999999999", "9".repeat(400)]) {
      const answer = await tus.send("POST", "/api/uploads", {
        "tus-resumable": "1.0.0",
        "upload-length": String(length),
        "upload-metadata": uploadMetadata(meta("big.mp4")),
      });
      expect({ length, status: answer.status, json: answer.json }).toEqual({
        length,
        status: 413,
        json: { error: { code: "payload_too_large", message: `a video may be at most ${MAX_VIDEO_BYTES} bytes` } },
      });
    }
    const empty = await tus.create(0, meta("empty.mp4"));
    expect({ status: empty.status, json: empty.json }).toEqual({
      status: 400,
      json: { error: { code: "validation_failed", message: "the video is empty", details: [{ path: "Upload-Length", message: "the video is empty" }] } },
    });
    expect(empty.headers.get("location")).toBeNull();
    expect(cast.server.running.storage.videos.createdSince(cast.ann.user.id as never, 0).count).toBe(uploadsBefore);
    expect(await videoMessages(cast.server.url, cast.ann, cast.conversationId)).toEqual(before);
  });

  it("Upload-Metadata is at most 4 KiB; keys other than ours are dropped, so HEAD gives back only ours", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const ours = uploadMetadata(meta("meta.mp4"));
    const padding = `,pad ${Buffer.from("x".repeat(3100)).toString("base64")}`;
    expect(Buffer.byteLength(ours + padding)).toBeGreaterThan(4096);
    const tooLong = await tus.create(100, ours + padding);
    expect({ status: tooLong.status, json: tooLong.json }).toEqual({
      status: 400,
      json: {
        error: {
          code: "validation_failed",
          message: "Upload-Metadata may be at most 4096 bytes",
          details: [{ path: "Upload-Metadata", message: "Upload-Metadata may be at most 4096 bytes" }],
        },
      },
    });

    const created = await tus.create(H264_5S.length, `${uploadMetadata({ ...meta("  meta.mp4 "), relativePath: "a/b", name: "other.mp4" })},flag`);
    expect(created.status).toBe(201);
    const videoId = created.headers.get("wbk-video-id") as string;
    const head = await tus.head(created.headers.get("location") as string);
    const kept = Object.fromEntries(
      (head.headers.get("upload-metadata") ?? "").split(",").map((pair) => {
        const [key, value] = pair.split(" ");
        return [key, value === undefined ? null : Buffer.from(value, "base64").toString()];
      }),
    );
    expect(kept).toEqual({ conversationId: cast.conversationId, filename: "meta.mp4", filetype: "video/mp4" });
    const stored = fs.readFileSync(path.join(cast.server.dataDir, "uploads", `${videoId}.json`), "utf8");
    expect(stored).not.toMatch(/relativePath|other\.mp4|flag/);
  });

  it("GET, PUT and POST on an upload URL are 405 method_not_allowed with Allow", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("methods.mp4"));
    const location = created.headers.get("location") as string;
    for (const method of ["GET", "PUT", "POST"]) {
      for (const signedIn of [tus, tusClient(cast.server.url)]) {
        const answer = await signedIn.send(method, location, { "tus-resumable": "1.0.0" });
        expect({ method, status: answer.status, allow: answer.headers.get("allow"), code: answer.json?.error?.code }).toEqual({
          method,
          status: 405,
          allow: "HEAD, PATCH, DELETE, OPTIONS",
          code: "method_not_allowed",
        });
      }
    }
  });

  it("a DELETE while a PATCH is being written: the PATCH stops and answers 404, nothing is left on disk", async () => {
    const tus = tusClient(cast.server.url, cast.ann.token);
    const created = await tus.create(H264_5S.length, meta("racing.mp4"));
    const location = created.headers.get("location") as string;
    const videoId = created.headers.get("wbk-video-id") as string;

    // A PATCH that sends its first bytes and then waits, holding the upload (chunked, no end).
    const url = new URL(location);
    const patch = http.request({
      host: url.hostname,
      port: url.port,
      path: url.pathname,
      method: "PATCH",
      headers: { authorization: `Bearer ${cast.ann.token}`, "tus-resumable": "1.0.0", "upload-offset": "0", "content-type": OCTET_STREAM },
    });
    const late = new Promise<{ status: number; body: string }>((resolve, reject) => {
      patch.on("error", reject);
      patch.on("response", (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      });
    });
    patch.write(H264_5S.subarray(0, 64 * 1024));
    await eventually(() => expect(fs.statSync(path.join(cast.server.dataDir, "uploads", videoId)).size).toBeGreaterThan(0));

    // The DELETE waits until the PATCH has stopped writing (tus asks it to, within 3 s).
    const cancelled = await tus.remove(location);
    expect(cancelled.status).toBe(204);
    const answer = await late;
    patch.destroy();
    expect({ status: answer.status, body: JSON.parse(answer.body) }).toEqual({
      status: 404,
      body: { error: { code: "not_found", message: "the upload has ended (refused, cancelled or expired)" } },
    });
    expect(filesOf(cast.server, videoId)).toEqual([]);
    expect((await tus.head(location)).status).toBe(404);
    const message = (await videoMessages(cast.server.url, cast.ann, cast.conversationId)).find((m) => m.id === `video-${videoId}`);
    expect(message?.video?.status).toBe("failed");
  }, 20_000);
});

describe("a member leaving mid-upload", () => {
  let server: TestServer;
  let ann: TestUser;
  let ben: TestUser;
  beforeAll(async () => {
    server = await startTestServer({ MAX_CONCURRENT_UPLOADS: "1" });
    ann = await signUp(server.url, "Ann");
    ben = await signUp(server.url, "Ben");
  });
  afterAll(() => server.stop());

  /** Ben's upload to the conversation with its first 5000 bytes sent. */
  async function startUpload(conversationId: string, filename: string) {
    const tus = tusClient(server.url, ben.token);
    const created = await tus.create(H264_5S.length, { conversationId, filename, filetype: "video/mp4" });
    expect(created.status).toBe(201);
    const location = created.headers.get("location") as string;
    expect((await tus.patch(location, 0, H264_5S.subarray(0, 5000))).status).toBe(204);
    return { location, videoId: created.headers.get("wbk-video-id") as string };
  }

  /** The upload is over: failed in storage, its message failed, its files gone, its URL 404. */
  async function expectEnded(conversationId: string, upload: { location: string; videoId: string }) {
    expect(server.running.storage.videos.upload(upload.videoId as never)?.status).toBe("failed");
    expect(filesOf(server, upload.videoId)).toEqual([]);
    const message = (await videoMessages(server.url, ann, conversationId)).find((m) => m.id === `video-${upload.videoId}`);
    expect(message?.video?.status).toBe("failed");
    expect((await tusClient(server.url, ben.token).head(upload.location)).status).toBe(404);
  }

  it("removed by the creator: the upload ends failed at once and frees the uploader's place; others' uploads stay", async () => {
    const family = (await createConversation(server.url, ann, [ben], "Family")).id;
    const own = (await createConversation(server.url, ben, [], "Ben's")).id;
    const annUpload = await tusClient(server.url, ann.token).create(H264_5S.length, { conversationId: family, filename: "ann.mp4", filetype: "" });
    const upload = await startUpload(family, "ben.mp4");
    // MAX_CONCURRENT_UPLOADS=1: Ben's place is taken.
    expect((await tusClient(server.url, ben.token).create(100, { conversationId: own, filename: "x.mp4", filetype: "" })).status).toBe(429);

    expect((await api(server.url, "DELETE", `/api/conversations/${family}/members/${ben.user.id}`, { token: ann.token })).status).toBe(204);
    await expectEnded(family, upload);
    expect((await tusClient(server.url, ben.token).create(100, { conversationId: own, filename: "x.mp4", filetype: "" })).status).toBe(201);
    expect((await tusClient(server.url, ann.token).head(annUpload.headers.get("location") as string)).status).toBe(200);
  });

  it("leaving: the same", async () => {
    const shared = (await createConversation(server.url, ben, [ann], "Ben and Ann")).id;
    // The previous test left Ben one unfinished upload elsewhere: cancel it to free the place.
    const [pending] = server.running.storage.videos.unfinishedBefore(Date.now() + 1).filter((u) => u.userId === ben.user.id);
    if (pending) expect((await tusClient(server.url, ben.token).remove(`/api/uploads/${pending.id}`)).status).toBe(204);
    const upload = await startUpload(shared, "leaving.mp4");
    expect((await api(server.url, "DELETE", `/api/conversations/${shared}/members/${ben.user.id}`, { token: ben.token })).status).toBe(204);
    await expectEnded(shared, upload);
  });
});
