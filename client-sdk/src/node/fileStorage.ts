/**
 * The device store for Node (and Electron): one append-only file of Yjs updates per document,
 * compacted into a single snapshot whenever it grows past twice the encoded document, so local
 * storage stays bounded however often the app restarts and sends.
 *
 * File format: records of [u32 little-endian length][update bytes]. A record cut short by a
 * crash mid-write is ignored at load (its update was never reported as saved).
 */
import fs from "node:fs";
import fsp from "node:fs/promises";
import path from "node:path";
import * as Y from "yjs";
import type { DocumentStore, FileStore, StorageAdapter } from "../storage.js";
import { readRange } from "./fileSource.js";

const META_FILE = "meta.json";
const SUFFIX = ".ydoc";
/** Where kept files (videos waiting to upload) live, beside the documents. */
const FILES_DIR = "files";

function record(update: Uint8Array): Buffer {
  const header = Buffer.alloc(4);
  header.writeUInt32LE(update.byteLength, 0);
  return Buffer.concat([header, update]);
}

function readRecords(bytes: Buffer): Uint8Array[] {
  const updates: Uint8Array[] = [];
  let offset = 0;
  while (offset + 4 <= bytes.length) {
    const length = bytes.readUInt32LE(offset);
    if (offset + 4 + length > bytes.length) break; // torn final record
    updates.push(new Uint8Array(bytes.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  return updates;
}

let temporaryCount = 0;

async function writeAtomically(file: string, data: Buffer | string): Promise<void> {
  // A name of its own per write: two writes of one file at once (two clients on one folder,
  // an app restarted in-process) must not rename each other's temporary file away.
  const temporary = `${file}.${process.pid}.${++temporaryCount}.tmp`;
  const handle = await fsp.open(temporary, "w");
  try {
    await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(temporary, file);
}

class FileDocumentStore implements DocumentStore {
  readonly whenLoaded: Promise<void>;
  private chain: Promise<void> = Promise.resolve();
  private failure: unknown = null;
  private size = 0;
  private encodedSize = 0;
  private closed = false;
  private readonly onUpdate = (update: Uint8Array, origin: unknown) => {
    if (origin === this || this.closed) return;
    this.enqueue(() => this.append(update));
  };

  constructor(
    private readonly file: string,
    private readonly doc: Y.Doc,
    private readonly onError?: (error: unknown) => void,
  ) {
    this.whenLoaded = this.load().catch((error: unknown) => this.fail(error));
    this.chain = this.whenLoaded;
  }

  async flush(): Promise<void> {
    await this.chain;
    if (this.failure !== null) throw this.failure;
  }

  private fail(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error;
    this.onError?.(error);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.doc.off("update", this.onUpdate);
    await this.chain;
  }

  async clear(): Promise<void> {
    await this.close();
    await fsp.rm(this.file, { force: true });
  }

  private async load(): Promise<void> {
    let bytes: Buffer;
    try {
      bytes = await fsp.readFile(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      bytes = Buffer.alloc(0);
    }
    const updates = readRecords(bytes);
    if (updates.length > 0) {
      Y.transact(this.doc, () => updates.forEach((u) => Y.applyUpdate(this.doc, u, this)), this);
    }
    this.size = bytes.length;
    this.doc.on("update", this.onUpdate);
    await this.compactIfLarge();
  }

  private enqueue(task: () => Promise<void>): void {
    this.chain = this.chain.then(() => (this.failure === null ? task() : undefined)).catch((error: unknown) => this.fail(error));
  }

  private async append(update: Uint8Array): Promise<void> {
    const data = record(update);
    const handle = await fsp.open(this.file, "a");
    try {
      await handle.write(data);
      await handle.datasync();
    } finally {
      await handle.close();
    }
    this.size += data.length;
    // A cheap test against the size at the last check; every load checks exactly.
    if (this.size > 2 * this.encodedSize) await this.compactIfLarge();
  }

  /** Rewrites the file as one snapshot when it is over twice the encoded document. */
  private async compactIfLarge(): Promise<void> {
    const state = Y.encodeStateAsUpdate(this.doc);
    this.encodedSize = state.byteLength;
    if (this.size <= 2 * this.encodedSize) return;
    const data = record(state);
    await writeAtomically(this.file, data);
    this.size = data.length;
  }
}

/** One file per kept file under `dir`, its name URI-encoded; appends are synced to disk. */
function nodeFiles(dir: string): FileStore {
  const fileOf = (name: string) => path.join(dir, encodeURIComponent(name));
  return {
    async append(name, bytes) {
      await fsp.mkdir(dir, { recursive: true });
      const handle = await fsp.open(fileOf(name), "a");
      try {
        await handle.write(bytes);
        await handle.datasync();
      } finally {
        await handle.close();
      }
    },
    async read(name, start, end) {
      const handle = await fsp.open(fileOf(name), "r");
      try {
        return await readRange(handle, start, end);
      } finally {
        await handle.close();
      }
    },
    async remove(name) {
      await fsp.rm(fileOf(name), { force: true });
    },
    async list(prefix) {
      let entries: string[];
      try {
        entries = await fsp.readdir(dir);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
        throw error;
      }
      return entries.map((entry) => decodeURIComponent(entry)).filter((name) => name.startsWith(prefix));
    },
  };
}

/**
 * Keeps each document in `dir` (created if missing), and kept files (videos waiting to upload)
 * in `dir/files`. Documents of different users are different files; `clearPrefix` deletes one
 * user's documents at logout.
 */
export function fileStorage(dir: string): StorageAdapter {
  fs.mkdirSync(dir, { recursive: true });
  const fileOf = (name: string) => path.join(dir, `${encodeURIComponent(name)}${SUFFIX}`);
  const metaFile = path.join(dir, META_FILE);
  const readMetaObject = async (): Promise<Record<string, string>> => {
    try {
      return JSON.parse(await fsp.readFile(metaFile, "utf8")) as Record<string, string>;
    } catch {
      return {};
    }
  };
  let metaChain: Promise<void> = Promise.resolve();
  return {
    persistent: true,
    open: (name, doc, onError) => new FileDocumentStore(fileOf(name), doc, onError),
    async clearPrefix(prefix) {
      for (const entry of await fsp.readdir(dir)) {
        if (!entry.endsWith(SUFFIX)) continue;
        if (decodeURIComponent(entry.slice(0, -SUFFIX.length)).startsWith(prefix)) {
          await fsp.rm(path.join(dir, entry), { force: true });
        }
      }
    },
    readMeta: async (key) => (await readMetaObject())[key] ?? null,
    writeMeta(key, value) {
      // One failed write must not fail every later one.
      metaChain = metaChain.catch(() => undefined).then(async () => {
        const meta = await readMetaObject();
        if (value === null) delete meta[key];
        else meta[key] = value;
        await writeAtomically(metaFile, JSON.stringify(meta));
      });
      return metaChain;
    },
    files: nodeFiles(path.join(dir, FILES_DIR)),
  };
}
