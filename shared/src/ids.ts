/** Branded ids: a UserId cannot be passed where a ConversationId is expected. */
declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type UserId = Brand<string, "UserId">;
export type ConversationId = Brand<string, "ConversationId">;
export type MessageId = Brand<string, "MessageId">;
export type VideoId = Brand<string, "VideoId">;

/** Message ids are chosen by the writer (DESIGN.md "Document layout"). */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
/** Server-made ids (users, conversations, videos): 20 url-safe characters. */
export const SERVER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;


const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/** A random url-safe id from the platform's CSPRNG (works in browsers, React Native with a polyfill, Node). */
export function randomId(length = 21): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = "";
  for (const byte of bytes) id += ALPHABET[byte & 63];
  return id;
}

export const DOCUMENT_PREFIX = "conversation:";

export function documentName(conversationId: ConversationId | string): string {
  return `${DOCUMENT_PREFIX}${conversationId}`;
}

/** The conversation id inside a Hocuspocus document name, or null if the name is not ours. */
export function conversationIdFromDocument(name: string): ConversationId | null {
  if (!name.startsWith(DOCUMENT_PREFIX)) return null;
  const id = name.slice(DOCUMENT_PREFIX.length);
  return SERVER_ID_PATTERN.test(id) ? (id as ConversationId) : null;
}
