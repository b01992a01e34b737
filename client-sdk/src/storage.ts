/**
 * Where the device keeps conversations. One small interface; IndexedDB (y-indexeddb) in
 * browsers, memory when the app asks for it or nothing else exists, and a Node adapter in
 * `@wbk/client-sdk/node`.
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
  /** Small values the client keeps between runs (the signed-in user, for offline starts). */
  readMeta(key: string): Promise<string | null>;
  writeMeta(key: string, value: string | null): Promise<void>;
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
  };
}

const META_DB = "wbk-meta";

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
  };
}

/** IndexedDB where the platform has it, memory elsewhere. */
export function defaultStorage(): StorageAdapter {
  return typeof indexedDB !== "undefined" ? indexedDbStorage() : memoryStorage();
}
