/**
 * One conversation: a header with who is here and who is typing, and search; the log, newest
 * page first and older pages as the reader scrolls up; the composer. Messages the reader has
 * seen (page visible, log at the bottom) are marked read.
 */
import type { ChatClient, Conversation } from "@wbk/client-sdk";
import { el, errorMessage, reconcile, type View } from "../dom.js";
import { searchView, type SearchView } from "./chat-search.js";
import { composerView } from "./composer.js";
import { messageActions } from "./message-actions.js";
import { authorName, renderMessage, type RowContext } from "./message-row.js";
import { presenceLine } from "./presence.js";
import { uploadsView } from "./uploads.js";

/** Within this many pixels of the end the reader counts as "at the bottom" and is kept there. */
const STICK_PX = 80;
/** Within this many pixels of the top the next older page is loaded. */
const OLDER_PX = 200;
/** How long a message found by search (or a quote) stays highlighted. */
const HIGHLIGHT_MS = 2500;
/** Below this width the chat is a phone screen: search gets out of the way once a match is picked. */
const NARROW = "(max-width: 767px)";

export interface ChatOptions {
  onBack(): void;
}

export function chatView(client: ChatClient, conversation: Conversation, options: ChatOptions): View {
  // The list holds this handle open for its preview; the same object comes back here, and
  // the list closes it when the conversation leaves the list.
  const handle = client.conversation(conversation.id);
  const ownId = client.user?.id;
  const names = new Map(conversation.members.map((m) => [m.id, m.displayName]));
  const nameOf = (authorId: string) => authorName(ctx, authorId);

  const back = el("button", { type: "button", class: "back", "data-testid": "back", "aria-label": "Back to conversations" }, "←");
  back.addEventListener("click", () => options.onBack());
  const presence = presenceLine(conversation);
  const searchToggle = el(
    "button",
    { type: "button", class: "search-toggle", "data-testid": "search-toggle", "aria-expanded": "false", "aria-label": "Search this conversation", title: "Search" },
    "Search",
  );
  searchToggle.addEventListener("click", () => (search ? closeSearch() : openSearch()));

  const log = el("ol", { class: "messages", role: "log", "aria-live": "polite", "data-testid": "message-log" });
  const toLatest = el("button", { type: "button", class: "to-latest", "data-testid": "to-latest", hidden: true }, "↓");
  toLatest.addEventListener("click", () => {
    toBottom();
    composer.focus();
  });
  const uploads = uploadsView(client, handle, {
    onError: (message) => composer.showError(message),
    // Own "uploading" videos say whether this page sends them: see pickAgain.
    onChange: () => render(),
  });
  const composer = composerView(handle, { attach: uploads.attach, authorName: (m) => nameOf(m.authorId) });
  const searchSlot = el("div", { class: "search-slot" });

  const element = el(
    "section",
    { class: "chat", "data-testid": "chat-view", "data-conversation-id": conversation.id },
    el(
      "header",
      { class: "chat-header" },
      back,
      // One line each, cut with an ellipsis (the full text on hover). The title is a block with
      // dir="auto"; the names are <bdi>s, so no name can reorder the next one.
      el("div", { class: "chat-heading" }, el("h2", { "data-testid": "chat-title", dir: "auto", title: conversation.title }, conversation.title), presence.members, presence.typing),
      searchToggle,
    ),
    searchSlot,
    el("div", { class: "log-wrap" }, log, toLatest),
    uploads.element,
    composer.element,
  );

  const actions = messageActions({
    find: (id) => handle.messages.find((m) => m.id === id) ?? null,
    ownId,
    isAdmin: () => client.isAdmin,
    react: (id, emoji) => void react(id, emoji),
    reply: (message) => composer.reply(message),
    edit: (message) => composer.edit(message),
    delete: (id) => void attempt(() => handle.delete(id)),
    onToggle: () => {
      for (const [id, row] of rows) row.querySelector(".actions-toggle")?.setAttribute("aria-expanded", String(actions.openId === id));
    },
  });

  const ctx: RowContext = {
    handle,
    ownId,
    names,
    seenOn: null,
    isOpen: (id) => actions.openId === id,
    // An own video still uploading that this page does not send (a large one, after a reload)
    // continues only when its file is picked again: the block says so.
    pickAgain: (m) => (m.authorId === ownId && m.video?.status === "uploading" && !uploads.sending(m.video.videoId) ? uploads.pickFile : null),
    toggleActions: (id, button) => actions.toggle(id, button),
    react: (id, emoji) => void react(id, emoji),
    jumpTo: (id) => void jumpTo(id),
  };

  /** Runs an SDK call; its refusal (a ChatError's words) shows under the composer. */
  async function attempt(call: () => Promise<unknown>): Promise<void> {
    composer.showError(null);
    try {
      await call();
    } catch (err) {
      composer.showError(errorMessage(err));
    }
  }

  const react = (id: string, emoji: string) => attempt(() => handle.react(id, emoji));

  // ---- the log ----

  const rows = new Map<string, HTMLElement>();
  // Follow new messages unless the reader has scrolled back; always follow one's own.
  // `stuck` is kept by scroll events because the log also shrinks (composer growing, an
  // error line, a phone keyboard) and must then stay at the bottom too.
  let stuck = true;
  let loadingOlder = false;
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
  };

  function render(): void {
    const messages = handle.shownMessages;
    const newest = (log.lastElementChild as HTMLElement | null)?.dataset.messageId;
    const newestAt = newest === undefined ? -1 : messages.findIndex((m) => m.id === newest);
    // Only messages after the newest one shown count as arriving; older pages come in above.
    const arrived = messages.slice(newestAt + 1).filter((m) => !rows.has(m.id));
    ctx.seenOn = messages.findLast((m) => m.authorId === ownId && m.seq !== undefined)?.id ?? null;
    if (actions.openId !== null && messages.find((m) => m.id === actions.openId)?.deleted) actions.close(false);
    reconcile(log, rows, messages, (m) => m.id, (m, row) => renderMessage(ctx, m, row));
    if (arrived.length > 0 && (stuck || arrived.some((m) => m.authorId === ownId))) toBottom();
    for (const m of messages) if (m.deleted) composer.forget(m.id);
    log.dataset.history = loadingOlder ? "loading" : handle.hasOlder ? "older" : "start";
    showLatestButton();
    markSeen();
    fillIfShort();
  }

  /**
   * A first page too short to scroll gives no scroll event to load the next one on. Only once
   * the log is on screen: built before it is attached, it has no height and would load a page
   * more than the screen needs.
   */
  function fillIfShort(): void {
    if (handle.hasOlder && log.clientHeight > 0 && log.scrollHeight <= log.clientHeight) void loadOlder();
  }

  log.addEventListener("scroll", () => {
    stuck = log.scrollHeight - log.scrollTop - log.clientHeight < STICK_PX;
    showLatestButton();
    markSeen();
    if (log.scrollTop < OLDER_PX) void loadOlder();
  });
  const resizes = new ResizeObserver(() => {
    if (stuck) toBottom();
    fillIfShort();
  });
  resizes.observe(log);

  /** Shows the page before the oldest shown message, keeping what the reader sees in place. */
  async function loadOlder(): Promise<void> {
    if (loadingOlder || !handle.hasOlder) return;
    loadingOlder = true;
    log.dataset.history = "loading";
    const fromBottom = log.scrollHeight - log.scrollTop;
    try {
      await handle.loadOlder();
    } catch (err) {
      composer.showError(`Could not show earlier messages: ${errorMessage(err)}`);
    } finally {
      loadingOlder = false;
    }
    log.scrollTop = log.scrollHeight - fromBottom;
    log.dataset.history = handle.hasOlder ? "older" : "start";
  }

  /** Marks everything read while the reader can see the newest messages. */
  function markSeen(): void {
    if (document.hidden || !stuck || handle.unreadCount === 0) return;
    handle.markRead().catch((err: unknown) => composer.showError(errorMessage(err)));
  }

  function showLatestButton(): void {
    const unread = handle.unreadCount;
    toLatest.hidden = stuck;
    toLatest.textContent = unread > 0 ? `↓ ${unread} new` : "↓";
    toLatest.setAttribute("aria-label", unread > 0 ? `Go to the newest messages: ${unread} unread` : "Go to the newest messages");
  }

  /** Brings `messageId` into view (loading older pages until it is shown) and highlights it. */
  async function jumpTo(messageId: string): Promise<void> {
    composer.showError(null);
    try {
      while (!rows.has(messageId) && handle.hasOlder) await handle.loadOlder();
    } catch (err) {
      composer.showError(errorMessage(err));
      return;
    }
    const row = rows.get(messageId);
    if (!row) {
      composer.showError("That message is not on this device yet: try again once the conversation has synced.");
      return;
    }
    if (search && matchMedia(NARROW).matches) closeSearch(false);
    row.scrollIntoView({ block: "center" });
    row.focus({ preventScroll: true });
    row.classList.remove("highlight");
    void row.offsetWidth; // restarts the animation when the same message is picked again
    row.classList.add("highlight");
    setTimeout(() => row.classList.remove("highlight"), HIGHLIGHT_MS);
  }

  // ---- search ----

  let search: SearchView | null = null;

  function openSearch(): void {
    search = searchView(handle, { authorName: nameOf, pick: (id) => void jumpTo(id), close: () => closeSearch() });
    searchSlot.replaceChildren(search.element);
    searchToggle.setAttribute("aria-expanded", "true");
    search.focus();
  }

  function closeSearch(returnFocus = true): void {
    search?.dispose();
    search = null;
    searchSlot.replaceChildren();
    searchToggle.setAttribute("aria-expanded", "false");
    if (returnFocus) searchToggle.focus();
  }

  // ---- start ----

  const onVisible = () => markSeen();
  document.addEventListener("visibilitychange", onVisible);
  render();
  presence.show(handle.presence);
  const offs = [
    handle.on("change", () => render()),
    // New read positions move "Seen by"; a new unread count may be marked read at once.
    handle.on("reads", () => render()),
    handle.on("presence", presence.show),
  ];
  // Focus for mouse users; on touch screens it would throw the keyboard over the messages.
  if (matchMedia("(pointer: fine)").matches) requestAnimationFrame(() => composer.focus());

  return {
    element,
    dispose() {
      for (const off of offs) off();
      document.removeEventListener("visibilitychange", onVisible);
      resizes.disconnect();
      actions.dispose();
      search?.dispose();
      composer.dispose();
      uploads.dispose();
    },
  };
}
