/**
 * Benchmark clients, one socket each, all in the calling process (so one clock times every
 * delivery). Each kind speaks its server's protocol the way a real client does:
 *
 * - relay: a JSON frame per message, re-sent by the server to the room;
 * - y-websocket: y-protocols sync over `ws`, what the y-websocket provider sends (sync step 1,
 *   then updates), without awareness;
 * - hocuspocus and wbk: `@hocuspocus/provider` 4 with its own socket, awareness off (presence
 *   would add traffic unrelated to messages to these two only); wbk with the user's bearer token.
 *
 * A delivery is a message arriving at a client other than its sender: for the Yjs clients, a
 * map inserted into the document's "messages" array by a remote update.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import * as decoding from "lib0/decoding";
import * as encoding from "lib0/encoding";
import WebSocket from "ws";
import * as syncProtocol from "y-protocols/sync";
import * as Y from "yjs";

export type ServerKind = "relay" | "y-websocket" | "hocuspocus" | "wbk";

/** The message of shared/DESIGN.md's layout (a Y.Map in the Yjs servers, a JSON frame for the relay). */
export interface BenchMessage {
  id: string;
  authorId: string;
  kind: "text";
  text: string;
  /** Send time, epoch ms with sub-ms precision (`performance.timeOrigin + performance.now()`). */
  createdAt: number;
}

export interface Member {
  userId: string;
  /** Bearer token (wbk only). */
  token?: string;
}

export interface Room {
  /** Relay room / y-websocket room / Hocuspocus document name (`conversation:<id>` for wbk). */
  name: string;
  members: Member[];
}

export interface BenchClient {
  readonly member: Member;
  send(message: BenchMessage): void;
  close(): void;
}

export type OnDelivery = (id: string, createdAt: number) => void;

export interface ClientSet {
  /** clients[room][member] */
  clients: BenchClient[][];
  /** Socket closes seen while connected (each may hide a reconnect and a resync). */
  disconnects(): number;
  close(): void;
}

export const now = () => performance.timeOrigin + performance.now();

const REMOTE = Symbol("remote");

function writeMessage(doc: Y.Doc, message: BenchMessage): void {
  doc.transact(() => {
    const map = new Y.Map<unknown>();
    map.set("id", message.id);
    map.set("authorId", message.authorId);
    map.set("kind", message.kind);
    map.set("text", message.text);
    map.set("createdAt", message.createdAt);
    doc.getArray("messages").push([map]);
  });
}

/** Calls `onDelivery` for each message map a remote update inserts. */
function observeMessages(doc: Y.Doc, onDelivery: OnDelivery): void {
  doc.getArray<Y.Map<unknown>>("messages").observe((event, transaction) => {
    if (transaction.local) return;
    for (const part of event.delta) {
      if (!Array.isArray(part.insert)) continue;
      for (const map of part.insert as Array<Y.Map<unknown>>) {
        const id = map.get("id");
        const createdAt = map.get("createdAt");
        if (typeof id === "string" && typeof createdAt === "number") onDelivery(id, createdAt);
      }
    }
  });
}

