/**
 * Presence states (Hocuspocus awareness) are the server's word: whatever identity a client
 * puts in its state, the others see the connection's own user; a state announced for a Yjs
 * client id that belongs to another user is dropped; non-members get nothing.
 */
import { HocuspocusProvider, HocuspocusProviderWebsocket } from "@hocuspocus/provider";
import * as Y from "yjs";
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from "y-protocols/awareness";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import * as encoding from "lib0/encoding";
import { FRAME, WireClient, frame } from "./helpers/collabWire.js";
import { writeRawMessage } from "./helpers/doc.js";
import { useTwoPeople } from "./helpers/fixture.js";
import { api, eventually, signUp, type TestUser } from "./helpers/users.js";

interface Peer {
  doc: Y.Doc;
  provider: HocuspocusProvider;
  socket: HocuspocusProviderWebsocket;
  synced: Promise<void>;
  authFailures: string[];
}

const peers: Peer[] = [];
afterEach(() => {
  for (const peer of peers.splice(0)) {
    peer.provider.destroy();
    peer.socket.destroy();
  }
});

describe("presence as the server vouches for it", () => {
  const cast = useTwoPeople();
  let cleo: TestUser;
  let outsider: TestUser;
  beforeAll(async () => {
    cleo = await signUp(cast.server.url, "Cleo");
    outsider = await signUp(cast.server.url, "Olaf");
    const added = await api(cast.server.url, "POST", `/api/conversations/${cast.conversationId}/members`, {
      token: cast.ann.token,
      body: { userId: cleo.user.id },
    });
    expect(added.status).toBe(200);
  });

  function join(user: TestUser): Peer {
    const socket = new HocuspocusProviderWebsocket({
      url: `ws://127.0.0.1:${cast.server.running.port}/collab`,
      WebSocketPolyfill: WebSocket as unknown as typeof globalThis.WebSocket,
    });
    const doc = new Y.Doc();
    const provider = new HocuspocusProvider({ websocketProvider: socket, name: `conversation:${cast.conversationId}`, document: doc, token: user.token });
    const peer: Peer = { doc, provider, socket, authFailures: [], synced: new Promise((resolve) => provider.on("synced", () => resolve())) };
    provider.on("authenticationFailed", ({ reason }: { reason: string }) => peer.authFailures.push(reason));
    provider.attach();
    peers.push(peer);
    return peer;
  }

  /** The presence states a peer sees from others, by client id. */
  const seen = (peer: Peer) => new Map([...peer.provider.awareness!.getStates()].filter(([clientId]) => clientId !== peer.doc.clientID));

  it("rewrites the identity in a state to the connection's user and keeps only typing", async () => {
    const ann = join(cast.ann);
    const ben = join(cast.ben);
    await Promise.all([ann.synced, ben.synced]);
    // Only `typing` passes: any other field could carry a name of the client's choosing.
    ann.provider.awareness!.setLocalState({ user: { id: cast.ben.user.id, displayName: "Ben (not really)" }, typing: true, name: "Ben", userId: cast.ben.user.id });
    await eventually(() =>
      expect(seen(ben).get(ann.doc.clientID)).toEqual({ user: { id: cast.ann.user.id, displayName: "Ann" }, typing: true }),
    );
  });

  it("drops a state announced for another user's client id, and keeps that user's own", async () => {
    const ann = join(cast.ann);
    const ben = join(cast.ben);
    const cleoPeer = join(cleo);
    await Promise.all([ann.synced, ben.synced, cleoPeer.synced]);
    // Ben writes, so his client id is bound to him in the update log.
    writeRawMessage(ben.doc, "ben-presence-1", cast.ben.user.id, "hello");
    await eventually(async () => {
      const listed = await api<{ messages: Array<{ id: string }> }>(cast.server.url, "GET", `/api/conversations/${cast.conversationId}/messages`, {
        token: cleo.token,
      });
      expect(listed.body.messages.map((m) => m.id)).toContain("ben-presence-1");
    });
    ben.provider.awareness!.setLocalState({ typing: false });
    await eventually(() => expect(seen(cleoPeer).get(ben.doc.clientID)).toEqual({ typing: false, user: { id: cast.ben.user.id, displayName: "Ben" } }));

    // Ann announces a state under Ben's client id (a newer clock, so it would win if relayed).
    const forger = new Awareness(new Y.Doc());
    forger.clientID = ben.doc.clientID;
    forger.setLocalState(null);
    for (let i = 0; i < 5; i++) forger.setLocalState({ typing: true, text: `forged ${i}` });
    applyAwarenessUpdate(ann.provider.awareness!, encodeAwarenessUpdate(forger, [ben.doc.clientID]), "forger");
    // And one of her own after it, so Cleo has seen Ann's frame when the check runs.
    ann.provider.awareness!.setLocalState({ typing: true });
    await eventually(() => expect(seen(cleoPeer).get(ann.doc.clientID)).toEqual({ typing: true, user: { id: cast.ann.user.id, displayName: "Ann" } }));
    expect(seen(cleoPeer).get(ben.doc.clientID)).toEqual({ typing: false, user: { id: cast.ben.user.id, displayName: "Ben" } });
  });

  it("handles at most 10 presence frames a second per socket and conversation, and the newest always", async () => {
    const ben = join(cast.ben);
    await ben.synced;
    const name = `conversation:${cast.conversationId}`;
    const wire = await WireClient.open(cast.server.url);
    expect((await wire.authenticate(name, cast.ann.token)).kind).toBe("authenticated");
    const flooder = new Awareness(new Y.Doc());
    // Counts the flooder's frames the server checks (a hook after the server's own).
    let handled = 0;
    cast.server.running.hocuspocus.configuration.extensions.push({
      extensionName: "count-presence",
      async beforeHandleAwareness({ states }: { states: Map<number, unknown> }) {
        if (states.has(flooder.clientID)) handled++;
      },
    });
    const started = Date.now();
    // 500 frames at once, as a flooding client sends them; the last one says typing.
    for (let i = 0; i < 500; i++) {
      flooder.setLocalState({ typing: i === 499 });
      const update = encodeAwarenessUpdate(flooder, [flooder.clientID]);
      wire.send(frame(name, FRAME.awareness, (e) => encoding.writeVarUint8Array(e, update)));
    }
    await eventually(() => expect(seen(ben).get(flooder.clientID)).toEqual({ typing: true, user: { id: cast.ann.user.id, displayName: "Ann" } }), 5_000);
    const seconds = Math.ceil((Date.now() - started) / 1000);
    expect(handled).toBeGreaterThanOrEqual(2);
    expect(handled).toBeLessThanOrEqual(10 * (seconds + 1));
    flooder.destroy();
    await wire.close();
  });

  it("a non-member is refused the document and sees no one", async () => {
    const ann = join(cast.ann);
    await ann.synced;
    ann.provider.awareness!.setLocalState({ typing: true });
    const olaf = join(outsider);
    await eventually(() => expect(olaf.authFailures).toEqual(["forbidden"]));
    expect(seen(olaf).size).toBe(0);
  });
});
