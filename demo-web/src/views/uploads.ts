/**
 * The sender's side of video sharing in one conversation: the attach button (a file input
 * behind it) and one row per upload with its progress, its state in words, and Pause, Resume
 * and Cancel, newest first. Uploads the SDK restored after a reload (`client.pendingUploads()`)
 * get their rows too; uploads to other conversations are not shown here.
 */
import type { ChatClient, ConversationHandle, VideoUpload, VideoUploadState, VideoUploadWait } from "@wbk/client-sdk";
import { el, errorMessage, setContent, type View } from "../dom.js";
import { formatBytes, formatClock } from "../format.js";

/** How long a finished upload stays on screen at 100% before its row goes. */
const DONE_LINGER_MS = 2000;

/** How each upload state reads; `failed` gets the error's own words after it, `waiting` says what for. */
const STATE_WORDS: Record<Exclude<VideoUploadState, "waiting">, string> = {
  uploading: "uploading",
  paused: "paused",
  done: "sent",
  failed: "failed",
  aborted: "cancelled",
  stopped: "stopped",
};

/** What a waiting upload waits for, in words; the hourly limit with the local time it goes on. */
const WAITING_WORDS: Record<VideoUploadWait, (retryAt: number | null) => string> = {
  network: () => "waiting for the network",
  "upload-slot": () => "waiting for another upload to finish",
  "rate-limit": (retryAt) => `upload limit reached: continues at ${formatClock(new Date(retryAt ?? Date.now()))}`,
  "sign-in": () => "waiting for you to sign in again",
};

const UNFINISHED: ReadonlySet<VideoUploadState> = new Set(["uploading", "waiting", "paused"]);

/**
 * Shown for an upload the SDK did not copy onto the device (bigger than its offline queue,
 * `offlineQueueMaxBytes`, 200 MiB by default): after a reload only the same file picked again
 * continues it, where the smaller ones restart by themselves.
 */
const LARGE_VIDEO_NOTE = "Large videos continue where they stopped when you pick the same file again.";

export interface UploadsOptions {
  /** Shows a failure that belongs to no upload row (`null` clears it). */
  onError(message: string | null): void;
  /** A row came or went, or an upload changed state or learned its video id: `sending` may answer otherwise. */
  onChange(): void;
}

export interface UploadsView extends View {
  /** The attach button with its file input, for the composer. */
  readonly attach: HTMLElement;
  /** Whether this page is sending the video `videoId`, or may be (an unfinished upload not created yet). */
  sending(videoId: string): boolean;
  /** Opens the file chooser, as the attach button does. */
  pickFile(): void;
}

export function uploadsView(client: ChatClient, conversation: ConversationHandle, options: UploadsOptions): UploadsView {
  const element = el("ul", { class: "uploads", "data-testid": "uploads", "aria-label": "Videos you are sending" });
  const rows = new Map<string, { upload: VideoUpload; row: View }>();
  let disposed = false;
  // Quiet while the restored uploads get their rows: the chat is not rendered yet.
  let started = false;
  const changed = () => {
    if (started && !disposed) options.onChange();
  };

  const input = el("input", { type: "file", accept: "video/*", hidden: true, "data-testid": "video-input" });
  const button = el(
    "button",
    { type: "button", class: "attach", "data-testid": "attach-video", "aria-label": "Share a video", title: "Share a video" },
    "Video",
  );
  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const file = input.files?.[0];
    // Cleared, so picking the same file again (how a large video continues) is a change too.
    input.value = "";
    if (file) void share(file);
  });

  async function share(file: File): Promise<void> {
    // Until the SDK hands the upload over: it reads the file's ends and may copy it onto the device.
    const preparing = el(
      "li",
      { class: "upload", "data-testid": "upload-preparing" },
      el("span", { class: "upload-name", dir: "auto" }, file.name),
      el("span", { class: "upload-state" }, "preparing…"),
    );
    element.prepend(preparing);
    options.onError(null);
    try {
      const upload = await conversation.shareVideo(file);
      if (!disposed) show(upload);
    } catch (err) {
      options.onError(`The video could not be shared: ${errorMessage(err)}`);
    } finally {
      preparing.remove();
    }
  }

  /** Adds a row for `upload` unless it has one (sharing the same file again continues that upload). */
  function show(upload: VideoUpload): void {
    if (rows.has(upload.id)) return;
    const row = uploadRow(upload, {
      remove: () => drop(upload.id),
      onCancelFailed: (err) => options.onError(`Cancelled here, but the server could not be told: ${errorMessage(err)}`),
      onChange: changed,
    });
    rows.set(upload.id, { upload, row });
    // Newest first: on a phone the list shows only its first rows without scrolling.
    element.prepend(row.element);
    changed();
  }

  function drop(id: string): void {
    const entry = rows.get(id);
    rows.delete(id);
    entry?.row.dispose();
    entry?.row.element.remove();
    changed();
  }

  for (const upload of client.pendingUploads()) {
    if (upload.conversationId === conversation.id) show(upload);
  }
  started = true;

  return {
    element,
    attach: el("span", { class: "attach-video" }, button, input),
    sending: (videoId) =>
      [...rows.values()].some(({ upload }) => upload.videoId === videoId || (upload.videoId === null && UNFINISHED.has(upload.state))),
    pickFile: () => input.click(),
    dispose() {
      disposed = true;
      for (const id of [...rows.keys()]) drop(id);
    },
  };
}

