/**
 * The signed-in page: a header, the conversation list and the chat pane. Phones show one
 * pane at a time (`data-view` on the root picks it); wider screens show both side by side.
 * The open conversation is kept in the address (`#c=<id>`) and opened again after a reload.
 */
import type { ChatClient, Conversation } from "@wbk/client-sdk";
import { el, errorMessage, showError, type View } from "../dom.js";
import { conversationInLocation, rememberConversation } from "../location.js";
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
  const list = conversationListView(client, { onOpen: open, onLoad: reopen });
  const element = el(
    "div",
    { class: "shell", "data-view": "list" },
    header,
    el("div", { class: "panes" }, el("aside", { class: "list-pane" }, list.element), chatPane),
  );

  let chat: View | null = null;
  let openId: string | null = null;
  /** The conversation the address names, to open once the list has it (or to drop if not). */
  let wanted = conversationInLocation();

  function open(conversation: Conversation): void {
    wanted = null;
    chat?.dispose();
    chat = chatView(client, conversation, { onBack: close });
    openId = conversation.id;
    chatPane.replaceChildren(chat.element);
    list.setSelected(conversation.id);
    element.dataset.view = "chat";
    rememberConversation(conversation.id);
  }

  function close(): void {
    wanted = null;
    chat?.dispose();
    chat = null;
    openId = null;
    chatPane.replaceChildren(placeholder);
    list.setSelected(null);
    element.dataset.view = "list";
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
    else rememberConversation(openId);
  }

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
      window.removeEventListener("hashchange", onHashChange);
      offStatus();
      offUser();
      chat?.dispose();
      list.dispose();
    },
  };
}
