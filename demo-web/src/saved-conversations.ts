/**
 * The last conversation list per user, kept in localStorage, so a signed-in person who opens
 * the page without a network still sees their conversations (the messages themselves come
 * from the device's copy through the SDK). Removed on sign-out.
 */
import type { Conversation } from "@wbk/client-sdk";

const PREFIX = "wbk-demo:conversations:";

/** Remembers the list as the server gave it. Storage full or blocked: not remembered. */
export function saveConversations(userId: string, conversations: readonly Conversation[]): void {
  try {
    localStorage.setItem(PREFIX + userId, JSON.stringify(conversations));
  } catch {
    // private mode or quota: the page works online as before
  }
}

/** The list from the last successful fetch for this user, or null when none is kept. */
export function savedConversations(userId: string): Conversation[] | null {
  try {
    const raw = localStorage.getItem(PREFIX + userId);
    if (raw === null) return null;
    const list: unknown = JSON.parse(raw);
    return Array.isArray(list) && list.every(isConversation) ? list : null;
  } catch {
    return null;
  }
}

export function forgetConversations(userId: string): void {
  try {
    localStorage.removeItem(PREFIX + userId);
  } catch {
    // nothing kept
  }
}

/** Enough of a conversation for the list and the chat view (an older page may have saved it). */
function isConversation(value: unknown): value is Conversation {
  if (typeof value !== "object" || value === null) return false;
  const c = value as Partial<Record<keyof Conversation, unknown>>;
  return (
    typeof c.id === "string" &&
    typeof c.title === "string" &&
    typeof c.createdAt === "string" &&
    Array.isArray(c.members) &&
    c.members.every((m: unknown) => {
      const member = m as { id?: unknown; displayName?: unknown } | null;
      return typeof member?.id === "string" && typeof member.displayName === "string";
    })
  );
}