interface RowOptions {
  remove(): void;
  onCancelFailed(err: unknown): void;
  /** The upload changed state, or the server created it (its video id is known). */
  onChange(): void;
}

/** One upload: name, state, progress bar and byte count, buttons; follows the upload's events. */
function uploadRow(upload: VideoUpload, options: RowOptions): View {
  const state = el("span", { class: "upload-state", "data-testid": "upload-state", role: "status" });
  const bar = el("progress", { "data-testid": "upload-progress", "aria-label": `Sending ${upload.filename}` });
  const amount = el("span", { class: "upload-amount", "data-testid": "upload-amount" });
  const pause = actionButton("Pause", "upload-pause", () => upload.pause());
  const resume = actionButton("Resume", "upload-resume", () => upload.resume());
  const cancel = actionButton("Cancel", "upload-cancel", () => void upload.abort().catch(options.onCancelFailed));
  const dismiss = actionButton("Dismiss", "upload-dismiss", options.remove);
  const element = el(
    "li",
    { class: "upload", "data-testid": "upload", "data-upload-id": upload.id },
    el("span", { class: "upload-name", dir: "auto", title: upload.filename }, upload.filename),
    state,
    bar,
    amount,
    el("span", { class: "upload-actions" }, pause, resume, cancel, dismiss),
  );
  if (!upload.queued) element.append(el("p", { class: "upload-note", "data-testid": "upload-note" }, LARGE_VIDEO_NOTE));

  let error = "";
  let linger: ReturnType<typeof setTimeout> | undefined;
  let videoId = upload.videoId;
  const render = () => {
    const now = upload.state;
    element.dataset.state = now;
    // Unchanged words stay the same text node: a screen reader announces this status on every change.
    setContent(state, [stateWords(upload, error)]);
    showProgress(bar, amount, upload);
    if (videoId === null && upload.videoId !== null) {
      videoId = upload.videoId;
      options.onChange();
    }
    const running = now === "uploading" || now === "waiting";
    pause.hidden = !running;
    resume.hidden = now !== "paused";
    cancel.hidden = !running && now !== "paused";
    dismiss.hidden = now !== "failed";
    if (now === "aborted" || now === "stopped") options.remove();
    else if (now === "done") linger ??= setTimeout(options.remove, DONE_LINGER_MS);
  };
  const offProgress = upload.on("progress", render);
  const offState = upload.on("state", (event) => {
    if (event.error) error = errorMessage(event.error);
    render();
    options.onChange();
  });
  render();

  return {
    element,
    dispose() {
      offProgress();
      offState();
      clearTimeout(linger);
    },
  };
}

function stateWords(upload: VideoUpload, error: string): string {
  const now = upload.state;
  if (now === "waiting") return WAITING_WORDS[upload.waitingFor ?? "network"](upload.retryAt);
  return now === "failed" ? `${STATE_WORDS.failed}: ${error}` : STATE_WORDS[now];
}

/**
 * The bar and "163.8 KB of 333.5 KB (49%)". The exact byte counts are on the bar as data
 * attributes, for tests and tools; the percent is rounded down, so 100% means every byte.
 */
function showProgress(bar: HTMLProgressElement, amount: HTMLElement, upload: VideoUpload): void {
  const { bytesSent, bytesTotal } = upload.progress;
  const percent = bytesTotal > 0 ? Math.floor((bytesSent * 100) / bytesTotal) : 0;
  bar.max = Math.max(bytesTotal, 1);
  bar.value = bytesSent;
  bar.dataset.sent = String(bytesSent);
  bar.dataset.total = String(bytesTotal);
  bar.dataset.percent = String(percent);
  amount.textContent = `${formatBytes(bytesSent)} of ${formatBytes(bytesTotal)} (${percent}%)`;
}

function actionButton(label: string, testId: string, onClick: () => void): HTMLButtonElement {
  const button = el("button", { type: "button", "data-testid": testId }, label);
  button.addEventListener("click", onClick);
  return button;
}
