/**
 * Node entry: `createChatClient` with the `ws` WebSocket (Node 20 has none built in) and video
 * files by path for `shareVideo`, and `fileStorage(dir)`, the device store for Node and
 * Electron apps.
 */
import WebSocket from "ws";
import { createChatClient as createBase, type ChatClient } from "../index.js";
import type { ChatClientOptions } from "../types.js";
import { fileSource } from "./fileSource.js";

/**
 * `ws` throws an error event that nobody listens to. The provider drops its listeners before
 * closing a socket that is still connecting (a reconnect during an outage), and `ws` then
 * reports "closed before the connection was established" into the void: this keeps that
 * from crashing the app. Errors still reach the provider while it listens.
 */
class NodeWebSocket extends WebSocket {
  constructor(...args: ConstructorParameters<typeof WebSocket>) {
    super(...args);
    this.on("error", () => undefined);
  }
}

export function createChatClient(options: ChatClientOptions = {}): ChatClient {
  return createBase({ WebSocket: NodeWebSocket, openFile: fileSource, ...options });
}

export * from "../index.js";
export { fileStorage } from "./fileStorage.js";
