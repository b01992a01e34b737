/**
 * The open conversation, remembered in the address (`#c=<id>`) so a reload (or a shared link)
 * can open it again. `replaceState`: opening and closing chats adds no history entries.
 */

const KEY = "c";

/** The conversation id in the address, or null. */
export function conversationInLocation(): string | null {
  return new URLSearchParams(location.hash.slice(1)).get(KEY) || null;
}

/** Puts `conversationId` in the address, or takes the hash out for null. */
export function rememberConversation(conversationId: string | null): void {
  if (conversationId === conversationInLocation()) return;
  const url = new URL(location.href);
  url.hash = conversationId === null ? "" : new URLSearchParams({ [KEY]: conversationId }).toString();
  history.replaceState(history.state, "", url);
}
