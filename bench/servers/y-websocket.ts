/**
 * The reference y-websocket server, `@y/websocket-server` 0.1.1 (the last on Yjs 13): its own
 * `setupWSConnection` and the `ws` it ships with, wired the way its `src/server.js` wires them
 * (that file reads a fixed PORT and does not report it, so it cannot listen on port 0 for us).
 * No persistence (YPERSISTENCE unset), as `npx y-websocket` runs by default.
 */
import http from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { setupWSConnection } from "@y/websocket-server/utils";
import { serving } from "./child.js";

// The `ws` the package itself resolves (its own optional dependency, ws 6), not the workspace's.
const requireFromPackage = createRequire(import.meta.resolve("@y/websocket-server/package.json"));
const WebSocket = requireFromPackage("ws") as { Server: typeof import("ws").WebSocketServer };

const wss = new WebSocket.Server({ noServer: true });
const server = http.createServer((_request, response) => {
  response.writeHead(200, { "Content-Type": "text/plain" });
  response.end("okay");
});
wss.on("connection", setupWSConnection);
server.on("upgrade", (request, socket, head) => {
  wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
});
server.listen(0, "127.0.0.1", () => {
  serving((server.address() as AddressInfo).port, () => new Promise((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    server.close(resolve);
  }));
});
