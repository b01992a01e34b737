/** REST calls with the error body of DESIGN.md "Errors" turned into ChatError. */
import { ChatError } from "./errors.js";

export interface HttpOptions {
  baseUrl: string;
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

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["content-type"] = "application/json";
    const token = await this.options.token();
    if (token) headers.authorization = `Bearer ${token}`;
    let response: Response;
    try {
      response = await this.options.fetch(`${this.options.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? null : JSON.stringify(body),
        credentials: "include",
      });
    } catch (error) {
      throw new ChatError("network_error", `could not reach the server: ${(error as Error).message}`);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON: handled below
    }
    if (!response.ok) {
      const error = (json as { error?: { code?: string; message?: string; details?: unknown } } | null)?.error;
      if (response.status === 401 && error?.code && SESSION_CODES.has(error.code)) this.options.onSessionRefused(error.code);
      throw new ChatError(error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`, response.status, error?.details);
    }
    return json as T;
  }
}
