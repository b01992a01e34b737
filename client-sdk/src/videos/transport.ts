/**
 * tus-js-client's platform HTTP stack (XMLHttpRequest in browsers and React Native, node:http in
 * Node), with what uploads on bad networks need on top: a request whose bytes stop moving and
 * that gets no answer is given up (a half-open line never fails by itself), so the upload
 * retries from the server's offset.
 */
import { DefaultHttpStack, type HttpRequest, type HttpResponse, type HttpStack } from "tus-js-client";
import { ChatError } from "../errors.js";

/** Bytes of a request body, with the `size` tus-js-client's Node stack reads for Content-Length. */
export function requestBody(bytes: Uint8Array): Uint8Array & { size: number } {
  return Object.assign(bytes, { size: bytes.byteLength });
}

class StallGuardedRequest implements HttpRequest {
  private onProgress: (bytesSent: number) => void = () => undefined;
  /** Restarts the stall timer (bytes moved). */
  private heard: () => void = () => undefined;
  /** Settles the request in flight as failed, once. */
  private fail: (error: unknown) => void = () => undefined;

  constructor(
    private readonly inner: HttpRequest,
    private readonly stallMs: number,
  ) {
    inner.setProgressHandler((bytesSent) => {
      this.heard();
      this.onProgress(bytesSent);
    });
  }

  getMethod = () => this.inner.getMethod();
  getURL = () => this.inner.getURL();
  setHeader = (header: string, value: string) => this.inner.setHeader(header, value);
  getHeader = (header: string) => this.inner.getHeader(header);
  getUnderlyingObject = () => this.inner.getUnderlyingObject();

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.onProgress = handler;
  }

  abort(): Promise<void> {
    // XMLHttpRequest's abort() settles nothing by itself.
    this.fail(new ChatError("aborted", "the request was cancelled"));
    return this.inner.abort();
  }

  send(body: unknown): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      let settled = false;
      const settle = () => {
        settled = true;
        clearTimeout(timer);
        this.heard = () => undefined;
        this.fail = () => undefined;
      };
      this.fail = (error) => {
        if (settled) return;
        settle();
        reject(error);
      };
      this.heard = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.fail(new ChatError("network_error", `no bytes moved and no answer for ${this.stallMs} ms`));
          void this.inner.abort();
        }, this.stallMs);
      };
      this.heard();
      this.inner.send(body).then(
        (response) => {
          if (settled) return;
          settle();
          resolve(response);
        },
        (error: unknown) => this.fail(error),
      );
    });
  }
}

export class StallGuardedStack implements HttpStack {
  private readonly inner: HttpStack = new DefaultHttpStack({});

  constructor(private readonly stallMs: number) {}

  createRequest(method: string, url: string): HttpRequest {
    return new StallGuardedRequest(this.inner.createRequest(method, url), this.stallMs);
  }

  getName(): string {
    return `StallGuarded(${this.inner.getName()})`;
  }
}
