/**
 * Video sharing in the demo page, end to end in real Chromium: Ann picks a file with the attach
 * button and watches her progress bar; Ben, in another browser context, sees the message turn
 * ready and plays it, with the very bytes Ann picked. Also: the player survives re-renders, an
 * upload survives two reloads and a cut line without being created twice or needing a click,
 * Pause/Resume/Cancel do what they say, a file that is no video fails in words, a format the
 * browser cannot play offers a download (and the page says how a large video continues), an
 * H.264 .mov plays and an HEVC one turns into a download, a large video continues after a reload
 * when its file is picked again, and at phone size the list of uploads puts the newest first,
 * shows that it scrolls, bars a failure in red and says what a waiting upload waits for.
 *
 * Ann's page goes through a fault proxy (throttle, cut) and then a counting proxy that records
 * every request reaching the server; Ben's page talks to the server directly. Both are signed in
 * by their session cookie (sign-up through the page is covered by browser-chat.test.ts).
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { outputPath, useDemoInChromium } from "./helpers/browser.js";
import { startCountingProxy, type CountingProxy } from "./helpers/countingProxy.js";
import { startFaultProxy, type FaultProxy } from "./helpers/faultProxy.js";
import { useTempDirs } from "./helpers/tempDirs.js";
import { FIXTURES, fixture as fixtureBytes, sha256, tusClient } from "./helpers/tus.js";
import { createConversation, signUp, type TestUser } from "./helpers/users.js";

/** A fixture file: its path (for the file chooser), size and SHA-256. */
function fixture(name: string) {
  const bytes = fixtureBytes(name);
  return { name, path: path.join(FIXTURES, name), size: bytes.length, sha256: sha256(bytes) };
}
const CLIP_5S = fixture("clip-h264-5s.mp4");
const CLIP_2MB = fixture("clip-h264-8s-2mb.mp4");
const CLIP_VP9 = fixture("clip-vp9-3s.webm");
const NOT_A_VIDEO = fixture("not-a-video.mp4");

/** Bytes per second on Ann's line while she uploads: slow enough to watch, reload and cut. */
const SLOW_LINE = 700_000;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1024, height: 768 };
const tempDir = useTempDirs("wbk-browser-video-");

/** `ffmpeg` with `args`, writing `name` into a fresh temp folder: its bytes. */
function ffmpegMade(name: string, args: string[]): Buffer {
  const file = path.join(tempDir(), name);
  execFileSync("ffmpeg", ["-v", "error", "-y", ...args, file]);
  return fs.readFileSync(file);
}

/** What Ann's upload row showed at one moment. */
interface Shown {
  state: string;
  sent: number;
  total: number;
  percent: number;
  amount: string;
}

