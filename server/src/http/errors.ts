/** The one mapper from errors to the JSON error body of DESIGN.md "Errors". */
import { WbkError, type ErrorBody } from "@wbk/shared";
import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ZodError } from "zod";
import type { Logger } from "../log.js";

export function validationError(error: ZodError): WbkError {
  const details = error.issues.map((issue) => ({ path: issue.path.join("."), message: issue.message }));
  const first = details[0];
  return new WbkError("validation_failed", first ? describeIssue(first) : "the request is not valid", details);
}

/** "password must be at least 8 characters" as is; a message that names no field gets its path. */
function describeIssue(issue: { path: string; message: string }): string {
  const field = issue.path.split(".").at(-1) ?? "";
  if (!issue.path || issue.message.startsWith(`${field} `)) return issue.message;
  return `${issue.path}: ${issue.message}`;
}

export function toWbkError(error: unknown, logger: Logger): WbkError {
  if (error instanceof WbkError) return error;
  if (error instanceof HTTPException) {
    if (error.status === 400 && /json/i.test(error.message)) return new WbkError("invalid_json", "the body is not valid JSON");
    // JSON routes answer a body sent as another type like a malformed one.
    if (error.status === 415) return new WbkError("invalid_json", "the body must be JSON (Content-Type: application/json)");
    if (error.status === 413) return new WbkError("payload_too_large", "the body is too large");
    if (error.status === 401) return new WbkError("unauthenticated", "sign in first");
    if (error.status === 404) return new WbkError("not_found", "not found");
  }
  logger.error({ err: error }, "unhandled error");
  return new WbkError("internal", "something went wrong on our side");
}

/** Seconds a rate-limited client should wait (`details.retryAfterSeconds`), else null. */
export function retryAfterSeconds(error: WbkError): number | null {
  const seconds = (error.details as { retryAfterSeconds?: unknown } | undefined)?.retryAfterSeconds;
  return error.status === 429 && typeof seconds === "number" ? seconds : null;
}

export function errorResponse(c: Context, error: WbkError): Response {
  const body: ErrorBody = error.toBody();
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== null) c.header("Retry-After", String(retryAfter));
  return c.json(body, error.status);
}
