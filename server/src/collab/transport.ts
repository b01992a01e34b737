/**
 * The `/collab` WebSocket on the shared HTTP port: upgrades go to Hocuspocus 4's
 * `handleConnection`, each frame and the close are forwarded by hand, and a ping sweep
 * ends half-open TCP connections that would otherwise hold documents in memory.
 *
 * An upgrade that carries the `wbk_session` cookie from a page of another origin is answered
 * with an HTTP 403 and the csrf_rejected JSON body instead of a socket: nothing opens, and
 * non-browser clients can read why (browsers only see the WebSocket fail).
 */
import { STATUS_CODES, type IncomingMessage, type Server } from "node:http";
import type { Duplex } from "node:stream";
import type { Hocuspocus } from "@hocuspocus/server";
import { WbkError, closeEventFor, conversationIdFromDocument } from "@wbk/shared";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import { readSessionCookie } from "../http/cookies.js";
import { csrfRejected, type OriginPolicy } from "../http/crossOrigin.js";
import type { Logger } from "../log.js";
import type { SocketContext } from "./authenticate.js";
import { FRAME, permissionDenied, readFrame } from "./frames.js";
import type { SocketRegistry } from "./sockets.js";

export const COLLAB_PATH = "/collab";
/** Framing around one update (document name, message types, lengths). */
const FRAME_OVERHEAD = 4096;
/** How long an Auth without an answer yet counts against MAX_DOCS_PER_SOCKET. */
const PENDING_AUTH_MS = 30_000;
/** Hocuspocus's application-level heartbeat: the server sends Ping, providers answer Pong. */
const PING = new Uint8Array([9]);
const MESSAGE_PONG = 10;
/**
 * Presence frames one socket has handled per conversation per second. Each costs Hocuspocus a
 * scratch document and awareness to check, and one member sending thousands a second held the
 * event loop for seconds. Later ones wait for the next second, and of those only the newest is
 * handled: a presence frame states the sender's whole presence, so the newest says it all.
 */
const PRESENCE_FRAMES_PER_SECOND = 10;

/**
 * Whether Hocuspocus has this address open on the socket, or an Auth for it under way: the
 * routing tables of its ClientConnection (private in the typings; if they move, nothing is
 * filtered).
 */
function isRouted(client: unknown, address: string, name: string): boolean {
  const { documentConnections: open, incomingMessageQueue: opening } = client as {
    documentConnections?: object;
    incomingMessageQueue?: object;
  };
  if (typeof open !== "object" || typeof opening !== "object") return true;
  return Object.hasOwn(open, address) || Object.hasOwn(open, name) || Object.hasOwn(opening, address);
}

/**
 * Tells Hocuspocus's idle check (WS_IDLE_TIMEOUT_MS) that the socket is alive. It counts only
 * the frames it parses, and the bare Pong is answered here, so a signed-in socket with nothing
 * to sync was closed as idle although it answered every heartbeat. Private in the typings.
 */
function touch(client: unknown): void {
  const state = client as { lastMessageReceivedAt?: unknown };
  if (typeof state.lastMessageReceivedAt === "number") state.lastMessageReceivedAt = Date.now();
}

/** PRESENCE_FRAMES_PER_SECOND for one socket, per conversation. */
class PresencePacer {
  private readonly byDocument = new Map<string, { since: number; count: number; waiting: Uint8Array | null; timer: NodeJS.Timeout | null }>();

  constructor(private readonly handle: (bytes: Uint8Array) => void) {}

  offer(document: string, bytes: Uint8Array): void {
    const now = Date.now();
    let state = this.byDocument.get(document);
    if (!state || now - state.since >= 1000) {
      if (state?.timer) clearTimeout(state.timer);
      state = { since: now, count: 0, waiting: null, timer: null };
      this.byDocument.set(document, state);
    }
    if (state.count < PRESENCE_FRAMES_PER_SECOND) {
      state.count += 1;
      this.handle(bytes);
      return;
    }
    state.waiting = bytes;
    if (state.timer) return;
    const current = state;
    current.timer = setTimeout(() => {
      current.timer = null;
      const waiting = current.waiting;
      current.waiting = null;
      current.since = Date.now();
      current.count = waiting ? 1 : 0;
      if (waiting) this.handle(waiting);
    }, current.since + 1000 - now);
    current.timer.unref();
  }

  stop(): void {
    for (const state of this.byDocument.values()) if (state.timer) clearTimeout(state.timer);
    this.byDocument.clear();
  }
}

