/**
 * The floor: a plain `ws` server that re-sends each frame to the other sockets of its room
 * (the URL path). No CRDT, no storage, no checks.
 */
import type { AddressInfo } from "node:net";
import { WebSocketServer, type WebSocket } from "ws";
import { serving } from "./child.js";

const rooms = new Map<string, Set<WebSocket>>();
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });

wss.on("connection", (ws, request) => {
  const name = request.url ?? "/";
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = new Set()));
  room.add(ws);
  ws.on("message", (data, isBinary) => {
    for (const peer of room) if (peer !== ws) peer.send(data, { binary: isBinary });
  });
  ws.on("close", () => {
    room.delete(ws);
    if (room.size === 0) rooms.delete(name);
  });
  ws.on("error", () => ws.terminate());
});

wss.on("listening", () => {
  serving((wss.address() as AddressInfo).port, () => new Promise((resolve) => {
    for (const ws of wss.clients) ws.terminate();
    wss.close(resolve);
  }));
});
