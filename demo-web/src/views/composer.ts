/**
 * The message box under the log. It sends, replies (a line above it quotes the message
 * answered) and edits (the line says so and the box holds the text); Escape or the line's ✕
 * goes back to sending. Typing tells the others (`setTyping`), which ends by itself, and on send.
 */
import type { ChatMessage, ConversationHandle, MessageId } from "@wbk/client-sdk";
import { el, errorMessage, isolate, showError } from "../dom.js";

/** The composer grows with its text up to this height, then scrolls. */
const COMPOSER_MAX_PX = 160;

type Mode = { kind: "send" } | { kind: "reply"; to: ChatMessage } | { kind: "edit"; message: ChatMessage };

export interface ComposerOptions {
  /** The author's name as the log shows it ("You" for the user). */
  authorName(message: ChatMessage): string;
  /** The attach-video button, first in the row. */
  attach: HTMLElement;
}

export interface Composer {
  readonly element: HTMLFormElement;
  reply(message: ChatMessage): void;
  edit(message: ChatMessage): void;
  /** Shows a failure under the box (`null` clears it). */
  showError(message: string | null): void;
  /** The message being edited or answered was deleted: go back to sending. */
  forget(messageId: string): void;
  focus(): void;
  dispose(): void;
}

export function composerView(handle: ConversationHandle, options: ComposerOptions): Composer {
  const box = el("textarea", {
    "data-testid": "composer",
    rows: "1",
    placeholder: "Message",
    "aria-label": "Message",
    enterkeyhint: "send",
  });
  const send = el("button", { type: "submit", class: "primary", "data-testid": "send" }, "Send");
  const contextText = el("span", { class: "composer-context-text", "data-testid": "composer-context-text" });
  const cancel = el("button", { type: "button", class: "icon", "data-testid": "composer-cancel", "aria-label": "Cancel" }, "✕");
  const context = el("div", { class: "composer-context", "data-testid": "composer-context", hidden: true }, contextText, cancel);
  const form = el("form", { class: "composer" }, context, options.attach, box, send);
  let mode: Mode = { kind: "send" };

  function setMode(next: Mode): void {
    const wasEdit = mode.kind === "edit";
    mode = next;
    context.hidden = next.kind === "send";
    context.dataset.mode = next.kind;
    send.textContent = next.kind === "edit" ? "Save" : "Send";
    if (next.kind === "reply") {
      const quoted = next.to.kind === "video" && !next.to.text ? "Video" : next.to.text;
      contextText.replaceChildren("Replying to ", isolate(options.authorName(next.to)), ": ", isolate(quoted));
    } else if (next.kind === "edit") {
      contextText.replaceChildren("Editing your message");
      box.value = next.message.text;
    }
    // Leaving an edit leaves no half-edited text behind to be sent as a new message.
    if (wasEdit && next.kind !== "edit") box.value = "";
    fit();
  }

  cancel.addEventListener("click", () => {
    setMode({ kind: "send" });
    box.focus();
  });

  box.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && mode.kind !== "send") {
      event.preventDefault();
      setMode({ kind: "send" });
      return;
    }
    // isComposing: Enter also confirms an IME candidate (Chinese, Japanese…); that is no send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing) return;
    event.preventDefault();
    form.requestSubmit();
  });
  box.addEventListener("input", () => {
    fit();
    // Editing an old message is not "typing" to the others.
    if (mode.kind !== "edit") handle.setTyping(box.value.trim() !== "");
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(form, "form-error", null);
    if (mode.kind === "edit") await saveEdit(mode.message);
    else await sendText(mode.kind === "reply" ? mode.to.id : undefined);
  });

  async function sendText(replyTo: MessageId | undefined): Promise<void> {
    const text = box.value;
    if (text.trim() === "") return;
    // Cleared before the send settles so fast typists can go on; restored if it fails.
    const before = mode;
    box.value = "";
    setMode({ kind: "send" });
    try {
      await handle.send(text, replyTo === undefined ? {} : { replyTo });
    } catch (err) {
      if (box.value === "") {
        box.value = text;
        if (before.kind === "reply") setMode(before);
      }
      fit();
      showError(form, "form-error", errorMessage(err));
    }
  }

  async function saveEdit(message: ChatMessage): Promise<void> {
    const text = box.value;
    if (text === message.text) {
      setMode({ kind: "send" });
      return;
    }
    send.disabled = true;
    try {
      // An empty text is refused by the SDK with its reason, shown below.
      await handle.edit(message.id, text);
      if (mode.kind === "edit" && mode.message.id === message.id) setMode({ kind: "send" });
    } catch (err) {
      showError(form, "form-error", errorMessage(err));
    } finally {
      send.disabled = false;
    }
  }

  function fit(): void {
    box.style.height = "auto";
    box.style.height = `${Math.min(box.scrollHeight, COMPOSER_MAX_PX)}px`;
  }

  function focusEnd(): void {
    box.focus();
    box.setSelectionRange(box.value.length, box.value.length);
  }

  return {
    element: form,
    reply(message) {
      setMode({ kind: "reply", to: message });
      focusEnd();
    },
    edit(message) {
      setMode({ kind: "edit", message });
      focusEnd();
    },
    showError: (message) => showError(form, "form-error", message),
    forget(messageId) {
      const current = mode.kind === "reply" ? mode.to.id : mode.kind === "edit" ? mode.message.id : null;
      if (current === messageId) setMode({ kind: "send" });
    },
    focus: () => box.focus(),
    dispose() {
      handle.setTyping(false);
    },
  };
}
