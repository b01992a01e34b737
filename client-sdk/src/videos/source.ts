/**
 * Where the bytes of a shared video come from. The core reads every kind of input through one
 * small interface, so the main entry needs nothing of Node: a File/Blob in browsers, any async
 * iterable of bytes (a Node Readable, a web ReadableStream) with its size given, a stored copy,
 * or a file path opened by `@wbk/client-sdk/node`.
 */
import { ChatError } from "../errors.js";
import type { FileStore } from "../storage.js";

/** A video's bytes, read by range. Apps may implement it (e.g. over a native file API). */
export interface VideoSource {
  /** The file name to show (a path's last part, a File's name). */
  readonly name: string;
  /** The MIME type the platform claims, or "" (the server decides by content). */
  readonly type: string;
  /** Exact size in bytes. */
  readonly size: number;
  /**
   * false when the bytes can only be read once, front to back (a stream): such a source gets no
   * content fingerprint, so an upload from it resumes within this run only.
   */
  readonly seekable: boolean;
  /**
   * Bytes `start` (inclusive) to `end` (exclusive). A source that is not seekable is read in
   * increasing order; it may be asked again for a range starting anywhere in the last one.
   */
  read(start: number, end: number): Promise<Uint8Array>;
  /** Releases what the source holds (an open file, a stream). */
  close?(): void | Promise<void>;
}

/** What `shareVideo` accepts: see `ShareVideoOptions` for the size a stream needs. */
export type VideoInput = Blob | VideoSource | string | AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** Opens a file path (set by the Node entry). */
export type FileOpener = (path: string) => Promise<VideoSource>;

const isObject = (value: unknown): value is Record<PropertyKey, unknown> => typeof value === "object" && value !== null;

export function isVideoSource(value: unknown): value is VideoSource {
  return isObject(value) && typeof value.read === "function" && typeof value.size === "number" && typeof value.seekable === "boolean";
}

/** A File or Blob (also React Native's, which may lack `arrayBuffer`). */
export function blobSource(blob: Blob, name?: string): VideoSource {
  const fileName = name ?? (typeof (blob as File).name === "string" ? (blob as File).name : "");
  return {
    name: fileName,
    type: blob.type ?? "",
    size: blob.size,
    seekable: true,
    async read(start, end) {
      const part = blob.slice(start, end);
      if (typeof part.arrayBuffer === "function") return new Uint8Array(await part.arrayBuffer());
      return new Promise<Uint8Array>((resolve, reject) => {
        const reader = new FileReader();
        reader.onload = () => resolve(new Uint8Array(reader.result as ArrayBuffer));
        reader.onerror = () => reject(reader.error ?? new Error("could not read the file"));
        reader.readAsArrayBuffer(part);
      });
    },
  };
}

/**
 * A stream read once, front to back. It keeps the bytes of the last range asked for, because a
 * retry after a cut asks again from the server's offset, which lies inside that range.
 */
export function streamSource(stream: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>, info: { size: number; name: string; type: string }): VideoSource {
  const iterator = toAsyncIterator(stream);
  let kept = new Uint8Array(0);
  let keptStart = 0;
  let ended = false;
  return {
    ...info,
    seekable: false,
    async read(start, end) {
      if (start < keptStart) throw new ChatError("read_failed", "a stream cannot be read again from an earlier position");
      // Drop what lies before `start` as it goes, so only about one range stays in memory.
      const dropBefore = (position: number) => {
        const drop = Math.min(Math.max(0, position - keptStart), kept.byteLength);
        kept = kept.subarray(drop);
        keptStart += drop;
      };
      dropBefore(start);
      while (!ended && keptStart + kept.byteLength < end) {
        const next = await iterator.next();
        if (next.done) {
          ended = true;
          break;
        }
        const chunk = next.value as unknown;
        if (!(chunk instanceof Uint8Array)) throw new ChatError("read_failed", "a video stream must yield bytes (Uint8Array)");
        const joined = new Uint8Array(kept.byteLength + chunk.byteLength);
        joined.set(kept);
        joined.set(chunk, kept.byteLength);
        kept = joined;
        dropBefore(start);
      }
      return kept.slice(0, Math.max(0, end - start));
    },
    async close() {
      await iterator.return?.();
    },
  };
}

