/** One conversation: its messages, live, and a composer. */
import type { ChatClient, ChatMessage, Conversation } from "@wbk/client-sdk";
import { el, errorMessage, isolatedList, reconcile, setContent, showError, type View } from "../dom.js";
import { DELIVERY, formatClock, memberNames, messageBody, messageTime } from "../format.js";
import { uploadsView } from "./uploads.js";
import { renderVideo } from "./video.js";

/** Within this many pixels of the end the reader counts as "at the bottom" and is kept there. */
const STICK_PX = 80;
/** The composer grows with its text up to this height, then scrolls. */
const COMPOSER_MAX_PX = 160;

export interface ChatOptions {
  onBack(): void;
}

export function chatView(client: ChatClient, conversation: Conversation, options: ChatOptions): View {
  // The list holds this handle open for its preview; the same object comes back here, and
  // the list closes it when the conversation leaves the list.
  const handle = client.conversation(conversation.id);
  const ownId = client.user?.id;
  const names = memberNames(conversation);
  const memberLine = conversation.members.map((m) => m.displayName);

  const back = el(
    "button",
    { type: "button", class: "back", "data-testid": "back", "aria-label": "Back to conversations" },
    "←",
  );
  back.addEventListener("click", () => options.onBack());

  const log = el("ol", { class: "messages", role: "log", "aria-live": "polite" });
  const composer = el("textarea", {
    "data-testid": "composer",
    rows: "1",
    placeholder: "Message",
    "aria-label": "Message",
    enterkeyhint: "send",
  });
  const form = el("form", { class: "composer" });
  const uploads = uploadsView(client, handle, {
    onError: (message) => showError(form, "form-error", message),
    // Own "uploading" videos say whether this page sends them: see renderMessage.
    onChange: () => render(handle.messages),
  });
  form.append(
    uploads.attach,
    composer,
    el("button", { type: "submit", class: "primary", "data-testid": "send" }, "Send"),
  );

  const element = el(
    "section",
    { class: "chat", "data-testid": "chat-view", "data-conversation-id": conversation.id },
    el(
      "header",
      { class: "chat-header" },
      back,
      el(
        "div",
        { class: "chat-heading" },
        // One line each, cut with an ellipsis (the full text on hover). The title is a block
        // with dir="auto"; the names are <bdi>s, so no name can reorder the next one.
        el("h2", { "data-testid": "chat-title", dir: "auto", title: conversation.title }, conversation.title),
        el("p", { class: "members", title: memberLine.join(", ") }, ...isolatedList(memberLine)),
      ),
    ),
    log,
    uploads.element,
    form,
  );

  const rows = new Map<string, HTMLElement>();

  function renderMessage(message: ChatMessage, row: HTMLElement | undefined): HTMLElement {
    const own = message.authorId === ownId;
    row ??= el(
      "li",
      { class: "message", "data-testid": "message" },
      el(
        "div",
        { class: "meta" },
        el("span", { class: "author", dir: "auto", "data-testid": "message-author" }),
        el("time", { "data-testid": "message-time" }),
      ),
      el("p", { class: "text", dir: "auto", "data-testid": "message-text" }),
    );
    row.dataset.messageId = message.id;
    row.dataset.authorId = message.authorId;
    row.dataset.own = String(own);
    row.classList.toggle("own", own);
    row.classList.toggle("deleted", message.deleted === true);

    const author = row.querySelector<HTMLElement>(".author")!;
    const authorName = own ? "You" : (names.get(message.authorId) ?? "Unknown member");
    setContent(author, [authorName]);
    author.title = authorName;
    const time = row.querySelector("time")!;
    const date = messageTime(message);
    time.dateTime = date.toISOString();
    time.title = date.toLocaleString();
    time.textContent = formatClock(date);
    const text = row.querySelector<HTMLElement>(".text")!;
    // A video's name and state are in its own block; the text line keeps only its caption.
    // An own video still uploading that this page does not send (a large one, after a reload)
    // continues only when its file is picked again: the block says so.
    const stalled = own && message.video?.status === "uploading" && !uploads.sending(message.video.videoId);
    const video = renderVideo(row, message, text, stalled ? uploads.pickFile : null);
    setContent(text, video ? [message.text] : messageBody(message));
    renderDelivery(row, own ? message.delivery : undefined);
    return row;
  }

  // Follow new messages unless the reader has scrolled back; always follow one's own.
  // `stuck` is kept by scroll events because the log also shrinks (composer growing, an
  // error line, a phone keyboard) and must then stay at the bottom too.
  let stuck = true;
  const toBottom = () => {
    log.scrollTop = log.scrollHeight;
  };
  log.addEventListener("scroll", () => {
    stuck = log.scrollHeight - log.scrollTop - log.clientHeight < STICK_PX;
  });
  const resizes = new ResizeObserver(() => {
    if (stuck) toBottom();
  });
  resizes.observe(log);

  function render(messages: readonly ChatMessage[]): void {
    const added = messages.filter((m) => !rows.has(m.id));
    reconcile(log, rows, messages, (m) => m.id, renderMessage);
    if (added.length > 0 && (stuck || added.some((m) => m.authorId === ownId))) toBottom();
  }

  composer.addEventListener("keydown", (event) => {
    // isComposing: Enter also confirms an IME candidate (Chinese, Japanese…); that is no send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    form.requestSubmit();
  });
  composer.addEventListener("input", fitComposer);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = composer.value;
    if (text.trim() === "") return;
    // Cleared before the send settles so fast typists can go on; restored if it fails.
    composer.value = "";
    fitComposer();
    showError(form, "form-error", null);
    try {
      await handle.send(text);
    } catch (err) {
      if (composer.value === "") composer.value = text;
      fitComposer();
      showError(form, "form-error", errorMessage(err));
    }
  });

  function fitComposer(): void {
    composer.style.height = "auto";
    composer.style.height = `${Math.min(composer.scrollHeight, COMPOSER_MAX_PX)}px`;
  }

  render(handle.messages);
  const off = handle.on("change", ({ messages }) => render(messages));
  // Focus for mouse users; on touch screens it would throw the keyboard over the messages.
  if (matchMedia("(pointer: fine)").matches) requestAnimationFrame(() => composer.focus());

  return {
    element,
    dispose() {
      off();
      resizes.disconnect();
      uploads.dispose();
    },
  };
}

function renderDelivery(row: HTMLElement, state: ChatMessage["delivery"]): void {
  let badge = row.querySelector<HTMLElement>(".delivery");
  if (!state) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = el("span", { class: "delivery", "data-testid": "message-delivery" });
    row.querySelector(".meta")!.append(badge);
  }
  badge.dataset.state = state;
  badge.title = DELIVERY[state].title;
  badge.setAttribute("aria-label", DELIVERY[state].title);
  badge.textContent = DELIVERY[state].tick;
}
