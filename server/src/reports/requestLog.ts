/**
 * The request log's writer: REST and tus requests and socket sign-ins are appended in batches,
 * off the request's path. A clean shutdown (`close`) writes what is still buffered.
 */
import type { UserId } from "@wbk/shared";
import type { Logger } from "../log.js";
import type { RequestLogEntry, RequestLogStore } from "../storage/types.js";

export interface RequestLoggerOptions {
  /** Longest time an entry waits in memory (ms); 1000: a crash loses at most a second of counts. */
  flushIntervalMs?: number;
  /** Entries buffered before a write is forced; 500 bounds memory under a burst. */
  maxBuffered?: number;
  logger: Logger;
}

export class RequestLogger {
  private buffer: RequestLogEntry[] = [];
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly flushIntervalMs: number;
  private readonly maxBuffered: number;

  constructor(
    private readonly store: RequestLogStore,
    private readonly options: RequestLoggerOptions,
  ) {
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.maxBuffered = options.maxBuffered ?? 500;
  }

  record(entry: RequestLogEntry): void {
    // Late events of a closing server (sockets closing after the database) are dropped.
    if (this.closed) return;
    this.buffer.push(entry);
    if (this.buffer.length >= this.maxBuffered) {
      this.flush();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.flush(), this.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** Writes every buffered entry now. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.buffer.length === 0) return;
    const batch = this.buffer;
    this.buffer = [];
    try {
      this.store.append(batch);
    } catch (error) {
      // Counts are not worth failing requests for, nor growing memory while the disk is full.
      this.options.logger.error({ err: error, dropped: batch.length }, "request log rows could not be written");
    }
  }

  /** Writes what is buffered and stops taking entries; call before the database closes. */
  close(): void {
    this.flush();
    this.closed = true;
  }
}

/** Socket sign-ins and closes as request-log rows (logged, but not API calls). */
export function socketEvents(log: RequestLogger, now: () => number, route: string) {
  const row = (kind: "socket.connect" | "socket.disconnect", userId: UserId, durationMs: number | null) =>
    log.record({ at: now(), kind, userId, method: null, route, status: null, durationMs, bytesIn: null, bytesOut: null });
  return {
    signedIn: (userId: UserId) => row("socket.connect", userId, null),
    closed: (userId: UserId, signedInForMs: number) => row("socket.disconnect", userId, signedInForMs),
  };
}
