/**
 * `shareVideo` in real Chromium through the SDK's main entry (the browser build of tus-js-client,
 * XMLHttpRequest with the session cookie, WebCrypto, IndexedDB): a File uploads, and a video
 * shared offline is kept in IndexedDB and uploads from a new page once the network is back.
 * The page is any page of the server's origin with the SDK bundled in by Vite, so the SDK is
 * tested on its own; tests/browser-video.test.ts drives the demo page's video UI.
 */
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { build, defaultClientConditions, type Rollup } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchChromium } from "./helpers/browser.js";
import { startTestServer, type TestServer } from "./helpers/server.js";
import { eventually, signUp } from "./helpers/users.js";

const FIXTURES = path.resolve(import.meta.dirname, "fixtures");
const SDK_ROOT = path.resolve(import.meta.dirname, "..", "client-sdk");
const H264_5S = fs.readFileSync(path.join(FIXTURES, "clip-h264-5s.mp4"));
const CLIP_2MB = fs.readFileSync(path.join(FIXTURES, "clip-h264-8s-2mb.mp4"));
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** The SDK's main entry as one script that sets `window.wbk`, built as a browser bundler would. */
async function bundleSdk(): Promise<string> {
  const result = await build({
    configFile: false,
    logLevel: "warn",
    root: SDK_ROOT,
    resolve: { conditions: ["wbk-source", ...defaultClientConditions] },
    build: { write: false, minify: false, lib: { entry: path.join(SDK_ROOT, "src/index.ts"), formats: ["iife"], name: "wbk", fileName: "wbk" } },
  });
  const [output] = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const chunk = output!.output.find((o) => o.type === "chunk");
  if (!chunk || chunk.type !== "chunk") throw new Error("no SDK bundle");
  return chunk.code;
}

describe("shareVideo in Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let closeBrowser: () => Promise<void>;
  let sdk: string;
  beforeAll(async () => {
    [server, { browser, close: closeBrowser }, sdk] = await Promise.all([startTestServer(), launchChromium(), bundleSdk()]);
  }, 120_000);
  afterAll(async () => {
    await closeBrowser?.();
    await server?.stop();
  });

  /** A page of the server's origin (so the cookie is first-party) with the SDK loaded. */
  async function sdkPage(context: BrowserContext): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${server.url}/healthz`);
    await page.addScriptTag({ content: sdk });
    return page;
  }

  it("uploads a File with the session cookie; one shared offline waits in IndexedDB and uploads from a new page once online", { timeout: 90_000 }, async () => {
    const ben = await signUp(server.url, "Ben");
    const context = await browser.newContext();
    const page = await sdkPage(context);
    const { conversationId } = await page.evaluate(async (benEmail) => {
      const w = window as unknown as { wbk: typeof import("@wbk/client-sdk"); client: import("@wbk/client-sdk").ChatClient };
      w.client = w.wbk.createChatClient({ uploadChunkBytes: 256 * 1024 });
      await w.client.register({ email: `ann${Date.now()}@example.com`, password: "a long enough password", displayName: "Ann" });
      const conversation = await w.client.createConversation({ title: "Videos", memberEmails: [benEmail] });
      return { conversationId: conversation.id };
    }, ben.email);

    const online = await page.evaluate(
      async ({ conversationId, base64 }) => {
        const w = window as unknown as { client: import("@wbk/client-sdk").ChatClient };
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const file = new File([bytes], "clip-h264-5s.mp4", { type: "video/mp4" });
        const upload = await w.client.conversation(conversationId).shareVideo(file);
        const video = await upload.message;
        return { video, progress: upload.progress, state: upload.state };
      },
      { conversationId, base64: H264_5S.toString("base64") },
    );
    expect(online.state).toBe("done");
    expect(online.progress).toEqual({ bytesSent: H264_5S.length, bytesTotal: H264_5S.length });
    const served = await fetch(`${server.url}/api/videos/${online.video.videoId}`, { headers: { authorization: `Bearer ${ben.token}` } });
    expect(sha256(new Uint8Array(await served.arrayBuffer()))).toBe(sha256(H264_5S));

    await context.setOffline(true);
    const queuedId = await page.evaluate(
      async ({ conversationId, base64 }) => {
        const w = window as unknown as { client: import("@wbk/client-sdk").ChatClient };
        const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
        const upload = await w.client.conversation(conversationId).shareVideo(new File([bytes], "offline.mp4", { type: "video/mp4" }));
        await new Promise<void>((resolve) => {
          const check = () => (upload.state === "waiting" ? resolve() : setTimeout(check, 50));
          check();
        });
        return upload.id;
      },
      { conversationId, base64: CLIP_2MB.toString("base64") },
    );
    await page.close();
    await context.setOffline(false);

    // A new page (the app reloaded): the queued video comes back from IndexedDB and uploads.
    const again = await sdkPage(context);
    const restored = await again.evaluate(async () => {
      const w = window as unknown as { wbk: typeof import("@wbk/client-sdk") };
      const client = w.wbk.createChatClient();
      await client.me();
      const pending = client.pendingUploads();
      const video = await pending[0]!.message;
      return { ids: pending.map((u) => u.id), filename: pending[0]!.filename, video, left: client.pendingUploads().length };
    });
    expect(restored).toMatchObject({ ids: [queuedId], filename: "offline.mp4", left: 0 });
    const servedAgain = await fetch(`${server.url}/api/videos/${restored.video.videoId}`, { headers: { authorization: `Bearer ${ben.token}` } });
    expect(sha256(new Uint8Array(await servedAgain.arrayBuffer()))).toBe(sha256(CLIP_2MB));
    // Nothing left in IndexedDB's file store.
    await eventually(async () =>
      expect(await again.evaluate(async () => (await (window as unknown as { wbk: typeof import("@wbk/client-sdk") }).wbk.indexedDbFiles().list("")).length)).toBe(0),
    );
    await context.close();
  });
});
