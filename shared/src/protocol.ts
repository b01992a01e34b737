/** Messages the server and the SDK exchange beside the Yjs sync protocol. */

/** Sent to the writer after its update-log commit: the state vector that is now durable. */
export interface StoredMessage {
  type: "stored";
  /** base64url-encoded Yjs state vector */
  sv: string;
}

/**
 * Sent to the writer just before its document is closed with 4429 `rate_limited`
 * (RATE_LIMIT_MESSAGES_PER_MIN): when the refused messages may go out again.
 */
export interface RateLimitedMessage {
  type: "rate_limited";
  retryAfterSeconds: number;
}

export type StatelessMessage = StoredMessage | RateLimitedMessage;

export function parseStatelessMessage(payload: string): StatelessMessage | null {
  try {
    const value: unknown = JSON.parse(payload);
    if (value === null || typeof value !== "object") return null;
    const message = value as { type?: unknown; sv?: unknown; retryAfterSeconds?: unknown };
    if (message.type === "stored" && typeof message.sv === "string") return value as StoredMessage;
    if (message.type === "rate_limited" && typeof message.retryAfterSeconds === "number") return value as RateLimitedMessage;
  } catch {
    // not ours
  }
  return null;
}

const B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** base64url without padding; runs everywhere (no Buffer, no btoa). */
export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8) | (bytes[i + 2] as number);
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]! + B64URL[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = (bytes[i] as number) << 16;
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = ((bytes[i] as number) << 16) | ((bytes[i + 1] as number) << 8);
    out += B64URL[(n >> 18) & 63]! + B64URL[(n >> 12) & 63]! + B64URL[(n >> 6) & 63]!;
  }
  return out;
}

/** Decodes base64url (padding optional); null when the text is not base64url. */
export function fromBase64Url(text: string): Uint8Array | null {
  const clean = text.replace(/=+$/, "");
  if (!/^[A-Za-z0-9_-]*$/.test(clean) || clean.length % 4 === 1) return null;
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let j = 0;
  for (const char of clean) {
    value = (value << 6) | B64URL.indexOf(char);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (value >> bits) & 255;
    }
  }
  return out;
}
