/**
 * Where the device keeps conversations and videos waiting to upload. One small interface;
 * IndexedDB (y-indexeddb) in browsers, memory when the app asks for it or nothing else exists,
 * and a Node adapter in `@wbk/client-sdk/node`.
 */
import * as idb from "lib0/indexeddb";
import { IndexeddbPersistence, PREFERRED_TRIM_SIZE } from "y-indexeddb";
import * as Y from "yjs";

/** The local copy of one document. */
export interface DocumentStore {
  /** Resolves once the saved state is in the doc; every later update is saved. */
  readonly whenLoaded: Promise<void>;
  /** Resolves once every update made to the doc so far is on the device. */
  flush(): Promise<void>;
  /** Stops saving (the data stays). */
  close(): Promise<void>;
  /** Stops saving and deletes this document's data. */
  clear(): Promise<void>;
}

export interface StorageAdapter {
  /** false: nothing survives a restart, and own messages stay `unsaved` until sent. */
  readonly persistent: boolean;
  /**
   * Loads the document's saved state into `doc` and saves every later update. `onError` hears
   * of the first failure (storage closed, quota exceeded); from then on `flush` rejects and
   * `whenLoaded` still resolves, so the app keeps working from memory.
   */
  open(name: string, doc: Y.Doc, onError?: (error: unknown) => void): DocumentStore;
  /** Deletes every document whose name starts with `prefix` (a user's data at logout). */
  clearPrefix(prefix: string): Promise<void>;
  /**
   * Small values the client keeps between runs (the signed-in user, for offline starts; the
   * upload queue and resume entries of `shareVideo`).
   */
  readMeta(key: string): Promise<string | null>;
  writeMeta(key: string, value: string | null): Promise<void>;
  /**
   * Large files kept between runs: copies of videos shared while offline, so they upload after
   * a restart. Optional: without it (or when not `persistent`) nothing is copied, and an
   * unfinished upload resumes only when the app shares the same file again.
   */
  readonly files?: FileStore;
}

/**
 * Byte files written front to back and read by range. Names are the SDK's (per-user prefixes,
 * like documents), never a user's file name.
 */
export interface FileStore {
  /** Appends bytes to the file `name`, creating it; resolves once they are on the device. */
  append(name: string, bytes: Uint8Array): Promise<void>;
  /** Bytes `start` (inclusive) to `end` (exclusive); fewer at the end of the file; rejects when there is no such file. */
  read(name: string, start: number, end: number): Promise<Uint8Array>;
  /** Deletes the file; nothing when there is none. */
  remove(name: string): Promise<void>;
  /** Names of the files that start with `prefix`. */
  list(prefix: string): Promise<string[]>;
}

/** Bytes `start`..`end` of the parts of a file, each stored whole with its offset. */
function joinParts(parts: Array<{ offset: number; bytes: Uint8Array }>, start: number, end: number): Uint8Array {
  const last = parts.at(-1);
  const size = last ? last.offset + last.bytes.byteLength : 0;
  const out = new Uint8Array(Math.max(0, Math.min(end, size) - start));
  for (const { offset, bytes } of parts) {
    const from = Math.max(start, offset);
    const to = Math.min(end, offset + bytes.byteLength);
    if (from < to) out.set(bytes.subarray(from - offset, to - offset), from - start);
  }
  return out;
}

function missingFile(name: string): Error {
  return Object.assign(new Error(`no stored file ${name}`), { code: "ENOENT" });
}

/** Files in memory: the reference implementation of FileStore (nothing survives a restart). */
export function memoryFiles(): FileStore {
  const files = new Map<string, Array<{ offset: number; bytes: Uint8Array }>>();
  return {
    async append(name, bytes) {
      const parts = files.get(name) ?? [];
      const last = parts.at(-1);
      parts.push({ offset: last ? last.offset + last.bytes.byteLength : 0, bytes: bytes.slice() });
      files.set(name, parts);
    },
    async read(name, start, end) {
      const parts = files.get(name);
      if (!parts) throw missingFile(name);
      return joinParts(parts, start, end);
    },
    async remove(name) {
      files.delete(name);
    },
    async list(prefix) {
      return [...files.keys()].filter((n) => n.startsWith(prefix));
    },
  };
}

/** Keeps nothing: for tests, kiosks, or apps that opt out of local saving. */
export function memoryStorage(): StorageAdapter {
  const meta = new Map<string, string>();
  return {
    persistent: false,
    open: () => ({
      whenLoaded: Promise.resolve(),
      flush: () => Promise.resolve(),
      close: () => Promise.resolve(),
      clear: () => Promise.resolve(),
    }),
    clearPrefix: () => Promise.resolve(),
    readMeta: async (key) => meta.get(key) ?? null,
    writeMeta: async (key, value) => {
      if (value === null) meta.delete(key);
      else meta.set(key, value);
    },
    files: memoryFiles(),
  };
}

const META_DB = "wbk-meta";
const FILES_DB = "wbk-files";

/**
 * Files in IndexedDB: one record per appended part, keyed `[name, offset, end]`, so a range read
 * finds its parts from the keys alone and loads only those.
 */
