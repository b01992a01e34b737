/**
 * A fault-injecting TCP proxy between clients and the server, under test control: drop every
 * connection, stall them without closing (half-open), add delay, throttle, cut in the middle
 * of a frame, refuse new connections, or refuse only WebSocket upgrades.
 */
import net from "node:net";

interface Pair {
  client: net.Socket;
  upstream: net.Socket;
}

export interface FaultProxy {
  url: string;
  port: number;
  /** Destroys every open connection (both sides), like a network drop. */
  dropAll(): void;
  /** Stops forwarding in both directions without closing anything (half-open). */
  stall(on: boolean): void;
  /** Delays every chunk by this many ms (0: none). */
  delay(ms: number): void;
  /** Limits each direction of each connection to this many bytes per second (0: unlimited). */
  throttle(bytesPerSecond: number): void;
  /** Forwards this many more bytes from the server, then cuts those connections. */
  cutAfter(bytes: number): void;
  /** Refuses new connections (the network is gone); open ones are left alone. */
  refuse(on: boolean): void;
  /** Refuses WebSocket upgrades only; plain HTTP passes. */
  blockWebSockets(on: boolean): void;
  /** Open connections right now. */
  readonly connections: number;
  /** How many connections `cutAfter` has cut so far. */
  readonly cuts: number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host?: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<Pair>();
  let stalled = false;
  let delayMs = 0;
  let rate = 0;
  let refusing = false;
  let blockingWs = false;
  let cutBudget: number | null = null;
  let cuts = 0;

  const forward = (pair: Pair, from: net.Socket, to: net.Socket, fromServer: boolean) => {
    let queue = Promise.resolve();
    from.on("data", (chunk: Buffer) => {
      from.pause();
      queue = queue.then(async () => {
        while (stalled && pairs.has(pair)) await new Promise((r) => setTimeout(r, 20));
        if (!pairs.has(pair)) return;
        if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
        if (rate > 0) await new Promise((r) => setTimeout(r, (chunk.length / rate) * 1000));
        if (fromServer && cutBudget !== null) {
          const part = chunk.subarray(0, cutBudget);
          to.write(part);
          cutBudget -= part.length;
          if (cutBudget <= 0) {
            cutBudget = null;
            cuts += 1;
            destroy(pair);
            return;
          }
        } else if (!to.destroyed) {
          to.write(chunk);
        }
        from.resume();
      });
    });
  };

  const destroy = (pair: Pair) => {
    pairs.delete(pair);
    pair.client.destroy();
    pair.upstream.destroy();
  };

  const server = net.createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    client.once("data", (first: Buffer) => {
      if (blockingWs && /^upgrade:\s*websocket/im.test(first.toString("latin1"))) {
        client.destroy();
        return;
      }
      const upstream = net.connect(target.port, target.host ?? "127.0.0.1");
      const pair = { client, upstream };
      pairs.add(pair);
      upstream.write(first);
      forward(pair, client, upstream, false);
      forward(pair, upstream, client, true);
      const end = () => destroy(pair);
      client.on("close", end).on("error", end);
      upstream.on("close", end).on("error", end);
    });
    client.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    dropAll: () => [...pairs].forEach(destroy),
    stall: (on) => {
      stalled = on;
    },
    delay: (ms) => {
      delayMs = ms;
    },
    throttle: (bytesPerSecond) => {
      rate = bytesPerSecond;
    },
    cutAfter: (bytes) => {
      cutBudget = bytes;
    },
    refuse: (on) => {
      refusing = on;
    },
    blockWebSockets: (on) => {
      blockingWs = on;
    },
    get connections() {
      return pairs.size;
    },
    get cuts() {
      return cuts;
    },
    close: () =>
      new Promise<void>((resolve) => {
        [...pairs].forEach(destroy);
        server.close(() => resolve());
      }),
  };
}
