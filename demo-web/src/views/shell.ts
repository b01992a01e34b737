/**
 * The signed-in page: a header, the conversation list and the chat pane. Phones show one
 * pane at a time (`data-view` on the root picks it); wider screens show both side by side.
 * The open conversation is kept in the address (`#c=<id>`) and opened again after a reload.
 * Admins also get a "Reports" button: the weekly reports replace both panes while shown.
 */
import type { ChatClient, ConnectionState, Conversation, SyncStatus } from "@wbk/client-sdk";
import { el, errorMessage, showError, type View } from "../dom.js";
import { PAGE_TITLE, pageTitle } from "../format.js";
import { conversationInLocation, rememberConversation } from "../location.js";
import { ReportApiError, fetchReportIndex } from "../reports-api.js";
import { chatView } from "./chat.js";
import { conversationListView } from "./conversation-list.js";
import { reportsView, type ReportsView } from "./reports.js";

export interface ShellOptions {
  onSignOut(): Promise<void>;
}

export function shellView(client: ChatClient, options: ShellOptions): View {
  /** Built on first use; `reportsFrom` is the pane to return to. */
  let reports: ReportsView | null = null;
  let reportsFrom: "list" | "chat" = "list";
  /** Whether this user may read reports: unknown until the index answers (or while offline). */
  let reportAccess: "unknown" | "checking" | "granted" | "refused" = "unknown";
  let disposed = false;

  const state = el("span", { class: "connection", "data-testid": "connection-state", role: "status" });
  const pending = el("span", { class: "pending", "data-testid": "pending-count", role: "status" });
  const showStatus = ({ state: next, pendingCount }: SyncStatus) => {
    showConnection(state, next);
    showPending(pending, pendingCount);
  };
  showStatus(client.status);
  const offStatus = client.on("status", (status) => {
    showStatus(status);
    if (status.state === "online" || status.state === "fallback-http") checkReports();
  });
  // dir="auto": the name reads in its own direction; as a flex item it is a bidi isolate.
  const me = el("span", { class: "me", dir: "auto", "data-testid": "me" });
  const showMe = (name: string) => {
    me.textContent = name;
    me.title = name;
  };
  showMe(client.user?.displayName ?? "");
  const offUser = client.on("user", ({ user }) => {
    if (user) showMe(user.displayName);
  });

  // Shown once the server lets this user read the report index: only admins may.
  const reportsButton = el(
    "button",
    { type: "button", class: "reports-button", "data-testid": "reports-button", "aria-pressed": "false", hidden: true },
    "Reports",
  );
  reportsButton.addEventListener("click", () => (element.dataset.view === "reports" ? closeReports() : openReports()));

  const logout = el("button", { type: "button", "data-testid": "logout" }, "Sign out");
  logout.addEventListener("click", async () => {
    logout.disabled = true;
    showError(header, "logout-error", null);
    try {
      await options.onSignOut();
    } catch (err) {
      showError(header, "logout-error", `Sign-out failed: ${errorMessage(err)}`);
      logout.disabled = false;
    }
  });

  const header = el(
    "header",
    { class: "topbar" },
    el("span", { class: "brand" }, "wbk-chat"),
    me,
    state,
    pending,
    reportsButton,
    logout,
  );

  const placeholder = el("p", { class: "hint chat-placeholder" }, "Pick a conversation.");
  const chatPane = el("main", { class: "chat-pane" }, placeholder);
  // The tab says how many messages are unread, so a family member sees it from another tab.
  const list = conversationListView(client, {
    onOpen: open,
    onLoad: reopen,
    onUnread: (total) => (document.title = pageTitle(total)),
  });
  const reportsPane = el("main", { class: "reports-pane" });
  const element = el(
    "div",
    { class: "shell", "data-view": "list" },
    header,
    el("div", { class: "panes" }, el("aside", { class: "list-pane" }, list.element), chatPane),
    reportsPane,
  );

  let chat: View | null = null;
  let openId: string | null = null;
  /** The conversation the address names, to open once the list has it (or to drop if not). */
  let wanted = conversationInLocation();

  function open(conversation: Conversation): void {
    wanted = null;
    // In the top bar: seen whichever pane shows (on a phone only one does).
    showError(header, "open-error", null);
    chat?.dispose();
    chat = chatView(client, conversation, { onBack: close });
    openId = conversation.id;
    chatPane.replaceChildren(chat.element);
    list.setSelected(conversation.id);
    showPane("chat");
    rememberConversation(conversation.id);
  }

  function close(): void {
    wanted = null;
    chat?.dispose();
    chat = null;
    openId = null;
    chatPane.replaceChildren(placeholder);
    list.setSelected(null);
    // The reports stay up if they are shown; closing them returns to the list.
    if (element.dataset.view === "reports") reportsFrom = "list";
    else showPane("list");
    rememberConversation(null);
    // The list did not poll while hidden on phones; bring it up to date at once.
    void list.refresh();
  }

  /** After a fetch: opens the conversation from the address if it is (still) in the list. */
  function reopen(conversations: readonly Conversation[]): void {
    if (wanted === null) return;
    const conversation = conversations.find((c) => c.id === wanted);
    wanted = null;
    if (conversation) open(conversation);
    else {
      // A link to a conversation the user is not in (or that is gone): say so, not nothing.
      rememberConversation(openId);
      showError(header, "open-error", "That conversation is not one of yours: ask a member to add you.");
    }
  }

  function checkReports(): void {
    if (reportAccess !== "unknown") return;
    reportAccess = "checking";
    fetchReportIndex()
      .then(() => {
        reportAccess = "granted";
      })
      .catch((err: unknown) => {
        // Unreachable or failing: ask again when the connection is (back) up. A refusal
        // (403 forbidden for everyone but admins) settles it for this sign-in.
        const retry = err instanceof ReportApiError && (err.code === "network_error" || err.status >= 500);
        reportAccess = retry ? "unknown" : "refused";
      })
      .finally(() => {
        if (disposed) return;
        reportsButton.hidden = reportAccess !== "granted";
        // For tests and tools: whether the server has answered yet.
        reportsButton.dataset.access = reportAccess;
      });
  }

  function openReports(): void {
    if (element.dataset.view !== "reports") reportsFrom = element.dataset.view === "chat" ? "chat" : "list";
    if (!reports) {
      reports = reportsView({ onClose: closeReports });
      reportsPane.replaceChildren(reports.element);
    }
    showPane("reports");
    reports.refresh();
  }

  function closeReports(): void {
    if (element.dataset.view !== "reports") return;
    const back = reportsFrom === "chat" && chat ? "chat" : "list";
    showPane(back);
    // The list did not poll while hidden; bring it up to date at once.
    if (back === "list") void list.refresh();
  }

  function showPane(view: "list" | "chat" | "reports"): void {
    element.dataset.view = view;
    reportsButton.setAttribute("aria-pressed", String(view === "reports"));
  }

  checkReports();

  // The address changed by hand (or a link): follow it.
  const onHashChange = () => {
    const id = conversationInLocation();
    if (id === openId) return;
    if (id === null) close();
    else {
      wanted = id;
      void list.refresh();
    }
  };
  window.addEventListener("hashchange", onHashChange);

  return {
    element,
    dispose() {
      disposed = true;
      window.removeEventListener("hashchange", onHashChange);
      reports?.dispose();
      offStatus();
      offUser();
      chat?.dispose();
      list.dispose();
      document.title = PAGE_TITLE;
    },
  };
}


