/**
 * The `/collab` WebSocket on the shared HTTP port: upgrades go to Hocuspocus 4's
 * `handleConnection`, each frame and the close are forwarded by hand, and a ping sweep
 * ends half-open TCP connections that would otherwise hold documents in memory.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Hocuspocus } from "@hocuspocus/server";
import { closeEventFor } from "@wbk/shared";
import * as decoding from "lib0/decoding";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { readSessionCookie } from "../http/cookies.js";
import type { Logger } from "../log.js";
import type { SocketContext } from "./authenticate.js";
import type { SocketRegistry } from "./sockets.js";

export const COLLAB_PATH = "/collab";
/** Framing around one update (document name, message types, lengths). */
const FRAME_OVERHEAD = 4096;
const MESSAGE_CLOSE = 7;
/** Hocuspocus's application-level heartbeat: the server sends Ping, providers answer Pong. */
const PING = new Uint8Array([9]);
const MESSAGE_PONG = 10;

/** Document name and message type of a Hocuspocus frame; null when it cannot be read. */
function readHeader(bytes: Uint8Array): { name: string; type: number } | null {
  try {
    const decoder = decoding.createDecoder(bytes);
    const address = decoding.readVarString(decoder);
    const separator = address.indexOf("\0");
    return { name: separator === -1 ? address : address.slice(0, separator), type: decoding.readVarUint(decoder) };
  } catch {
    return null;
  }
}

export interface CollabTransportOptions {
  hocuspocus: Hocuspocus;
  sockets: SocketRegistry;
  maxUpdateBytes: number;
  /** How often sockets are pinged at the TCP level and sessions re-checked. */
  pingIntervalMs: number;
  /**
   * How often every socket gets an application-level Ping: browsers cannot see WebSocket
   * pings, so this is what lets a client notice a silent (half-open) connection.
   */
  heartbeatIntervalMs: number;
  logger: Logger;
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export function attachCollab(server: Server, options: CollabTransportOptions): { close(): Promise<void> } {
  const { hocuspocus, sockets, logger } = options;
  const maxFrame = options.maxUpdateBytes + FRAME_OVERHEAD;
  // ws refuses frames past maxPayload with 1009; below that we answer 4413 ourselves.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxFrame * 2 });
  const alive = new WeakSet<WebSocket>();

  const onConnection = (ws: WebSocket, req: IncomingMessage) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
      else if (Array.isArray(value)) headers.set(name, value.join(", "));
    }
    const request = new Request(`http://${req.headers.host ?? "localhost"}${req.url ?? "/"}`, { headers });
    const context: SocketContext = { ws, cookieToken: readSessionCookie(req.headers.cookie) };
    sockets.add(ws);
    alive.add(ws);
    const client = hocuspocus.handleConnection(ws as unknown as globalThis.WebSocket, request, context);
    ws.on("message", (data) => {
      const bytes = toBytes(data);
      if (bytes.byteLength > maxFrame) {
        const event = closeEventFor("payload_too_large");
        ws.close(event.code, event.reason);
        return;
      }
      if (bytes.byteLength === 1 && bytes[0] === MESSAGE_PONG) {
        // Hocuspocus itself cannot parse a bare Pong; it only says the client is alive.
        alive.add(ws);
        return;
      }
      const header = readHeader(bytes);
      // A provider detaching a document the server already closed (refusal, removal) still sends
      // CLOSE; Hocuspocus would queue it and replay it onto the next open of that document.
      if (header?.type === MESSAGE_CLOSE && !sockets.hasDocument(ws, header.name)) return;
      client.handleMessage(bytes);
    });
    ws.on("pong", () => alive.add(ws));
    ws.on("close", (code, reason) => {
      sockets.remove(ws);
      client.handleClose({ code, reason: reason.toString() });
    });
    ws.on("error", (error) => logger.warn({ err: error }, "socket error"));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== COLLAB_PATH) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n");
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  };
  server.on("upgrade", onUpgrade);

  const sweep = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
    sockets.sweep();
  }, options.pingIntervalMs);
  sweep.unref();
  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) if (ws.readyState === ws.OPEN) ws.send(PING);
  }, options.heartbeatIntervalMs);
  heartbeat.unref();

  return {
    close() {
      clearInterval(sweep);
      clearInterval(heartbeat);
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      // Settles once every socket's close handler has run (its disconnect is logged).
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
