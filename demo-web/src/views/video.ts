/**
 * The video part of a video message row: "uploading…" (for an own video this page no longer
 * sends, how to continue it), "video could not be shared", or the player with the file's
 * name, length and size (a download link where this browser cannot play the format).
 *
 * Rows are updated in place on every change of the conversation. The block is rebuilt only
 * when the video or its status changes, and "ready" is final: a `<video>` element, once
 * shown, stays the same node, since a new one would stop and rewind what the reader watches.
 */
import type { ChatMessage, VideoInfo } from "@wbk/client-sdk";
import { el, isolate } from "../dom.js";
import { formatBytes, formatDuration } from "../format.js";

/**
 * Shows `message`'s video in `row` before `before`, or takes the block out (no video, or the
 * message was deleted). `pickAgain`, for an upload only a new pick of its file continues, adds
 * that hint with a button opening the file chooser. Returns whether the row shows a video.
 */
export function renderVideo(row: HTMLElement, message: ChatMessage, before: Element, pickAgain: (() => void) | null): boolean {
  const video = message.deleted ? undefined : message.video;
  let block = row.querySelector<HTMLElement>(":scope > .video");
  if (!video) {
    block?.remove();
    return false;
  }
  if (block?.dataset.videoId !== video.videoId || block.dataset.status !== video.status) {
    const next = videoBlock(video);
    if (block) block.replaceWith(next);
    else row.insertBefore(next, before);
    block = next;
  }
  showPickAgain(block, video.status === "uploading" ? pickAgain : null);
  return true;
}

function showPickAgain(block: HTMLElement, pickAgain: (() => void) | null): void {
  const hint = block.querySelector(":scope > .video-hint");
  if (!pickAgain) hint?.remove();
  if (!pickAgain || hint) return;
  const button = el("button", { type: "button", "data-testid": "video-pick-again" }, "Choose file");
  button.addEventListener("click", pickAgain);
  block.append(el("p", { class: "video-hint", "data-testid": "video-hint" }, "pick the same file again to continue ", button));
}

/**
 * Where the video's bytes are served. The page's client talks to the page's own origin (main.ts
 * gives it no other base URL), and the session cookie lets the `<video>` element in.
 */
function videoUrl(video: VideoInfo): string {
  return `/api/videos/${encodeURIComponent(video.videoId)}`;
}

function videoBlock(video: VideoInfo): HTMLElement {
  return el(
    "div",
    { class: "video", "data-testid": "message-video", "data-video-id": video.videoId, "data-status": video.status },
    ...videoContent(video),
  );
}

function videoContent(video: VideoInfo): Node[] {
  const name = isolate(video.filename);
  switch (video.status) {
    case "uploading":
      return [el("p", { class: "video-status", "data-testid": "video-status" }, "uploading… ", name)];
    case "failed":
      return [el("p", { class: "video-status failed", "data-testid": "video-status" }, "video could not be shared: ", name)];
    case "ready":
      return [canPlay(video.mime) ? player(video) : downloadLink(video), details(video, name)];
  }
}

/**
 * "" from canPlayType means "certainly not" ("maybe" and "probably" are worth a try). QuickTime
 * (.mov, what iPhones record) is the ISO BMFF container family of MP4, and browsers that say
 * "" for video/quicktime (Chromium) play a .mov with MP4's codecs: MP4 is asked too. Messages
 * carry no codec, so a codec the browser lacks shows up only as the player's error.
 */
function canPlay(mime: string): boolean {
  const probe = document.createElement("video");
  return probe.canPlayType(mime) !== "" || (mime === "video/quicktime" && probe.canPlayType("video/mp4") !== "");
}

function player(video: VideoInfo): HTMLVideoElement {
  // preload=metadata: the length and the first frame, not the whole file, on a phone's data plan.
  // playsinline: iPhones would otherwise play it full screen only.
  const element = el("video", { controls: true, preload: "metadata", playsinline: true, src: videoUrl(video), "data-testid": "video-player" });
  element.addEventListener("error", () => void replaceIfUnplayable(element, video));
  return element;
}

/**
 * A player that cannot decode its video (a codec this browser lacks, such as HEVC in Chromium)
 * becomes the download link. Browsers report a failed load (offline, a 404) with the same
 * error codes, so the link replaces the player only when the server does serve the bytes.
 */
async function replaceIfUnplayable(element: HTMLVideoElement, video: VideoInfo): Promise<void> {
  const code = element.error?.code;
  if (code !== MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED && code !== MediaError.MEDIA_ERR_DECODE) return;
  const served = await fetch(videoUrl(video), { method: "HEAD" }).then(
    (response) => response.ok,
    () => false,
  );
  if (served && element.isConnected) element.replaceWith(downloadLink(video));
}

function downloadLink(video: VideoInfo): HTMLElement {
  return el(
    "p",
    { class: "video-status", "data-testid": "video-download" },
    "cannot play here: ",
    el("a", { href: videoUrl(video), download: video.filename }, "download"),
  );
}

/** "clip.mp4 · 0:05 · 333.5 KB"; the length is missing when the server could not tell it. */
function details(video: VideoInfo, name: HTMLElement): HTMLElement {
  const facts = video.durationMs === null ? [] : [formatDuration(video.durationMs)];
  facts.push(formatBytes(video.size));
  return el("p", { class: "video-details", "data-testid": "video-details" }, name, ` · ${facts.join(" · ")}`);
}
