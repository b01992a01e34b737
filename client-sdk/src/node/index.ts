/**
 * Node entry: `createChatClient` with the `ws` WebSocket (Node 20 has none built in).
 * A file-backed store for Node apps comes with the offline work; memory until then.
 */
import WebSocket from "ws";
import { createChatClient as createBase, type ChatClient } from "../index.js";
import type { ChatClientOptions } from "../types.js";

export function createChatClient(options: ChatClientOptions = {}): ChatClient {
  return createBase({ WebSocket, ...options });
}

export * from "../index.js";
