/**
 * The tus 1.0.0 wire rules, checked before @tus/server sees a request (https://tus.io/protocols/resumable-upload).
 * Every refusal is ours: a code of the catalogue, and for a wrong header `details` naming it.
 * tus then gets a copy of the request holding only the headers checked here, so it never
 * refuses a header by itself (it would answer plain text with its own status codes).
 */
import { isUtf8 } from "node:buffer";
import { Metadata } from "@tus/server";
import { WbkError, idSchema, uploadFilenameSchema, uploadFiletypeSchema, type ErrorBody } from "@wbk/shared";
import { z } from "zod";
import { retryAfterSeconds, validationError } from "../http/errors.js";

/** The one protocol version this server speaks (`Tus-Resumable`, `Tus-Version`). */
export const TUS_VERSION = "1.0.0";

/**
 * Largest Upload-Metadata header. Ours holds three short keys (an id, a file name of at most 255
 * characters, a MIME type): 4 KiB is twice what they can take, and keeps junk out of tus's files.
 */
export const MAX_METADATA_BYTES = 4096;

/** A key sent without a value (`filetype`, as phones do) arrives as null: it means empty. */
const emptyIfNull = (value: unknown) => (value === null ? "" : value);
/** The keys an upload keeps; others are dropped (Uppy and other tus clients add their own). */
const metadataSchema = z.object({
  conversationId: idSchema,
  filename: z.preprocess(emptyIfNull, uploadFilenameSchema),
  filetype: z.preprocess(emptyIfNull, uploadFiletypeSchema).default(""),
});
export type UploadMetadata = z.infer<typeof metadataSchema>;

/** What a checked request declared: the creating POST's size and metadata. */
export interface TusHeaders {
  length?: number;
  metadata?: UploadMetadata;
}

/** The headers each method hands on to tus, once checked. */
const HEADERS_FOR_TUS: Record<string, readonly string[]> = {
  POST: ["tus-resumable", "upload-length", "upload-metadata", "content-type", "content-length"],
  PATCH: ["tus-resumable", "upload-offset", "content-type", "content-length"],
  HEAD: ["tus-resumable"],
  OPTIONS: [],
};

const BYTE_COUNT = /^(0|[1-9]\d*)$/;
const OCTET_STREAM = "application/offset+octet-stream";

const invalidHeader = (path: string, message: string): WbkError =>
  new WbkError("validation_failed", message, [{ path, message }]);

/**
 * Checks the tus headers of a request (OPTIONS needs none). Without `Tus-Resumable: 1.0.0` the
 * answer is 412 with `Tus-Version` (tus 1.0.0, "Tus-Resumable"); deferred lengths and
 * concatenation are not offered.
 */
export function checkTusHeaders(method: string, headers: Headers): TusHeaders {
  if (method === "OPTIONS") return {};
  if (headers.get("tus-resumable") !== TUS_VERSION) {
    const message = `this server speaks tus ${TUS_VERSION}: send Tus-Resumable: ${TUS_VERSION}`;
    throw new WbkError("precondition_failed", message, [{ path: "Tus-Resumable", message }]);
  }
  if (method === "POST") {
    if (headers.has("upload-concat")) throw new WbkError("not_implemented", "Upload-Concat: uploads are not concatenated here");
    const length = headers.get("upload-length");
    // Size decides the limits and the message shown while uploading: no deferred lengths.
    if (length === null || !BYTE_COUNT.test(length)) throw invalidHeader("Upload-Length", "Upload-Length is required (a whole number of bytes)");
    return { length: Number(length), metadata: readMetadata(headers.get("upload-metadata")) };
  }
  if (method === "PATCH") {
    const offset = headers.get("upload-offset");
    if (offset === null || !BYTE_COUNT.test(offset)) throw invalidHeader("Upload-Offset", "Upload-Offset is required (a whole number of bytes)");
    if (headers.get("content-type") !== OCTET_STREAM) throw invalidHeader("Content-Type", `Content-Type must be ${OCTET_STREAM}`);
    if (headers.has("upload-length")) throw invalidHeader("Upload-Length", "Upload-Length is set when the upload is created");
  }
  return {};
}

/** The same request for tus, with only the headers checked above (and none it would trust blindly, like X-Forwarded-*). */
export function requestForTus(request: Request): Request {
  const headers = new Headers();
  for (const name of HEADERS_FOR_TUS[request.method] ?? []) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  return new Request(request, { headers });
}

