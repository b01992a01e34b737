/**
 * Where the device keeps conversations. One small interface; IndexedDB (y-indexeddb) in
 * browsers, memory when the app asks for it or nothing else exists, and a Node adapter in
 * `@wbk/client-sdk/node`.
 */
import * as idb from "lib0/indexeddb";
import { IndexeddbPersistence } from "y-indexeddb";
import type * as Y from "yjs";

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
  open(name: string, doc: Y.Doc): DocumentStore;
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
    open(name, doc) {
      const persistence = new IndexeddbPersistence(name, doc);
      return {
        whenLoaded: persistence.whenSynced.then(() => undefined),
        async flush() {
          // y-indexeddb writes each update in its own readwrite transaction; a later readonly
          // transaction on the same store runs only after those have committed.
          const db = await persistence._db;
          const [updates] = idb.transact(db, ["updates"], "readonly");
          await idb.count(updates as IDBObjectStore);
        },
        close: () => persistence.destroy(),
        clear: () => persistence.clearData(),
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
