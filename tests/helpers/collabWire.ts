/**
 * The /collab wire by hand: Hocuspocus 4 frames over a bare `ws` socket, for tests that send
 * what no provider would (raw updates, garbage) and read exactly what the server answers.
 * A frame is `varString(document) varUint(type) payload` (lib0 encoding).
 */
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";

export const FRAME = {
  sync: 0,
  awareness: 1,
  auth: 2,
  queryAwareness: 3,
  syncReply: 4,
  stateless: 5,
  broadcastStateless: 6,
  close: 7,
  syncStatus: 8,
  ping: 9,
  pong: 10,
} as const;
const AUTH_TOKEN = 0;
const AUTH_DENIED = 1;
const AUTH_OK = 2;
const SYNC_STEP_1 = 0;
const SYNC_UPDATE = 2;

/** Any frame: the address, the type, then whatever `write` puts in. */
export function frame(document: string, type: number, write: (encoder: encoding.Encoder) => void = () => undefined): Uint8Array {
  const encoder = encoding.createEncoder();
  encoding.writeVarString(encoder, document);
  encoding.writeVarUint(encoder, type);
  write(encoder);
  return encoding.toUint8Array(encoder);
}

/** Opens `document` with a token, as a provider's first message does. */
export const authFrame = (document: string, token: string) =>
  frame(document, FRAME.auth, (e) => {
    encoding.writeVarUint(e, AUTH_TOKEN);
    encoding.writeVarString(e, token);
  });

/** A Yjs update, sent as y-protocols' "update" sync message. */
export const updateFrame = (document: string, update: Uint8Array) =>
  frame(document, FRAME.sync, (e) => {
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
  });

/** y-protocols' sync step 1: "here is my state vector". */
export const syncStep1Frame = (document: string, stateVector: Uint8Array) =>
  frame(document, FRAME.sync, (e) => {
    encoding.writeVarUint(e, SYNC_STEP_1);
    encoding.writeVarUint8Array(e, stateVector);
  });

/** What the server sent, as far as these tests read it. */
export type ServerFrame =
  | { document: string; kind: "authenticated" }
  | { document: string; kind: "denied"; reason: string }
  | { document: string; kind: "closed"; reason: string }
  | { document: string; kind: "stateless"; payload: string }
  | { document: string; kind: "other"; type: number };

export function readServerFrame(bytes: Uint8Array): ServerFrame {
  const decoder = decoding.createDecoder(bytes);
  const address = decoding.readVarString(decoder);
  const document = address.split("\0")[0] as string;
  const type = decoding.readVarUint(decoder);
  if (type === FRAME.auth) {
    const auth = decoding.readVarUint(decoder);
    if (auth === AUTH_OK) return { document, kind: "authenticated" };
    if (auth === AUTH_DENIED) return { document, kind: "denied", reason: decoding.readVarString(decoder) };
  }
  if (type === FRAME.close) return { document, kind: "closed", reason: decoding.readVarString(decoder) };
  if (type === FRAME.stateless) return { document, kind: "stateless", payload: decoding.readVarString(decoder) };
  return { document, kind: "other", type };
}

/** A bare socket to /collab that records every frame and its close. */
export class WireClient {
  readonly frames: ServerFrame[] = [];
  closed: { code: number; reason: string } | null = null;
  private waiters = new Set<() => void>();

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data: Buffer) => {
      // The server's heartbeat Ping is a bare type byte with no document.
      if (data.length > 1) this.frames.push(readServerFrame(new Uint8Array(data)));
      this.wake();
    });
    ws.on("close", (code, reason) => {
      this.closed = { code, reason: reason.toString() };
      this.wake();
    });
    ws.on("error", () => undefined);
  }

  static open(baseUrl: string): Promise<WireClient> {
    const ws = new WebSocket(`${baseUrl.replace(/^http/, "ws")}/collab`);
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new WireClient(ws)));
      ws.once("error", reject);
    });
  }

  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Sends a binary frame, or a text frame (which no provider sends). */
  send(data: Uint8Array | string): void {
    this.ws.send(data);
  }

  /** Resolves with the first frame from `from` on that `test` accepts; rejects when the socket closes first or after `timeoutMs`. */
  next<T extends ServerFrame>(test: (f: ServerFrame) => f is T, from = this.frames.length, timeoutMs = 5_000): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.slice(from).find(test);
        if (found) return done(() => resolve(found));
        if (this.closed) return done(() => reject(new Error(`socket closed ${this.closed?.code} ${this.closed?.reason}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error("no answer from the server"))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Opens `document` and waits for the server's verdict on it. */
  async authenticate(document: string, token: string): Promise<ServerFrame> {
    const from = this.frames.length;
    this.send(authFrame(document, token));
    return this.next((f): f is ServerFrame => f.document === document && (f.kind === "authenticated" || f.kind === "denied"), from);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once("close", () => resolve());
      this.ws.close();
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
