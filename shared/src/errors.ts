/**
 * The one error catalogue (DESIGN.md "Errors"): every code with its HTTP status.
 * On the socket a document is closed with code 4000 + status and the code as reason.
 */
export const ERROR_STATUS = {
  invalid_json: 400,
  validation_failed: 400,
  unauthenticated: 401,
  invalid_credentials: 401,
  session_expired: 401,
  session_revoked: 401,
  forbidden: 403,
  csrf_rejected: 403,
  not_found: 404,
  method_not_allowed: 405,
  user_not_found: 404,
  week_not_found: 404,
  email_taken: 409,
  message_id_conflict: 409,
  offset_mismatch: 409,
  upload_expired: 410,
  precondition_failed: 412,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  update_refused: 422,
  rate_limited: 429,
  limit_exceeded: 429,
  internal: 500,
  not_implemented: 501,
  load_failed: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;
export type ErrorStatus = (typeof ERROR_STATUS)[ErrorCode];

export interface ErrorBody {
  error: { code: ErrorCode; message: string; details?: unknown };
}

/** An error that knows its wire code; thrown by server and SDK alike. */
export class WbkError extends Error {
  readonly code: ErrorCode;
  readonly status: ErrorStatus;
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, details?: unknown) {
    super(message);
    this.name = "WbkError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }

  toBody(): ErrorBody {
    const body: ErrorBody = { error: { code: this.code, message: this.message } };
    if (this.details !== undefined) body.error.details = this.details;
    return body;
  }

}

/** Close code and reason for a socket or document closed because of `code`. */
export function closeEventFor(code: ErrorCode): { code: number; reason: ErrorCode } {
  return { code: 4000 + ERROR_STATUS[code], reason: code };
}