/**
 * How each connection state reads. The badge's text is the SDK's state string itself (tests and
 * tools read it); a `label` that differs is what the eye sees instead (style.css shows it).
 */
const CONNECTION: Record<ConnectionState, { label?: string; title: string }> = {
  online: { title: "Connected: messages go out at once." },
  connecting: { title: "Connecting… Messages are kept on this device until the connection is back." },
  offline: { title: "Offline: messages are kept on this device and sent when the network is back." },
  "fallback-http": {
    label: "online (HTTP)",
    title: "Connected over plain HTTP because this network blocks live connections: messages go out, a little slower.",
  },
};

function showConnection(badge: HTMLElement, state: ConnectionState): void {
  const { label, title } = CONNECTION[state] ?? { title: state };
  badge.textContent = state;
  badge.dataset.state = state;
  if (label) badge.dataset.label = label;
  else delete badge.dataset.label;
  badge.title = title;
  // Screen readers say the label, like the eye sees it.
  badge.setAttribute("aria-label", `Connection: ${label ?? state}`);
}

/** Own messages the server has not stored yet, over every open conversation; hidden at 0. */
function showPending(badge: HTMLElement, count: number): void {
  badge.dataset.count = String(count);
  badge.textContent = count === 0 ? "nothing waiting to send" : `${count} waiting to send`;
  badge.title =
    count === 0
      ? "The server has stored all your messages."
      : `${count} of your messages ${count === 1 ? "is" : "are"} saved on this device and not yet stored by the server.`;
  badge.hidden = count === 0;
}