export interface CollabTransportOptions {
  hocuspocus: Hocuspocus;
  sockets: SocketRegistry;
  maxUpdateBytes: number;
  /** MAX_DOCS_PER_SOCKET, counted here over conversations asked for and not yet open too. */
  maxDocsPerSocket: number;
  /** How often sockets are pinged at the TCP level and sessions re-checked. */
  pingIntervalMs: number;
  /**
   * How often every socket gets an application-level Ping: browsers cannot see WebSocket
   * pings, so this is what lets a client notice a silent (half-open) connection.
   */
  heartbeatIntervalMs: number;
  /** Own origin and CORS_ORIGINS: who may open a socket with the cookie. */
  origins: OriginPolicy;
  logger: Logger;
}

/** Answers an upgrade with an HTTP error and the JSON error body, and closes the connection. */
function refuseUpgrade(socket: Duplex, error: WbkError): void {
  const body = JSON.stringify(error.toBody());
  socket.end(
    `HTTP/1.1 ${error.status} ${STATUS_CODES[error.status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
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
    /**
     * Conversations this socket asked for that are not open yet. The registry counts open ones
     * only once they have loaded, so a burst of Auth frames would pass MAX_DOCS_PER_SOCKET (and
     * trip Hocuspocus's own pending cap, which resets the socket outside the catalogue).
     */
    const asked = new Map<string, number>();
    const admitAuth = (name: string): boolean => {
      const now = Date.now();
      for (const [pending, at] of asked) {
        if (sockets.hasDocument(ws, pending) || now - at > PENDING_AUTH_MS) asked.delete(pending);
      }
      if (sockets.hasDocument(ws, name) || asked.has(name)) return true;
      if (sockets.documentCount(ws) + asked.size >= options.maxDocsPerSocket) return false;
      asked.set(name, now);
      return true;
    };
    const presence = new PresencePacer((bytes) => {
      // A frame that waited: the document may have been closed on this socket meanwhile, and
      // Hocuspocus would replay it onto the next open (see the routing check below).
      const header = readFrame(bytes);
      if (ws.readyState === ws.OPEN && header && isRouted(client, header.address, header.name)) client.handleMessage(bytes);
    });
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
        touch(client);
        return;
      }
      const header = readFrame(bytes);
      if (!header) {
        // Not a frame a client sends (Hocuspocus would answer outside the catalogue).
        const event = closeEventFor("validation_failed");
        ws.close(event.code, event.reason);
        return;
      }
      if (conversationIdFromDocument(header.name) === null || header.address !== header.name) {
        // Never a conversation: answered here, so names like "__proto__" never reach
        // Hocuspocus's lookup tables (plain objects). Nor a second address for one conversation
        // (`name\0suffix`, Hocuspocus's session routing, which the SDK does not use): each
        // address would get its own copy of every broadcast.
        if (header.type === FRAME.auth) ws.send(permissionDenied(header.address, "forbidden"));
        return;
      }
      if (header.type === FRAME.auth && !admitAuth(header.name)) {
        ws.send(permissionDenied(header.address, "limit_exceeded"));
        return;
      }
      // A provider detaching a document the server already closed (refusal, removal) still sends
      // CLOSE; Hocuspocus would queue it and replay it onto the next open of that document.
      if (header.type === FRAME.close && !sockets.hasDocument(ws, header.name)) return;
      // Likewise any frame but Auth for a document the server closed on this socket: the client
      // sent it before it learnt (a refused change goes out in sync step 2 and again as an
      // update), and replayed onto the next open it would get that one refused too.
      if (header.type !== FRAME.auth && !isRouted(client, header.address, header.name)) return;
      if (header.type === FRAME.awareness) {
        presence.offer(header.name, bytes);
        return;
      }
      client.handleMessage(bytes);
    });
    ws.on("pong", () => alive.add(ws));
    ws.on("close", (code, reason) => {
      presence.stop();
      sockets.remove(ws);
      client.handleClose({ code, reason: reason.toString() });
    });
    ws.on("error", (error) => logger.warn({ err: error }, "socket error"));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname;
    if (path !== COLLAB_PATH) {
      refuseUpgrade(socket, new WbkError("not_found", `no WebSocket at ${path}; use ${COLLAB_PATH}`));
      return;
    }
    const header = (name: string) => {
      const value = req.headers[name];
      return Array.isArray(value) ? value.join(", ") : value;
    };
    const scheme = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
    if (readSessionCookie(req.headers.cookie) !== null && options.origins.isForeign(header, scheme)) {
      logger.info({ origin: req.headers.origin ?? null }, "cross-origin cookie socket refused");
      refuseUpgrade(socket, csrfRejected());
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
      sockets.stop();
      server.off("upgrade", onUpgrade);
      for (const ws of wss.clients) ws.terminate();
      // Settles once every socket's close handler has run (its disconnect is logged).
      return new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