function toAsyncIterator(stream: AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>): AsyncIterator<Uint8Array> {
  if (Symbol.asyncIterator in stream) return (stream as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
  // Web streams without async iteration (Safari).
  const reader = (stream as ReadableStream<Uint8Array>).getReader();
  return {
    next: async () => {
      const { done, value } = await reader.read();
      return done ? { done: true, value: undefined } : { done: false, value };
    },
    return: async () => {
      await reader.cancel();
      return { done: true, value: undefined };
    },
  };
}

/** The copy of a video in the device's file store. */
export function storedSource(files: FileStore, file: string, info: { size: number; name: string; type: string }): VideoSource {
  return { ...info, seekable: true, read: (start, end) => files.read(file, start, end) };
}

/** Why a path could not be opened, by the error's `code` (Node's names; its messages start with them). */
const OPEN_FAILURES: Record<string, string> = {
  ENOENT: "no such file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a folder",
  EISDIR: "it is a folder, not a file",
};

/**
 * Turns what the app passed into a source; rejects with `validation_failed` for what it cannot
 * read, and `read_failed` for a path that cannot be opened.
 */
export async function openVideo(input: VideoInput, options: { size?: number; filename?: string; type?: string }, openFile?: FileOpener): Promise<VideoSource> {
  if (isVideoSource(input)) return input;
  if (typeof input === "string") {
    if (!openFile) throw new ChatError("validation_failed", "sharing a file by path needs @wbk/client-sdk/node");
    try {
      return await openFile(input);
    } catch (error) {
      if (error instanceof ChatError) throw error;
      const reason = OPEN_FAILURES[(error as { code?: string }).code ?? ""] ?? (error as Error).message;
      throw new ChatError("read_failed", `could not open the video ${input}: ${reason}`);
    }
  }
  if (isObject(input) && typeof input.slice === "function" && typeof input.size === "number") return blobSource(input as unknown as Blob);
  if (isObject(input) && (Symbol.asyncIterator in input || typeof input.getReader === "function")) {
    const size = options.size;
    if (size === undefined || !Number.isSafeInteger(size) || size < 0) {
      throw new ChatError("validation_failed", "sharing a stream needs its size in bytes (options.size)");
    }
    return streamSource(input as AsyncIterable<Uint8Array>, { size, name: options.filename ?? "", type: options.type ?? "" });
  }
  throw new ChatError("validation_failed", "shareVideo takes a File, a Blob, a stream with its size, a VideoSource or (in Node) a path");
}

/** Bytes the fingerprint reads at each end of a file. */
const EDGE_BYTES = 1024 * 1024;

/**
 * The content fingerprint resume entries are keyed by: the size and a SHA-256 of the first and
 * last MiB. Phones rename files, so the name is not part of it; reading only the ends keeps it
 * fast for a 2 GiB video. null without WebCrypto (then uploads resume within the run only).
 */
export async function contentFingerprint(source: VideoSource): Promise<string | null> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle || !source.seekable) return null;
  const head = await source.read(0, Math.min(EDGE_BYTES, source.size));
  const tail = await source.read(Math.max(0, source.size - EDGE_BYTES), source.size);
  const both = new Uint8Array(head.byteLength + tail.byteLength);
  both.set(head);
  both.set(tail, head.byteLength);
  const digest = new Uint8Array(await subtle.digest("SHA-256", both));
  const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${source.size}-${hex}`;
}

/** A file name the server takes: no control characters or line breaks, 1–255 characters. */
export function cleanFilename(name: string): string {
  let clean = name
    .replace(/^.*[\\/]/, "")
    .replace(/[\u0000-\u001F\u007F]/g, " ")
    .toWellFormed()
    .trim();
  if (clean.length === 0) clean = "video";
  while (clean.length > 255) clean = Array.from(clean).slice(0, -1).join("");
  return clean;
}
