/**
 * The HTTP fallback for one conversation (DESIGN.md "REST API", `/sync`): a push loop that
 * POSTs what the server lacks whenever the document changes, and a pull loop that long-polls
 * for what this replica lacks. Used while the WebSocket path is blocked; the socket's own
 * sync handshake takes over again once it opens.
 */
import { fromBase64Url, toBase64Url } from "@wbk/shared";
import * as Y from "yjs";
import { ChatError } from "./errors.js";
import type { Http } from "./http.js";

export interface HttpSyncCallbacks {
  /** The server committed everything up to this state vector (base64url). */
  onStored(sv: string): void;
  /** The replica caught up with the server. */
  onSynced(): void;
  /** The server refused a call for good (`update_refused`, `forbidden`, a dead session…). */
  onRefused(code: string): void;
  /** The server took no more messages for now; the push is retried after that many seconds. */
  onRateLimited(retryAfterSeconds: number): void;
}

/** Origin of updates applied from HTTP pulls (so they are not pushed straight back). */
export const HTTP_ORIGIN = Symbol("wbk-http-sync");
/** Long-poll length; the server allows up to 25 s. */
const WAIT_MS = 20_000;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 15_000;

/** Whether the server's state vector lacks something this replica has. */
function lacksSome(server: Map<number, number>, doc: Y.Doc): boolean {
  for (const [client, clock] of Y.decodeStateVector(Y.encodeStateVector(doc))) {
    if ((server.get(client) ?? 0) < clock) return true;
  }
  return false;
}

/** Exponential backoff with jitter after `failures` failed calls in a row. */
function backoff(failures: number): number {
  const cap = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** failures);
  return RETRY_MIN_MS + Math.random() * (cap - RETRY_MIN_MS);
}

/** The wait a `429 rate_limited` answer names (`details.retryAfterSeconds`, as `Retry-After`), or null. */
function retryAfterOf(error: unknown): number | null {
  if (!(error instanceof ChatError) || error.code !== "rate_limited") return null;
  const seconds = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return typeof seconds === "number" && seconds > 0 ? seconds : null;
}

export class HttpSync {
  private readonly abort = new AbortController();
  private serverSv: Uint8Array | null = null;
  private dirty = true;
  private wake: (() => void) | null = null;
  private readonly onUpdate = (_update: Uint8Array, origin: unknown) => {
    if (origin === HTTP_ORIGIN) return;
    this.dirty = true;
    this.wake?.();
  };

  constructor(
    private readonly doc: Y.Doc,
    private readonly http: Http,
    private readonly conversationId: string,
    private readonly callbacks: HttpSyncCallbacks,
  ) {
    doc.on("update", this.onUpdate);
    void this.pushLoop();
    void this.pullLoop();
  }

  stop(): void {
    this.abort.abort();
    this.doc.off("update", this.onUpdate);
    this.wake?.();
  }

  private get path(): string {
    return `/api/conversations/${encodeURIComponent(this.conversationId)}/sync`;
  }

  private get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private async pushLoop(): Promise<void> {
    let failures = 0;
    while (!this.stopped) {
      if (!this.dirty) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      this.dirty = false;
      // The first push sends the whole replica: what the server has already is skipped there.
      const update = Y.encodeStateAsUpdate(this.doc, this.serverSv ?? undefined);
      try {
        const response = await this.http.send("POST", this.path, {
          body: update,
          contentType: "application/octet-stream",
          signal: this.abort.signal,
        });
        const { sv } = (await response.json()) as { sv: string };
        this.serverSv = fromBase64Url(sv);
        this.callbacks.onStored(sv);
        // The server may have set the update aside (it lacked what it builds on): push again from its state.
        if (this.serverSv && lacksSome(Y.decodeStateVector(this.serverSv), this.doc)) this.dirty = true;
        failures = 0;
      } catch (error) {
        if (this.stopped) return;
        this.dirty = true;
        if (this.fatal(error)) return;
        const retryAfterSeconds = retryAfterOf(error);
        if (retryAfterSeconds !== null) {
          this.callbacks.onRateLimited(retryAfterSeconds);
          await this.sleep(retryAfterSeconds * 1000);
          continue;
        }
        failures += 1;
        await this.sleep(backoff(failures));
      }
    }
  }

  private async pullLoop(): Promise<void> {
    let failures = 0;
    let wait = 0;
    while (!this.stopped) {
      const query = `?sv=${toBase64Url(Y.encodeStateVector(this.doc))}&wait=${wait}`;
      try {
        const response = await this.http.send("GET", `${this.path}${query}`, {
          signal: this.abort.signal,
          timeoutMs: wait + 15_000,
        });
        if (response.status === 200) {
          Y.applyUpdate(this.doc, new Uint8Array(await response.arrayBuffer()), HTTP_ORIGIN);
        }
        if (wait === 0 || response.status === 204) this.callbacks.onSynced();
        wait = WAIT_MS;
        failures = 0;
      } catch (error) {
        if (this.stopped || this.fatal(error)) return;
        failures += 1;
        await this.sleep(backoff(failures));
      }
    }
  }

  /** Whether the error ends HTTP sync for this conversation (reported through onRefused). */
  private fatal(error: unknown): boolean {
    if (error instanceof ChatError && error.status >= 400 && error.status < 500 && error.status !== 429) {
      this.stop();
      this.callbacks.onRefused(error.code);
      return true;
    }
    return false;
  }

  private sleep(delay: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, delay);
      this.abort.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