/** A client that writes messages into its Y.Doc; `disconnect` ends its connection, then the doc goes. */
function yjsClient(member: Member, doc: Y.Doc, ready: Promise<void>, disconnect: () => void): Opened {
  return {
    client: {
      member,
      send: (message) => writeMessage(doc, message),
      close: () => {
        disconnect();
        doc.destroy();
      },
    },
    ready,
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

type Opened = { client: BenchClient; ready: Promise<void> };

function relayClient(port: number, room: Room, member: Member, onDelivery: OnDelivery, counters: { disconnects: number }): Opened {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${encodeURIComponent(room.name)}`);
  let closing = false;
  ws.on("message", (data: Buffer) => {
    const message = JSON.parse(data.toString("utf8")) as BenchMessage;
    onDelivery(message.id, message.createdAt);
  });
  ws.on("close", () => void (closing || counters.disconnects++));
  ws.on("error", () => undefined);
  return {
    client: {
      member,
      send: (message) => ws.send(JSON.stringify(message)),
      close: () => {
        closing = true;
        ws.terminate();
      },
    },
    ready: new Promise((resolve, reject) => {
      ws.once("open", () => resolve());
      ws.once("error", reject);
    }),
  };
}

const MESSAGE_SYNC = 0;

function yWebsocketClient(port: number, room: Room, member: Member, onDelivery: OnDelivery, counters: { disconnects: number }): Opened {
  const doc = new Y.Doc();
  observeMessages(doc, onDelivery);
  const ws = new WebSocket(`ws://127.0.0.1:${port}/${encodeURIComponent(room.name)}`);
  let closing = false;
  let synced: () => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    synced = resolve;
    ws.once("error", reject);
  });
  ws.on("open", () => {
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeSyncStep1(encoder, doc);
    ws.send(encoding.toUint8Array(encoder));
  });
  ws.on("message", (data: Buffer) => {
    const decoder = decoding.createDecoder(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    // Awareness (1) and anything else is not read: these clients announce no presence.
    if (decoding.readVarUint(decoder) !== MESSAGE_SYNC) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    const type = syncProtocol.readSyncMessage(decoder, encoder, doc, REMOTE);
    if (encoding.length(encoder) > 1) ws.send(encoding.toUint8Array(encoder));
    if (type === syncProtocol.messageYjsSyncStep2) synced();
  });
  doc.on("update", (update: Uint8Array, origin: unknown) => {
    if (origin === REMOTE || ws.readyState !== WebSocket.OPEN) return;
    const encoder = encoding.createEncoder();
    encoding.writeVarUint(encoder, MESSAGE_SYNC);
    syncProtocol.writeUpdate(encoder, update);
    ws.send(encoding.toUint8Array(encoder));
  });
  ws.on("close", () => void (closing || counters.disconnects++));
  ws.on("error", () => undefined);
  return yjsClient(member, doc, ready, () => {
    closing = true;
    ws.terminate();
  });
}

function hocuspocusClient(url: string, room: Room, member: Member, onDelivery: OnDelivery, counters: { disconnects: number }): Opened {
  const doc = new Y.Doc();
  observeMessages(doc, onDelivery);
  const socket = new HocuspocusProviderWebsocket({ url, WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket });
  let closing = false;
  socket.on("disconnect", () => void (closing || counters.disconnects++));
  const provider = new HocuspocusProvider({
    websocketProvider: socket,
    name: room.name,
    document: doc,
    token: member.token ?? null,
    awareness: null,
  });
  const ready = new Promise<void>((resolve, reject) => {
    provider.on("synced", () => resolve());
    provider.on("authenticationFailed", ({ reason }: { reason: string }) => reject(new Error(`authentication failed: ${reason}`)));
  });
  provider.attach();
  return yjsClient(member, doc, ready, () => {
    closing = true;
    provider.destroy();
    socket.destroy();
  });
}

/** Opens one client per room member, `batch` sockets at a time; resolves once every one is synced. */
export async function connectClients(kind: ServerKind, port: number, rooms: Room[], onDelivery: OnDelivery, batch = 100): Promise<ClientSet> {
  const counters = { disconnects: 0 };
  const clients: BenchClient[][] = rooms.map(() => []);
  const all: BenchClient[] = [];
  const set: ClientSet = {
    clients,
    disconnects: () => counters.disconnects,
    close: () => {
      for (const client of all) client.close();
    },
  };
  const jobs = rooms.flatMap((room, r) => room.members.map((member) => ({ room, r, member })));
  try {
    for (let i = 0; i < jobs.length; i += batch) {
      const opened = jobs.slice(i, i + batch).map(({ room, r, member }) => {
        const one =
          kind === "relay"
            ? relayClient(port, room, member, onDelivery, counters)
            : kind === "y-websocket"
              ? yWebsocketClient(port, room, member, onDelivery, counters)
              : hocuspocusClient(`ws://127.0.0.1:${port}${kind === "wbk" ? "/collab" : "/"}`, room, member, onDelivery, counters);
        clients[r]!.push(one.client);
        all.push(one.client);
        return one.ready;
      });
      await withTimeout(Promise.all(opened), 60_000, `${kind}: connecting clients ${i + 1}-${i + opened.length}`);
    }
  } catch (error) {
    set.close();
    throw error;
  }
  return set;
}
