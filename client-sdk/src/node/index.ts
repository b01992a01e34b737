/**
 * Node entry: `createChatClient` with the `ws` WebSocket (Node 20 has none built in), and
 * `fileStorage(dir)`, the device store for Node and Electron apps.
 */
import WebSocket from "ws";
import { createChatClient as createBase, type ChatClient } from "../index.js";
import type { ChatClientOptions } from "../types.js";

export function createChatClient(options: ChatClientOptions = {}): ChatClient {
  return createBase({ WebSocket, ...options });
}

export * from "../index.js";

export { fileStorage } from "./fileStorage.js";
