/**
 * An HTTP reverse proxy that records every request it forwards to the server: method, path,
 * `Upload-Offset`, the answer, and the body bytes it passed upstream (what the server received).
 * WebSocket upgrades pass through untouched. Put it right in front of the server (behind a
 * fault proxy, if the test cuts the line), so a request cut on the client's side is cut here too.
 */
import http from "node:http";
import net from "node:net";

export interface ForwardedRequest {
  method: string;
  path: string;
  /** `Upload-Offset` the client sent, if any. */
  offset: number | null;
  /** Body bytes forwarded to the server so far. */
  bodyBytes: number;
  /** The server's status, once it answered (null: cut before an answer). */
  status: number | null;
  /** The `Upload-Offset` the server answered with, if any. */
  answerOffset: number | null;
}

export interface CountingProxy {
  url: string;
  port: number;
  /** Every request forwarded, in arrival order. */
  readonly requests: ForwardedRequest[];
  /** Requests under /api/uploads. */
  uploads(): ForwardedRequest[];
  /** PATCH body bytes the server received in all. */
  patchBytes(): number;
  /** Called with the running PATCH byte total after each forwarded body chunk. */
  onPatchBytes(listener: ((total: number) => void) | null): void;
  close(): Promise<void>;
}

export async function startCountingProxy(target: { host?: string; port: number }): Promise<CountingProxy> {
  const host = target.host ?? "127.0.0.1";
  const requests: ForwardedRequest[] = [];
  let patchTotal = 0;
  let listener: ((total: number) => void) | null = null;
  const sockets = new Set<net.Socket>();

  const server = http.createServer((req, res) => {
    const offsetHeader = req.headers["upload-offset"];
    const record: ForwardedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      offset: typeof offsetHeader === "string" ? Number(offsetHeader) : null,
      bodyBytes: 0,
      status: null,
      answerOffset: null,
    };
    requests.push(record);
    const upstream = http.request({ host, port: target.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      record.status = answer.statusCode ?? null;
      const answerOffset = answer.headers["upload-offset"];
      record.answerOffset = typeof answerOffset === "string" ? Number(answerOffset) : null;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => res.destroy());
    req.on("data", (chunk: Buffer) => {
      // Counted once handed to the kernel: bytes the server gets unless the line dies under them.
      upstream.write(chunk, (error) => {
        if (error) return;
        record.bodyBytes += chunk.length;
        if (record.method === "PATCH") {
          patchTotal += chunk.length;
          listener?.(patchTotal);
        }
      });
    });
    req.on("end", () => upstream.end());
    // The client's side was cut mid-request: cut the server's side the same way.
    req.on("close", () => {
      if (!req.complete) upstream.destroy();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  server.on("upgrade", (req, socket, head) => {
    const upstream = net.connect(target.port, host, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    sockets.add(upstream);
    const end = () => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on("error", end).on("close", end);
    socket.on("error", end).on("close", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    uploads: () => requests.filter((r) => r.path.startsWith("/api/uploads")),
    patchBytes: () => patchTotal,
    onPatchBytes: (next) => {
      listener = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
