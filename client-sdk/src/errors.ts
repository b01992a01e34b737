/** Errors the SDK rejects with: the server's error code and message, or a local check's. */
export class ChatError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details: unknown;

  constructor(code: string, message: string, status = 0, details?: unknown) {
    super(message);
    this.name = "ChatError";
    this.code = code;
    this.status = status;
    this.details = details;
  }
}
