/**
 * The signed-in page: a header, the conversation list and the chat pane. Phones show one
 * pane at a time (`data-view` on the root picks it); wider screens show both side by side.
 */
import type { ChatClient, Conversation } from "@wbk/client-sdk";
import { el, errorMessage, showError, type View } from "../dom.js";
import { chatView } from "./chat.js";
import { conversationListView } from "./conversation-list.js";

export interface ShellOptions {
  onSignOut(): Promise<void>;
}

export function shellView(client: ChatClient, options: ShellOptions): View {
  const state = el("span", { class: "connection", "data-testid": "connection-state", role: "status" });
  const showState = (value: string) => {
    state.textContent = value;
    state.dataset.state = value;
  };
  showState(client.state);
  const offStatus = client.on("status", ({ state: next }) => showState(next));
  const me = el("span", { class: "me", "data-testid": "me" }, client.user?.displayName ?? "");
  const offUser = client.on("user", ({ user }) => {
    if (user) me.textContent = user.displayName;
  });

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
    logout,
  );

  const placeholder = el("p", { class: "hint chat-placeholder" }, "Pick a conversation.");
  const chatPane = el("main", { class: "chat-pane" }, placeholder);
  const list = conversationListView(client, { onOpen: open });
  const element = el(
    "div",
    { class: "shell", "data-view": "list" },
    header,
    el("div", { class: "panes" }, el("aside", { class: "list-pane" }, list.element), chatPane),
  );

  let chat: View | null = null;

  function open(conversation: Conversation): void {
    chat?.dispose();
    chat = chatView(client, conversation, { onBack: close });
    chatPane.replaceChildren(chat.element);
    list.setSelected(conversation.id);
    element.dataset.view = "chat";
  }

  function close(): void {
    chat?.dispose();
    chat = null;
    chatPane.replaceChildren(placeholder);
    list.setSelected(null);
    element.dataset.view = "list";
    // The list did not poll while hidden on phones; bring it up to date at once.
    void list.refresh();
  }

  return {
    element,
    dispose() {
      offStatus();
      offUser();
      chat?.dispose();
      list.dispose();
    },
  };
}
