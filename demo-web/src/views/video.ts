/**
 * The video part of a video message row: "uploading…", "video could not be shared", or the
 * player with the file's name, length and size (a download link where this browser cannot
 * play the format).
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
 * message was deleted). Returns whether the row shows a video.
 */
export function renderVideo(row: HTMLElement, message: ChatMessage, before: Element): boolean {
  const video = message.deleted ? undefined : message.video;
  const block = row.querySelector<HTMLElement>(":scope > .video");
  if (!video) {
    block?.remove();
    return false;
  }
  if (block?.dataset.videoId === video.videoId && block.dataset.status === video.status) return true;
  const next = videoBlock(video);
  if (block) block.replaceWith(next);
  else row.insertBefore(next, before);
  return true;
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

/** "" from canPlayType means "certainly not" ("maybe" and "probably" are worth a try). */
function canPlay(mime: string): boolean {
  return document.createElement("video").canPlayType(mime) !== "";
}

function player(video: VideoInfo): HTMLVideoElement {
  // preload=metadata: the length and the first frame, not the whole file, on a phone's data plan.
  // playsinline: iPhones would otherwise play it full screen only.
  return el("video", { controls: true, preload: "metadata", playsinline: true, src: videoUrl(video), "data-testid": "video-player" });
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
