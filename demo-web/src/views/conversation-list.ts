/** The conversation list, its last-message previews, and the "New conversation" form. */
import { ChatError, type ChatClient, type ChatMessage, type Conversation } from "@wbk/client-sdk";
import { el, errorMessage, isolatedList, reconcile, setContent, showError, type View } from "../dom.js";
import { messageBody, messageMillis } from "../format.js";
import { saveConversations, savedConversations } from "../saved-conversations.js";

/** How often the list is fetched again, so conversations others start with you appear. */
const POLL_MS = 5_000;
/**
 * The first fetch has not answered after this long (a network that takes requests but answers
 * nothing): show the list kept on the device meanwhile.
 */
const SAVED_AFTER_MS = 3_000;

export interface ConversationListOptions {
  onOpen(conversation: Conversation): void;
  /** After every successful fetch, with the conversations as listed. */
  onLoad?(conversations: readonly Conversation[]): void;
  /** The number of unread messages over all listed conversations changed. */
  onUnread?(total: number): void;
}

export interface ConversationListView extends View {
  /** Fetches the list now (e.g. when the phone returns from a chat to the list). */
  refresh(): Promise<void>;
  /** Marks the conversation shown in the chat pane, or none. */
  setSelected(conversationId: string | null): void;
}

export function conversationListView(
  client: ChatClient,
  options: ConversationListOptions,
): ConversationListView {
  const items = el("ul", { class: "conversation-items" });
  const empty = el("p", { class: "hint", hidden: true }, "No conversations yet. Start one above.");
  const status = el("p", { class: "hint", role: "status" });
  const element = el(
    "section",
    { class: "conversation-list", "aria-label": "Conversations" },
    newConversationForm(client, (conversation) => {
      void refresh();
      // The one who creates a conversation wants to write in it.
      options.onOpen(conversation);
    }),
    status,
    items,
    empty,
  );

  const rows = new Map<string, HTMLElement>();
  /** Conversation id → stops its preview. Opening a handle is cheap: one socket serves all. */
  const previews = new Map<string, () => void>();
  /** Conversation id → its unread messages (others' messages past the user's read position). */
  const unread = new Map<string, number>();
  let unreadTotal = 0;
  /** Conversation id → time of the newest message its handle has shown, live. */
  const latestSeen = new Map<string, number>();
  /** The last fetched list, in the server's order (or the one kept on the device, offline). */
  let conversations: readonly Conversation[] = [];
  /** Where `conversations` came from: nowhere yet, the device (offline start), the server. */
  let source: "none" | "device" | "server" = "none";
  const userId = client.user?.id ?? null;
  let selected: string | null = null;
  let loading: Promise<void> | null = null;
  let sortQueued = false;
  let disposed = false;

  function renderRow(conversation: Conversation, row: HTMLElement | undefined): HTMLElement {
    if (!row) {
      // dir="auto": each line takes its direction from its own text; being grid items (blocks)
      // they are bidi isolates, and the names inside the member line are <bdi>s.
      const preview = el("span", { class: "preview", dir: "auto", "data-testid": "conversation-preview" });
      const badge = el("span", { class: "unread", "data-testid": "unread-badge", hidden: true });
      const button = el(
        "button",
        { type: "button", class: "conversation-item", "data-testid": "conversation-item" },
        el("span", { class: "title", dir: "auto", "data-testid": "conversation-title" }),
        el("span", { class: "members" }),
        preview,
        badge,
      );
      row = el("li", {}, button);
      watchPreview(conversation, preview, badge);
    }
    const button = row.firstElementChild as HTMLButtonElement;
    button.dataset.conversationId = conversation.id;
    button.setAttribute("aria-current", String(conversation.id === selected));
    // Reassigned on every poll so a click opens the latest title and members.
    button.onclick = () => options.onOpen(conversation);
    const title = button.querySelector<HTMLElement>(".title")!;
    setContent(title, [conversation.title]);
    const members = button.querySelector<HTMLElement>(".members")!;
    const names = conversation.members.map((member) => member.displayName);
    setContent(members, isolatedList(names));
    // Truncated lines show in full on hover.
    title.title = conversation.title;
    members.title = names.join(", ");
    return row;
  }

  function watchPreview(conversation: Conversation, target: HTMLElement, badge: HTMLElement): void {
    const handle = client.conversation(conversation.id);
    // Until the first sync an active conversation has no messages on a new device yet.
    const placeholder = conversation.lastMessageAt ? "…" : "No messages yet";
    const show = (messages: readonly ChatMessage[]) => {
      const last = messages.at(-1);
      setContent(target, last ? messageBody(last) : [placeholder]);
      if (!last) return;
      // A new message moves its conversation up at once, not only after the next fetch.
      const time = messageMillis(last);
      if (time > (latestSeen.get(conversation.id) ?? -Infinity)) {
        latestSeen.set(conversation.id, time);
        queueSort();
      }
    };
    const showUnread = (count: number) => {
      badge.hidden = count === 0;
      badge.textContent = String(count);
      badge.setAttribute("aria-label", `${count} unread`);
      setUnread(conversation.id, count);
    };
    show(handle.messages);
    showUnread(handle.unreadCount);
    const offChange = handle.on("change", ({ messages }) => show(messages));
    const offReads = handle.on("reads", ({ unreadCount }) => showUnread(unreadCount));
    previews.set(conversation.id, () => {
      offChange();
      offReads();
      handle.close();
    });
  }

  /** Keeps the count of one conversation (0 or gone: none) and tells a new total. */
  function setUnread(conversationId: string, count: number): void {
    if (count > 0) unread.set(conversationId, count);
    else unread.delete(conversationId);
    let total = 0;
    for (const n of unread.values()) total += n;
    if (total === unreadTotal) return;
    unreadTotal = total;
    options.onUnread?.(total);
  }

  /** Latest activity first: the newer of the server's last message time and the newest seen live. */
  function byActivity(list: readonly Conversation[]): Conversation[] {
    const activity = new Map(
      list.map((c) => {
        // As the server orders: a conversation without messages counts from its creation.
        const listed = Date.parse(c.lastMessageAt ?? c.createdAt) || 0;
        return [c.id, Math.max(listed, latestSeen.get(c.id) ?? 0)];
      }),
    );
    // Stable: equal times keep the server's order.
    return [...list].sort((a, b) => activity.get(b.id)! - activity.get(a.id)!);
  }

  /** Re-sorts once after a burst of live changes (and never inside a running render). */
  function queueSort(): void {
    if (sortQueued) return;
    sortQueued = true;
    queueMicrotask(() => {
      sortQueued = false;
      if (!disposed) render();
    });
  }

  function render(): void {
    // Moving a row takes it out of the document for a moment, which drops its focus.
    const focused = document.activeElement;
    reconcile(items, rows, byActivity(conversations), (c) => c.id, renderRow);
    if (focused instanceof HTMLElement && focused !== document.activeElement && items.contains(focused)) {
      focused.focus({ preventScroll: true });
    }
    empty.hidden = conversations.length > 0;
    // Stop previews of conversations that left the list (e.g. you were removed).
    for (const [id, stop] of previews) {
      if (rows.has(id)) continue;
      stop();
      previews.delete(id);
      latestSeen.delete(id);
      setUnread(id, 0);
    }
  }

  function refresh(): Promise<void> {
    // One request at a time: a slow network must not pile up polls.
    loading ??= client
      .listConversations()
      .then((list) => {
        if (disposed) return;
        conversations = list;
        source = "server";
        render();
        status.textContent = "";
        if (userId) saveConversations(userId, list);
        options.onLoad?.(list);
      })
      .catch((err: unknown) => {
        if (disposed) return;
        if (!(err instanceof ChatError && err.code === "network_error")) {
          status.textContent = `Could not load conversations: ${errorMessage(err)}`;
        } else if (source === "server") {
          status.textContent = "Offline: the list may be out of date.";
        } else if (!showSaved("Offline: showing the conversations saved on this device.")) {
          status.textContent = "Offline: no conversations are saved on this device yet.";
        }
      })
      .finally(() => {
        loading = null;
      });
    return loading;
  }

  /**
   * Shows the list kept on the device from the last visit, until the server answers (the
   * messages come from the device's copy of each conversation). False when none is kept.
   */
  function showSaved(notice: string): boolean {
    if (source === "server") return true;
    const saved = userId ? savedConversations(userId) : null;
    if (!saved) return false;
    status.textContent = notice;
    if (source === "device") return true;
    source = "device";
    conversations = saved;
    render();
    options.onLoad?.(saved);
    return true;
  }

  // Poll only while the list is on screen (on phones the chat replaces it) and the tab is seen.
  const timer = setInterval(() => {
    if (!document.hidden && element.getClientRects().length > 0) void refresh();
  }, POLL_MS);
  void refresh();
  const slowStart = setTimeout(() => {
    if (source === "none" && loading) showSaved("No answer from the server yet: showing the conversations saved on this device.");
  }, SAVED_AFTER_MS);

  return {
    element,
    refresh,
    setSelected(conversationId) {
      selected = conversationId;
      for (const [id, row] of rows) {
        row.firstElementChild?.setAttribute("aria-current", String(id === selected));
      }
    },
    dispose() {
      disposed = true;
      clearInterval(timer);
      clearTimeout(slowStart);
      for (const stop of previews.values()) stop();
      previews.clear();
    },
  };
}

function newConversationForm(client: ChatClient, onCreated: (conversation: Conversation) => void): HTMLFormElement {
  const form = el(
    "form",
    { class: "new-conversation", "data-testid": "new-conversation-form", novalidate: true },
    el("h2", {}, "New conversation"),
    el("input", { name: "title", placeholder: "Title", "aria-label": "Title", maxlength: "100" }),
    el("input", {
      name: "members",
      type: "text",
      inputmode: "email",
      placeholder: "Member emails, comma separated",
      "aria-label": "Member emails, comma separated",
    }),
    el("button", { type: "submit", class: "primary", "data-testid": "new-conversation-submit" }, "Create"),
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const memberEmails = String(data.get("members") ?? "")
      .split(",")
      .map((email) => email.trim())
      .filter((email) => email !== "");
    const submit = form.querySelector<HTMLButtonElement>("button[type=submit]")!;
    submit.disabled = true;
    showError(form, "form-error", null);
    try {
      const conversation = await client.createConversation({ title: String(data.get("title") ?? ""), memberEmails });
      form.reset();
      onCreated(conversation);
    } catch (err) {
      showError(form, "form-error", errorMessage(err));
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