describe("video sharing in the demo page", () => {
  // Per user (each test signs up its own Ann and Ben): one unfinished upload at a time and three
  // an hour, so the limits test meets both limits with a handful of uploads.
  const demo = useDemoInChromium({ MAX_CONCURRENT_UPLOADS: "1", RATE_LIMIT_UPLOADS_PER_HOUR: "3" });
  let counting: CountingProxy;
  let net: FaultProxy;
  const contexts: BrowserContext[] = [];

  beforeEach(async () => {
    counting = await startCountingProxy({ port: demo.server.running.port });
    net = await startFaultProxy({ port: counting.port });
  });
  afterEach(async () => {
    await Promise.all(contexts.splice(0).map((context) => context.close()));
    await net?.close();
    await counting?.close();
  });

  /** Ann and Ben over REST, a conversation between them, and each one's page open on it. */
  async function twoPages(options: { annQuery?: string; benInit?: () => void } = {}) {
    const [ann, ben] = [await signUp(demo.server.url, "Ann"), await signUp(demo.server.url, "Ben")];
    const conversation = await createConversation(demo.server.url, ann, [ben], "Holiday videos");
    const [annPage, benPage] = await Promise.all([
      openChat(net.url, ann, conversation.id, { query: options.annQuery, viewport: PHONE }),
      openChat(demo.server.url, ben, conversation.id, { init: options.benInit, viewport: DESKTOP }),
    ]);
    return { ann, ben, annPage, benPage };
  }

  /** A new browser context signed in as `user` (its cookie), showing the conversation. */
  async function openChat(
    origin: string,
    user: TestUser,
    conversationId: string,
    options: { query?: string; init?: () => void; viewport: { width: number; height: number } },
  ): Promise<Page> {
    const context = await demo.browser.newContext({ viewport: options.viewport });
    contexts.push(context);
    await context.addCookies([{ name: "wbk_session", value: user.token, url: origin }]);
    if (options.init) await context.addInitScript(options.init);
    const page = await context.newPage();
    await page.goto(`${origin}/${options.query ?? ""}#c=${conversationId}`);
    await chatShown(page, conversationId);
    return page;
  }

  async function chatShown(page: Page, conversationId: string): Promise<void> {
    await page.locator(`[data-testid="chat-view"][data-conversation-id="${conversationId}"]`).waitFor({ timeout: 20_000 });
  }

  /** Slows Ann's line down, then she shares `file`; her upload rows are recorded from the start. */
  async function uploadOverSlowLine(annPage: Page, file: string): Promise<void> {
    await recordUploadRows(annPage);
    net.throttle(SLOW_LINE);
    await attachVideo(annPage, file);
  }

  /** Picks `file` through the attach button's file chooser, as a person would. */
  async function attachVideo(page: Page, file: string): Promise<void> {
    const chooser = page.waitForEvent("filechooser");
    await page.getByTestId("attach-video").click();
    await (await chooser).setFiles(file);
  }

  /**
   * Records every state and byte count the page's upload rows show, from now on, in
   * `window.shown`. Each change comes from its own upload event (its own task), so the
   * observer sees each value.
   */
  async function recordUploadRows(page: Page): Promise<void> {
    await page.evaluate(() => {
      const shown: Shown[] = [];
      (window as unknown as { shown: Shown[] }).shown = shown;
      new MutationObserver((records) => {
        const rows = new Set(records.map((r) => (r.target as Element).closest('[data-testid="upload"]')));
        for (const row of rows) {
          const bar = row?.querySelector<HTMLElement>('[data-testid="upload-progress"]');
          if (!row || !bar) continue;
          const entry = {
            state: (row as HTMLElement).dataset.state ?? "",
            sent: Number(bar.dataset.sent),
            total: Number(bar.dataset.total),
            percent: Number(bar.dataset.percent),
            amount: row.querySelector('[data-testid="upload-amount"]')?.textContent ?? "",
          };
          const last = shown.at(-1);
          if (JSON.stringify(last) !== JSON.stringify(entry)) shown.push(entry);
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ["data-sent", "data-state"] });
    });
  }
  const shownRows = (page: Page) => page.evaluate(() => (window as unknown as { shown: Shown[] }).shown);

  /** An attribute for polling: a missing element throws soon (the poll tries again) instead of waiting. */
  const attribute = (locator: Locator, name: string) => locator.getAttribute(name, { timeout: 500 });
  const videoBlock = (page: Page) => page.getByTestId("message-video");
  const videoStatus = (page: Page) => attribute(videoBlock(page), "data-status");
  const uploadState = (page: Page) => attribute(page.getByTestId("upload"), "data-state");
  /** Ann's upload row of the file `name`, when the list has several. */
  const uploadRow = (page: Page, name: string) => page.getByTestId("upload").filter({ hasText: name });

  /** The SHA-256 of what the server serves at `url`, fetched by the page with its cookie. */
  const servedSha256 = (page: Page, url: string) =>
    page.evaluate(async (src) => {
      const bytes = await (await fetch(src)).arrayBuffer();
      const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
      return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
    }, url);

  /** Starts the player muted: Chromium lets a page start muted media without a user gesture. */
  async function playMuted(page: Page): Promise<void> {
    await page.getByTestId("video-player").evaluate(async (video: HTMLVideoElement) => {
      video.muted = true;
      await video.play();
    });
  }
  const playedSeconds = (page: Page) => page.getByTestId("video-player").evaluate((video: HTMLVideoElement) => video.currentTime);

  /** A value the SDK keeps in IndexedDB (`wbk-meta`, see client-sdk/src/storage.ts), or null. */
  const deviceMeta = (page: Page, key: string) =>
    page.evaluate(
      (key) =>
        new Promise<string | null>((resolve, reject) => {
          const open = indexedDB.open("wbk-meta");
          open.onerror = () => reject(open.error);
          open.onsuccess = () => {
            const db = open.result;
            const get = db.transaction("meta").objectStore("meta").get(key);
            get.onerror = () => reject(get.error);
            get.onsuccess = () => {
              db.close();
              resolve((get.result as string | undefined) ?? null);
            };
          };
        }),
      key,
    );

  it("Ann shares a clip with the attach button and watches it go out; Ben plays it, the same bytes", { timeout: 30_000 }, async () => {
    const { annPage, benPage } = await twoPages({ annQuery: "?uploadChunkBytes=65536" });
    await uploadOverSlowLine(annPage, CLIP_5S.path);

    // Ben sees it coming, then ready.
    await expect.poll(() => videoStatus(benPage)).toBe("uploading");
    expect(await benPage.getByTestId("video-status").textContent()).toBe(`uploading… ${CLIP_5S.name}`);
    await expect.poll(() => videoStatus(benPage), { timeout: 20_000 }).toBe("ready");

    // Ann's bar moved up to every byte: 333489 of 333489, 100%.
    await expect.poll(() => uploadState(annPage)).toBe("done");
    const shown = await shownRows(annPage);
    const last = shown.at(-1)!;
    expect(last).toEqual({ state: "done", sent: 333_489, total: 333_489, percent: 100, amount: "333.5 KB of 333.5 KB (100%)" });
    const moving = shown.filter((s) => s.state === "uploading" && s.sent > 0 && s.sent < CLIP_5S.size);
    expect(moving.length).toBeGreaterThanOrEqual(3);
    const sent = shown.map((s) => s.sent);
    expect(sent).toEqual([...sent].sort((a, b) => a - b));
    expect(shown.every((s) => s.total === CLIP_5S.size)).toBe(true);
    expect(await annPage.getByTestId("upload-state").textContent()).toBe("sent");
    // 333 KB fits the device's offline queue: no note about picking it again.
    expect(await annPage.getByTestId("upload-note").count()).toBe(0);
    // The row goes once the video is out; the message shows the video instead.
    await expect.poll(() => annPage.getByTestId("upload").count(), { timeout: 5_000 }).toBe(0);

    const details = `${CLIP_5S.name} · 0:05 · 333.5 KB`;
    expect(await benPage.getByTestId("video-details").textContent()).toBe(details);
    const player = benPage.getByTestId("video-player");
    expect(await player.evaluate((v: HTMLVideoElement) => [v.controls, v.preload])).toEqual([true, "metadata"]);
    await playMuted(benPage);
    await expect.poll(() => playedSeconds(benPage), { timeout: 10_000 }).toBeGreaterThan(0.5);
    const src = await player.evaluate((v: HTMLVideoElement) => v.currentSrc);
    const videoId = await videoBlock(benPage).getAttribute("data-video-id");
    expect(src).toBe(`${demo.server.url}/api/videos/${videoId}`);
    expect(await servedSha256(benPage, src)).toBe(CLIP_5S.sha256);
    expect(await annPage.getByTestId("video-details").textContent()).toBe(details);

    await annPage.screenshot({ path: outputPath("browser-video-ann.png"), fullPage: true });
    await benPage.screenshot({ path: outputPath("browser-video-ben.png"), fullPage: true });
  });

  it("the player is the same element, still playing, after another message arrives", { timeout: 30_000 }, async () => {
    const { annPage, benPage } = await twoPages();
    await attachVideo(annPage, CLIP_5S.path);
    await expect.poll(() => videoStatus(benPage), { timeout: 20_000 }).toBe("ready");
    await benPage.getByTestId("video-player").evaluate((video) => {
      (window as unknown as { firstPlayer: Element }).firstPlayer = video;
    });
    await playMuted(benPage);
    await expect.poll(() => playedSeconds(benPage)).toBeGreaterThan(0.2);
    const before = await playedSeconds(benPage);

    await annPage.getByTestId("composer").fill("Look at the waves!");
    await annPage.getByTestId("send").click();
    await expect.poll(() => benPage.getByTestId("message-text").allTextContents()).toEqual(["", "Look at the waves!"]);
    // Ann's delivery ticks re-render her rows too: wait until her message is stored.
    await expect.poll(() => annPage.getByTestId("message-delivery").last().getAttribute("data-state"), { timeout: 15_000 }).toBe("stored");

    const same = await benPage.evaluate(
      () => document.querySelector('[data-testid="video-player"]') === (window as unknown as { firstPlayer: Element }).firstPlayer,
    );
    expect(same).toBe(true);
    expect(await benPage.getByTestId("video-player").evaluate((v: HTMLVideoElement) => v.paused)).toBe(false);
    expect(await playedSeconds(benPage)).toBeGreaterThan(before);
  });

  it("an upload survives two reloads of the page: created once, whole, nothing left on the device", { timeout: 45_000 }, async () => {
    const { ann, annPage } = await twoPages({ annQuery: "?uploadChunkBytes=131072" });
    const conversationId = await annPage.getByTestId("chat-view").getAttribute("data-conversation-id");
    await uploadOverSlowLine(annPage, CLIP_2MB.path);
    await annPage.getByTestId("upload").waitFor();
    const uploadId = await annPage.getByTestId("upload").getAttribute("data-upload-id");

    for (const reloadAfter of [400_000, 1_200_000]) {
      await expect.poll(() => counting.patchBytes(), { timeout: 15_000, interval: 20 }).toBeGreaterThan(reloadAfter);
      await annPage.reload();
      await chatShown(annPage, conversationId!);
      // The SDK restarted it from the device at sign-in (client.pendingUploads()); the page shows it.
      await expect.poll(() => attribute(annPage.getByTestId("upload"), "data-upload-id")).toBe(uploadId);
      expect(await uploadState(annPage)).not.toBe("failed");
    }
    // While it runs, the device remembers the upload URL and keeps the copy.
    const saved = JSON.parse((await deviceMeta(annPage, `uploads:${ann.user.id}`))!) as { resume: object; queue: object };
    expect([Object.keys(saved.resume).length, Object.keys(saved.queue).length]).toEqual([1, 1]);

    await expect.poll(() => videoStatus(annPage), { timeout: 20_000 }).toBe("ready");
    net.throttle(0);
    const videoId = await videoBlock(annPage).getAttribute("data-video-id");
    expect(await servedSha256(annPage, `/api/videos/${videoId}`)).toBe(CLIP_2MB.sha256);
    const uploads = counting.uploads();
    expect(uploads.filter((r) => r.method === "POST")).toHaveLength(1);
    // Each reload continued from the server's offset, asked for with HEAD.
    expect(uploads.filter((r) => r.method === "HEAD").length).toBeGreaterThanOrEqual(2);
    console.info(`reloads: ${uploads.map((r) => `${r.method} ${r.offset ?? ""}→${r.status}`).join(", ")}`);
    // The resume entry and the queued copy are gone once the video is out.
    await expect.poll(() => deviceMeta(annPage, `uploads:${ann.user.id}`)).toBeNull();
    expect(await videoBlock(annPage).getAttribute("data-video-id")).toBe(videoId);
  });

  it("done when: an upload over a slow line cut in the middle arrives whole at Ben's, nobody clicking", { timeout: 40_000 }, async () => {
    const { annPage, benPage } = await twoPages({ annQuery: "?uploadChunkBytes=262144" });
    await uploadOverSlowLine(annPage, CLIP_2MB.path);
    await expect.poll(() => counting.patchBytes(), { timeout: 15_000, interval: 20 }).toBeGreaterThan(700_000);
    net.dropAll();
    await annPage.screenshot({ path: outputPath("browser-video-ann-cut.png") });

    await expect.poll(() => videoStatus(benPage), { timeout: 30_000 }).toBe("ready");
    expect(await benPage.getByTestId("video-details").textContent()).toBe(`${CLIP_2MB.name} · 0:08 · 2.0 MB`);
    const src = await benPage.getByTestId("video-player").evaluate((v: HTMLVideoElement) => v.currentSrc);
    expect(await servedSha256(benPage, src)).toBe(CLIP_2MB.sha256);
    // Ann's row said what happened: it waited for the network, then went on to the end.
    const states = (await shownRows(annPage)).map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
    expect(states).toEqual(["uploading", "waiting", "uploading", "done"]);
    expect(counting.uploads().filter((r) => r.method === "POST")).toHaveLength(1);
  });

  it("Pause stops the bytes, Resume goes on, Cancel takes the video back from everyone", { timeout: 30_000 }, async () => {
    const { annPage, benPage } = await twoPages({ annQuery: "?uploadChunkBytes=131072" });
    await uploadOverSlowLine(annPage, CLIP_2MB.path);
    await expect.poll(() => counting.patchBytes(), { timeout: 15_000, interval: 20 }).toBeGreaterThan(300_000);

    await annPage.getByTestId("upload-pause").click();
    expect(await annPage.getByTestId("upload-state").textContent()).toBe("paused");
    expect(await annPage.getByTestId("upload-pause").isVisible()).toBe(false);
    // The request under way is dropped with the pause; after that no byte goes out.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const pausedAt = counting.patchBytes();
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(counting.patchBytes()).toBe(pausedAt);

    await annPage.getByTestId("upload-resume").click();
    await expect.poll(() => counting.patchBytes(), { interval: 20 }).toBeGreaterThan(pausedAt);
    expect(await annPage.getByTestId("upload-state").textContent()).toBe("uploading");

    await annPage.getByTestId("upload-cancel").click();
    await expect.poll(() => annPage.getByTestId("upload").count()).toBe(0);
    for (const page of [annPage, benPage]) {
      await expect.poll(() => videoStatus(page), { timeout: 15_000 }).toBe("failed");
    }
    expect(counting.uploads().filter((r) => r.method === "DELETE").map((r) => r.status)).toEqual([204]);
    const states = (await shownRows(annPage)).map((s) => s.state).filter((s, i, all) => s !== all[i - 1]);
    expect(states).toEqual(["uploading", "paused", "uploading", "aborted"]);
  });

  it("a large video not kept on the device: after a reload its message says to pick the file again, which continues it", { timeout: 30_000 }, async () => {
    const { annPage, benPage } = await twoPages({ annQuery: "?uploadChunkBytes=131072&offlineQueueMaxBytes=0" });
    const conversationId = await annPage.getByTestId("chat-view").getAttribute("data-conversation-id");
    await uploadOverSlowLine(annPage, CLIP_2MB.path);
    await expect.poll(() => counting.patchBytes(), { timeout: 15_000, interval: 20 }).toBeGreaterThan(300_000);
    // While this page sends it, its own message carries no hint.
    expect(await annPage.getByTestId("video-hint").count()).toBe(0);
    await annPage.reload();
    await chatShown(annPage, conversationId!);
    net.throttle(0);

    // Nothing restarted it; the own message says how it goes on (Ben's does not).
    await expect.poll(() => annPage.getByTestId("video-hint").textContent({ timeout: 500 })).toBe("pick the same file again to continue Choose file");
    expect(await annPage.getByTestId("upload").count()).toBe(0);
    expect(await annPage.getByTestId("video-status").textContent()).toBe(`uploading… ${CLIP_2MB.name}`);
    expect(await benPage.getByTestId("video-hint").count()).toBe(0);
    await annPage.screenshot({ path: outputPath("browser-video-ann-pick-again.png") });

    const chooser = annPage.waitForEvent("filechooser");
    await annPage.getByTestId("video-pick-again").click();
    await (await chooser).setFiles(CLIP_2MB.path);
    await expect.poll(() => videoStatus(annPage), { timeout: 20_000 }).toBe("ready");
    expect(await annPage.getByTestId("video-hint").count()).toBe(0);
    const uploads = counting.uploads();
    expect(uploads.filter((r) => r.method === "POST")).toHaveLength(1);
    expect(uploads.filter((r) => r.method === "HEAD").map((r) => r.status)).toEqual([200]);
    const videoId = await videoBlock(annPage).getAttribute("data-video-id");
    expect(await servedSha256(annPage, `/api/videos/${videoId}`)).toBe(CLIP_2MB.sha256);
  });

  it("Ann's uploads on a phone: newest first, a list that shows it scrolls, a red bar when failed, and what a waiting one waits for", { timeout: 30_000 }, async () => {
    const { annPage } = await twoPages();
    const started = Date.now();
    await attachVideo(annPage, NOT_A_VIDEO.path);
    await expect.poll(() => attribute(uploadRow(annPage, NOT_A_VIDEO.name), "data-state")).toBe("failed");
    const failedAt = Date.now();
    await recordUploadRows(annPage);
    net.throttle(SLOW_LINE);
    await attachVideo(annPage, CLIP_2MB.path);
    await expect.poll(() => counting.patchBytes(), { interval: 20 }).toBeGreaterThan(0);
    // MAX_CONCURRENT_UPLOADS=1: the next one waits for this one (429 limit_exceeded), online all along.
    await attachVideo(annPage, CLIP_5S.path);
    const waiting = uploadRow(annPage, CLIP_5S.name);
    await expect.poll(() => attribute(waiting, "data-state")).toBe("waiting");
    expect(await waiting.getByTestId("upload-state").textContent()).toBe("waiting for another upload to finish");

    const list = annPage.getByTestId("uploads");
    expect(await list.getByTestId("upload").evaluateAll((rows) => rows.map((r) => r.querySelector(".upload-name")!.textContent))).toEqual([
      CLIP_5S.name,
      CLIP_2MB.name,
      NOT_A_VIDEO.name,
    ]);
    // A third of the phone's height: the failed row is below the fold, and the list shows it scrolls.
    const fold = await list.evaluate((el) => ({ scrolls: el.scrollHeight > el.clientHeight, background: getComputedStyle(el).backgroundImage }));
    expect(fold.scrolls).toBe(true);
    expect(fold.background).toContain("radial-gradient");
    const failedBar = uploadRow(annPage, NOT_A_VIDEO.name).getByTestId("upload-progress");
    expect(await failedBar.evaluate((bar) => [getComputedStyle(bar).accentColor, bar.dataset.percent])).toEqual(["rgb(192, 38, 45)", "100"]);
    await annPage.screenshot({ path: outputPath("browser-video-ann-uploads-phone.png") });
    await list.evaluate((el) => (el.scrollTop = el.scrollHeight));
    await annPage.screenshot({ path: outputPath("browser-video-ann-uploads-phone-scrolled.png") });

    // The first one out frees the place: the waiting one goes on by itself.
    net.throttle(0);
    await expect.poll(() => counting.uploads().filter((r) => r.method === "POST" && r.status === 201).length, { timeout: 15_000 }).toBe(3);
    const waited = (await shownRows(annPage)).filter((s) => s.total === CLIP_5S.size).map((s) => s.state);
    expect(waited.slice(0, 2)).toEqual(["waiting", "uploading"]);

    // RATE_LIMIT_UPLOADS_PER_HOUR=3: a fourth waits until the first is an hour old.
    await attachVideo(annPage, CLIP_VP9.path);
    const limited = uploadRow(annPage, CLIP_VP9.name);
    await expect.poll(() => attribute(limited, "data-state")).toBe("waiting");
    const clocks = await annPage.evaluate(
      (times) => times.map((ms) => new Date(ms).toTimeString().slice(0, 5)),
      [started + 3_600_000, failedAt + 3_600_000 + 1000],
    );
    expect(clocks.map((clock) => `upload limit reached: continues at ${clock}`)).toContain(await limited.getByTestId("upload-state").textContent());
    await annPage.screenshot({ path: outputPath("browser-video-ann-upload-limit.png") });
  });

  it("a file that is no video: the failure in words, no player", { timeout: 30_000 }, async () => {
    const { annPage, benPage } = await twoPages();
    await attachVideo(annPage, NOT_A_VIDEO.path);

    await expect.poll(() => uploadState(annPage), { timeout: 15_000 }).toBe("failed");
    // The server's words for unsupported_media_type.
    expect(await annPage.getByTestId("upload-state").textContent()).toBe(
      "failed: the upload is not a whole video (MP4, MOV, WebM or Matroska)",
    );
    expect(await annPage.getByTestId("upload-dismiss").isVisible()).toBe(true);
    for (const page of [annPage, benPage]) {
      await expect.poll(() => videoStatus(page), { timeout: 15_000 }).toBe("failed");
      expect(await page.getByTestId("video-status").textContent()).toBe(`video could not be shared: ${NOT_A_VIDEO.name}`);
      expect(await page.locator("video").count()).toBe(0);
    }
    await annPage.screenshot({ path: outputPath("browser-video-ann-failed.png") });
    await annPage.getByTestId("upload-dismiss").click();
    expect(await annPage.getByTestId("upload").count()).toBe(0);
  });

  it("a format this browser cannot play: a download link instead of the player; an H.264 .mov plays, an HEVC one is a download", { timeout: 30_000 }, async () => {
    // Ben's Chromium claims it cannot play WebM; Ann's plays it.
    const { ben, annPage, benPage } = await twoPages({
      annQuery: "?offlineQueueMaxBytes=50000",
      benInit: () => {
        const canPlayType = HTMLMediaElement.prototype.canPlayType;
        HTMLMediaElement.prototype.canPlayType = function (type: string) {
          return type.startsWith("video/webm") ? "" : canPlayType.call(this, type);
        };
      },
    });
    await attachVideo(annPage, CLIP_VP9.path);
    // 83,232 bytes is over this page's offline queue (?offlineQueueMaxBytes=50000): the page says
    // how such a video continues after a reload.
    expect(await annPage.getByTestId("upload-note").textContent()).toBe(
      "Large videos continue where they stopped when you pick the same file again.",
    );

    await expect.poll(() => videoStatus(benPage), { timeout: 20_000 }).toBe("ready");
    expect(await benPage.getByTestId("video-download").textContent()).toBe("cannot play here: download");
    const link = benPage.getByTestId("video-download").locator("a");
    const videoId = await videoBlock(benPage).getAttribute("data-video-id");
    expect([await link.getAttribute("href"), await link.getAttribute("download")]).toEqual([`/api/videos/${videoId}`, CLIP_VP9.name]);
    expect(await benPage.locator("video").count()).toBe(0);
    expect(await benPage.getByTestId("video-details").textContent()).toBe(`${CLIP_VP9.name} · 0:03 · 83.2 KB`);
    expect(await servedSha256(benPage, `/api/videos/${videoId}`)).toBe(CLIP_VP9.sha256);

    await expect.poll(() => videoStatus(annPage), { timeout: 20_000 }).toBe("ready");
    expect(await annPage.getByTestId("video-player").count()).toBe(1);

    // iPhones record .mov (video/quicktime), which Chromium's canPlayType calls "" but plays when
    // the codec is H.264; HEVC it cannot decode: the player's error turns it into the link.
    const h264Mov = ffmpegMade("IMG_0001.MOV", ["-i", CLIP_5S.path, "-c", "copy", "-f", "mov"]);
    const hevcMov = ffmpegMade("IMG_0002.MOV", ["-f", "lavfi", "-i", "testsrc=size=160x120:rate=10:duration=1", "-c:v", "libx265", "-x265-params", "log-level=error", "-tag:v", "hvc1", "-f", "mov"]);
    const tus = tusClient(demo.server.url, ben.token);
    const conversationId = await benPage.getByTestId("chat-view").getAttribute("data-conversation-id");
    const movIds: string[] = [];
    for (const [bytes, filename] of [[h264Mov, "IMG_0001.MOV"], [hevcMov, "IMG_0002.MOV"]] as const) {
      const { finished } = await tus.upload(bytes, { conversationId: conversationId!, filename, filetype: "video/quicktime" });
      expect(finished.status).toBe(204);
      movIds.push(finished.headers.get("wbk-video-id")!);
    }
    const movBlock = (id: string) => benPage.locator(`[data-testid="message-video"][data-video-id="${id}"]`);
    await expect.poll(() => attribute(movBlock(movIds[0]!), "data-status"), { timeout: 10_000 }).toBe("ready");
    expect(await benPage.evaluate(() => document.createElement("video").canPlayType("video/quicktime"))).toBe("");
    const movPlayer = movBlock(movIds[0]!).getByTestId("video-player");
    await expect.poll(() => movPlayer.evaluate((v: HTMLVideoElement) => [v.readyState >= HTMLMediaElement.HAVE_METADATA, v.videoWidth])).toEqual([true, 640]);
    await expect.poll(() => movBlock(movIds[1]!).getByTestId("video-download").textContent({ timeout: 500 })).toBe("cannot play here: download");
    expect(await movBlock(movIds[1]!).locator("video").count()).toBe(0);
  });
});
