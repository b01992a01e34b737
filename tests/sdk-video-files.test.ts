/**
 * The device's file store for videos waiting to upload (`StorageAdapter.files`): one contract,
 * run against every implementation (memory, IndexedDB on fake-indexeddb, Node files).
 */
import "fake-indexeddb/auto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileStorage, indexedDbFiles, memoryFiles, type FileStore } from "@wbk/client-sdk/node";
import { afterAll, describe, expect, it } from "vitest";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
});

const implementations: Array<[string, () => FileStore]> = [
  ["memory", () => memoryFiles()],
  ["IndexedDB", () => indexedDbFiles()],
  [
    "Node files",
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "wbk-files-"));
      dirs.push(dir);
      return fileStorage(dir).files!;
    },
  ],
];

const bytes = (from: number, length: number) => Uint8Array.from({ length }, (_, i) => (from + i) % 251);

describe.each(implementations)("FileStore contract: %s", (_name, make) => {
  it("appends parts and reads any range across them, short at the end", async () => {
    const files = make();
    const name = "wbk:user-1:video:abc";
    await files.append(name, bytes(0, 1000));
    await files.append(name, bytes(1000, 24));
    await files.append(name, bytes(1024, 3000));
    expect(await files.read(name, 0, 4024)).toEqual(bytes(0, 4024));
    expect(await files.read(name, 990, 1030)).toEqual(bytes(990, 40));
    expect(await files.read(name, 1000, 1024)).toEqual(bytes(1000, 24));
    expect(await files.read(name, 4000, 5000)).toEqual(bytes(4000, 24));
    expect(await files.read(name, 4024, 5000)).toEqual(new Uint8Array(0));
    expect(await files.read(name, 5000, 6000)).toEqual(new Uint8Array(0));
  });

  it("keeps a copy of what it was given, lists by prefix, and removes one file only", async () => {
    const files = make();
    const given = bytes(7, 10);
    await files.append("wbk:u1:video:a", given);
    given.fill(0);
    await files.append("wbk:u1:video:b", bytes(0, 5));
    await files.append("wbk:u2:video:c", bytes(0, 5));
    expect(await files.read("wbk:u1:video:a", 0, 10)).toEqual(bytes(7, 10));
    expect((await files.list("wbk:u1:")).sort()).toEqual(["wbk:u1:video:a", "wbk:u1:video:b"]);
    expect(await files.list("wbk:u3:")).toEqual([]);
    await files.remove("wbk:u1:video:a");
    await files.remove("wbk:u1:video:never");
    expect(await files.list("wbk:u1:")).toEqual(["wbk:u1:video:b"]);
    expect(await files.read("wbk:u2:video:c", 0, 5)).toEqual(bytes(0, 5));
    await expect(files.read("wbk:u1:video:a", 0, 1)).rejects.toThrow();
  });

  it("names with any characters stay apart (a user id is part of the name)", async () => {
    const files = make();
    await files.append("wbk:ü/1:video:x y", bytes(1, 3));
    await files.append("wbk:ü/1:video:x", bytes(2, 3));
    expect(await files.read("wbk:ü/1:video:x y", 0, 3)).toEqual(bytes(1, 3));
    expect(await files.read("wbk:ü/1:video:x", 0, 3)).toEqual(bytes(2, 3));
    expect((await files.list("wbk:ü/1:")).sort()).toEqual(["wbk:ü/1:video:x", "wbk:ü/1:video:x y"]);
  });
});
