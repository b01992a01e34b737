/** Video files by path for `shareVideo` in Node: read by range from an open file, never whole. */
import fsp from "node:fs/promises";
import path from "node:path";
import type { VideoSource } from "../videos/source.js";

/** What a file's extension claims (the server decides by content; this only fills `filetype`). */
const TYPES: Record<string, string> = {
  ".mp4": "video/mp4",
  ".m4v": "video/mp4",
  ".mov": "video/quicktime",
  ".webm": "video/webm",
  ".mkv": "video/x-matroska",
};

/** Bytes `start`..`end` of an open file; fewer only at its end. */
export async function readRange(handle: fsp.FileHandle, start: number, end: number): Promise<Uint8Array> {
  const buffer = Buffer.alloc(Math.max(0, end - start));
  let filled = 0;
  while (filled < buffer.length) {
    const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, start + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return new Uint8Array(buffer.buffer, buffer.byteOffset, filled);
}

/**
 * Opens the file at `filePath`; its size is the size at opening. Closed when the upload ends.
 * Node's errors (`ENOENT`…) become `read_failed` in `openVideo`.
 */
export async function fileSource(filePath: string): Promise<VideoSource> {
  const handle = await fsp.open(filePath, "r");
  try {
    const stat = await handle.stat();
    // Linux opens a folder for reading too; only its reads would fail.
    if (!stat.isFile()) throw new Error(stat.isDirectory() ? "it is a folder, not a file" : "it is not a regular file");
    const size = stat.size;
    let closed: Promise<void> | null = null;
    return {
      name: path.basename(filePath),
      type: TYPES[path.extname(filePath).toLowerCase()] ?? "",
      size,
      seekable: true,
      read: (start, end) => readRange(handle, start, end),
      close: () => (closed ??= handle.close()),
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}