export function indexedDbFiles(): FileStore {
  let db: Promise<IDBDatabase> | null = null;
  const parts = async (access: "readonly" | "readwrite") => {
    db ??= idb.openDB(FILES_DB, (d) => idb.createStores(d, [["parts"]]));
    return idb.transact(await db, ["parts"], access)[0] as IDBObjectStore;
  };
  type PartKey = [string, number, number];
  // Arrays sort element by element and a shorter prefix first; any array sorts after numbers.
  const whole = (name: string) => idb.createIDBKeyRangeBound([name], [name, []], false, false);
  const keysOf = async (range: IDBKeyRange): Promise<PartKey[]> => (await idb.getAllKeys(await parts("readonly"), range)) as unknown as PartKey[];
  return {
    async append(name, bytes) {
      const last = (await keysOf(whole(name))).at(-1);
      const offset = last ? last[2] : 0;
      const store = await parts("readwrite");
      const committed = new Promise<void>((resolve, reject) => {
        store.transaction.oncomplete = () => resolve();
        store.transaction.onabort = () => reject(store.transaction.error ?? new Error("IndexedDB write aborted"));
      });
      await idb.put(store, bytes.slice() as unknown as ArrayBuffer, [name, offset, offset + bytes.byteLength]);
      await committed;
    },
    async read(name, start, end) {
      const keys = await keysOf(whole(name));
      if (keys.length === 0) throw missingFile(name);
      const store = await parts("readonly");
      const found = await Promise.all(
        keys
          .filter(([, offset, to]) => offset < end && to > start)
          .map(async (key) => ({ offset: key[1], bytes: new Uint8Array((await idb.get(store, key)) as ArrayBuffer) })),
      );
      return joinParts(found, start, end);
    },
    async remove(name) {
      await idb.del(await parts("readwrite"), whole(name));
    },
    async list(prefix) {
      const range = idb.createIDBKeyRangeBound([prefix], [`${prefix}\uffff`], false, false);
      const names = new Set((await keysOf(range)).map(([name]) => name));
      return [...names].filter((n) => n.startsWith(prefix));
    },
  };
}

/** IndexedDB through y-indexeddb: one database per document. */
export function indexedDbStorage(): StorageAdapter {
  let metaDb: Promise<IDBDatabase> | null = null;
  const meta = async (access: "readonly" | "readwrite") => {
    metaDb ??= idb.openDB(META_DB, (db) => idb.createStores(db, [["meta"]]));
    return idb.transact(await metaDb, ["meta"], access)[0] as IDBObjectStore;
  };
  return {
    persistent: true,
    open(name, doc, onError) {
      const persistence = new IndexeddbPersistence(name, doc);
      let failure: unknown = null;
      const fail = (error: unknown) => {
        if (failure !== null) return;
        failure = error ?? new Error("IndexedDB failed");
        onError?.(failure);
      };
      // y-indexeddb's own writer lets a closed database or a full quota escape as exceptions
      // and unhandled rejections; this one reports them instead (same store layout).
      doc.off("update", persistence._storeUpdate);
      let compacting = false;
      // lib0 types these values as ArrayBuffer; IndexedDB stores the Uint8Array as y-indexeddb does.
      const compact = async (db: IDBDatabase) => {
        const [updates] = idb.transact(db, ["updates"]) as IDBObjectStore[];
        const lastKey = await idb.getLastKey(updates!);
        await idb.addAutoKey(updates!, Y.encodeStateAsUpdate(doc) as unknown as ArrayBuffer);
        await idb.del(updates!, idb.createIDBKeyRangeUpperBound(lastKey, false));
        persistence._dbsize = 1;
      };
      const write = (update: Uint8Array, origin: unknown) => {
        const db = persistence.db;
        if (origin === persistence || !db || failure !== null) return;
        try {
          const [updates] = idb.transact(db, ["updates"]) as IDBObjectStore[];
          idb.addAutoKey(updates!, update as unknown as ArrayBuffer).catch(fail);
          if (++persistence._dbsize >= PREFERRED_TRIM_SIZE && !compacting) {
            compacting = true;
            compact(db)
              .catch(fail)
              .finally(() => (compacting = false));
          }
        } catch (error) {
          fail(error);
        }
      };
      doc.on("update", write);
      return {
        whenLoaded: new Promise<void>((resolve) => {
          void persistence.whenSynced.then(() => resolve());
          persistence._db.catch((error: unknown) => {
            fail(error);
            resolve();
          });
        }),
        async flush() {
          if (failure !== null) throw failure;
          // Each update is its own readwrite transaction; a later readonly transaction on the
          // same store runs only after those have committed.
          const db = await persistence._db;
          const [updates] = idb.transact(db, ["updates"], "readonly") as IDBObjectStore[];
          await idb.count(updates!);
          if (failure !== null) throw failure;
        },
        close: async () => {
          doc.off("update", write);
          await persistence.destroy();
        },
        clear: async () => {
          doc.off("update", write);
          await persistence.clearData();
        },
      };
    },
    async clearPrefix(prefix) {
      const databases = (await indexedDB.databases?.()) ?? [];
      await Promise.all(
        databases
          .map((d) => d.name)
          .filter((n): n is string => typeof n === "string" && n.startsWith(prefix))
          .map((n) => idb.deleteDB(n)),
      );
    },
    async readMeta(key) {
      const value = await idb.get(await meta("readonly"), key);
      return typeof value === "string" ? value : null;
    },
    async writeMeta(key, value) {
      const store = await meta("readwrite");
      await (value === null ? idb.del(store, key) : idb.put(store, value, key));
    },
    files: indexedDbFiles(),
  };
}

/** IndexedDB where the platform has it, memory elsewhere. */
export function defaultStorage(): StorageAdapter {
  return typeof indexedDB !== "undefined" ? indexedDbStorage() : memoryStorage();
}
