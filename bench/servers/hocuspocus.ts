/**
 * Plain Hocuspocus 4 with its database extension on better-sqlite3 and nothing else: no
 * authentication, no checks, the default debounce of stores (2 s, at most 10 s). One row per
 * document, WAL mode like wbk-chat's database.
 */
import fs from "node:fs";
import path from "node:path";
import { Database } from "@hocuspocus/extension-database";
import { Server } from "@hocuspocus/server";
import SQLite from "better-sqlite3";
import { serving } from "./child.js";

const dataDir = process.argv[2];
if (!dataDir) throw new Error("usage: hocuspocus.ts <data dir>");
fs.mkdirSync(dataDir, { recursive: true });
const db = new SQLite(path.join(dataDir, "hocuspocus.sqlite"));
db.pragma("journal_mode = WAL");
db.exec("CREATE TABLE IF NOT EXISTS documents (name TEXT PRIMARY KEY, data BLOB NOT NULL)");
const select = db.prepare<[string], { data: Buffer }>("SELECT data FROM documents WHERE name = ?");
const upsert = db.prepare("INSERT INTO documents (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data");

const server = new Server({
  address: "127.0.0.1",
  port: 0,
  quiet: true,
  stopOnSignals: false,
  extensions: [
    new Database({
      fetch: async ({ documentName }) => {
        const row = select.get(documentName);
        return row ? new Uint8Array(row.data) : null;
      },
      store: async ({ documentName, state }) => {
        upsert.run(documentName, state);
      },
    }),
  ],
});
await server.listen(0);
serving(server.address.port, async () => {
  await server.destroy();
  db.close();
});
