/** REST calls with the error body of DESIGN.md "Errors" turned into ChatError. */
import { ChatError } from "./errors.js";

export interface HttpOptions {
  baseUrl: string;
  /** Calls that take longer fail as `network_error` (a line that accepts but never answers). */
  timeoutMs: number;
  fetch: typeof fetch;
  /** The bearer token, or null to rely on the cookie. */
  token(): Promise<string | null>;
  /** Called when the server refuses the session on a call that needed it. */
  onSessionRefused(code: string): void;
}

/** Answers meaning "your session is gone" (not "wrong password"). */
const SESSION_CODES = new Set(["unauthenticated", "session_expired", "session_revoked"]);

export class Http {
  constructor(private readonly options: HttpOptions) {}

  /** A JSON call: resolves with the parsed answer (undefined for 204). */
  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(
      method,
      path,
      body === undefined ? {} : { body: JSON.stringify(body), contentType: "application/json" },
    );
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** Any call: resolves with a successful response; a failed one becomes a ChatError. */
  async send(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; contentType?: string; signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<Response> {
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), init.timeoutMs ?? this.options.timeoutMs);
    const cancel = () => controller.abort();
    init.signal?.addEventListener("abort", cancel);
    try {
      return await this.attempt(method, path, init, controller.signal);
    } finally {
      clearTimeout(timeout);
      init.signal?.removeEventListener("abort", cancel);
    }
  }

  private async attempt(
    method: string,
    path: string,
    init: { body?: string | Uint8Array; contentType?: string; signal?: AbortSignal },
    signal: AbortSignal,
  ): Promise<Response> {
    const headers: Record<string, string> = {};
    if (init.contentType) headers["content-type"] = init.contentType;
    const token = await this.options.token();
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        body: (init.body ?? null) as BodyInit | null,
        credentials: "include",
        signal,
      });
    } catch (error) {
      if (init.signal?.aborted) throw new ChatError("aborted", "the request was cancelled");
      const why = signal.aborted ? "no answer in time" : (error as Error).message;
      throw new ChatError("network_error", `could not reach the server: ${why}`);
    }
    if (response.ok) return response;
    let error: { code?: string; message?: string; details?: unknown } | undefined;
    try {
      error = ((await response.json()) as { error?: typeof error }).error;
    } catch {
      // not our error body
    }
    if (response.status === 401 && error?.code && SESSION_CODES.has(error.code)) this.options.onSessionRefused(error.code);
    throw new ChatError(error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`, response.status, error?.details);
  }
}