/**
 * Upload-Metadata: comma-separated `key base64(value)` pairs, unique keys (tus 1.0.0,
 * "Upload-Metadata"), values UTF-8, at most MAX_METADATA_BYTES; then our three keys.
 */
function readMetadata(header: string | null): UploadMetadata {
  let pairs: Record<string, string | null> = {};
  if (header !== null && header.trim() !== "") {
    if (Buffer.byteLength(header) > MAX_METADATA_BYTES) {
      throw invalidHeader("Upload-Metadata", `Upload-Metadata may be at most ${MAX_METADATA_BYTES} bytes`);
    }
    try {
      pairs = Metadata.parse(header);
    } catch {
      throw invalidHeader("Upload-Metadata", "Upload-Metadata must be comma-separated `key base64value` pairs with unique keys");
    }
    const garbled = notUtf8Value(header);
    if (garbled !== undefined) throw invalidHeader(`Upload-Metadata.${garbled}`, `${garbled} must be UTF-8 text`);
  }
  const meta = metadataSchema.safeParse(pairs);
  if (!meta.success) throw withMetadataPaths(validationError(meta.error));
  return meta.data;
}

/**
 * The key of the first Upload-Metadata value whose bytes are not UTF-8. tus decodes values
 * with Buffer's decoder, which turns such bytes (a lone surrogate sent as WTF-8, say) into
 * U+FFFD without a word: refused instead, like the JSON bodies (http/utf8Body.ts).
 */
function notUtf8Value(header: string): string | undefined {
  for (const pair of header.split(",")) {
    const [key, value] = pair.trim().split(" ");
    if (key && value && !isUtf8(Buffer.from(value, "base64"))) return key;
  }
  return undefined;
}

/** Validation details of Upload-Metadata name the metadata key. */
function withMetadataPaths(error: WbkError): WbkError {
  const details = (error.details as Array<{ path: string; message: string }> | undefined)?.map((d) => ({
    ...d,
    path: `Upload-Metadata.${d.path}`,
  }));
  return new WbkError(error.code, error.message, details);
}

/**
 * What @tus/server can still refuse by itself once a request passed checkTusHeaders, by its
 * status, in our catalogue. Its header refusals (400, 403, 412, 501) cannot happen any more.
 */
const TUS_REFUSALS: Record<number, () => WbkError> = {
  // ERRORS.ABORTED: another request on the upload took its lock, or the body broke off.
  400: () => new WbkError("offset_mismatch", "the request was cut short; ask with HEAD where the upload stands"),
  404: () => new WbkError("not_found", "no such upload"),
  409: () => new WbkError("offset_mismatch", "Upload-Offset is not where the upload stands; ask with HEAD"),
  410: () => new WbkError("upload_expired", "the upload has expired; start a new one"),
  413: () => new WbkError("payload_too_large", "the bytes go past Upload-Length"),
};

/** A tus refusal (`status_code`) in our catalogue; undefined for anything else (a bug). */
export function fromTusRefusal(error: unknown): WbkError | undefined {
  if (error instanceof WbkError) return error;
  const status = (error as { status_code?: unknown } | null)?.status_code;
  return typeof status === "number" ? TUS_REFUSALS[status]?.() : undefined;
}

/** A tus error answer: the JSON body of DESIGN.md "Errors" with the protocol's headers. */
export function tusErrorAnswer(error: WbkError, method: string): Response {
  const headers = new Headers({ "Content-Type": "application/json", "Tus-Resumable": TUS_VERSION });
  // tus 1.0.0: a 412 for a version the server does not speak lists the ones it does.
  if (error.code === "precondition_failed") headers.set("Tus-Version", TUS_VERSION);
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== null) headers.set("Retry-After", String(retryAfter));
  // A HEAD answer carries no body.
  return new Response(method === "HEAD" ? null : JSON.stringify(error.toBody()), { status: error.status, headers });
}

/** Reads tus's error answer back: our JSON (onResponseError wrote it) or, failing that, its status. */
export async function fromTusAnswer(response: Response): Promise<WbkError> {
  const text = await response.text();
  try {
    const { code, message, details } = (JSON.parse(text) as ErrorBody).error;
    return new WbkError(code, message, details);
  } catch {
    return TUS_REFUSALS[response.status]?.() ?? new WbkError("internal", "something went wrong on our side");
  }
}
