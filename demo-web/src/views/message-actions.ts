/**
 * What one can do with a message: react, reply, edit, delete. Every message has a visible "⋯"
 * button (phones have no hover); it opens this panel inside the message, one at a time. The
 * panel is ordinary buttons: Tab moves through them, Escape closes it and gives the focus back
 * to the "⋯" button. Deleting asks once more, in the panel.
 */
import type { ChatMessage } from "@wbk/client-sdk";
import { el } from "../dom.js";

/** The picker's emojis; a message shows other ones too when another app sent them. */
export const REACTIONS = ["👍", "❤️", "😂", "😮", "😢", "🎉"] as const;

export interface ActionsOptions {
  /** The message as it is now (null once it is gone from the log). */
  find(messageId: string): ChatMessage | null;
  ownId: string | undefined;
  /** Whether the user may delete others' messages (admins). */
  isAdmin(): boolean;
  react(messageId: string, emoji: string): void;
  reply(message: ChatMessage): void;
  edit(message: ChatMessage): void;
  delete(messageId: string): void;
  /** The panel opened or closed: the rows' "⋯" buttons show it. */
  onToggle(): void;
}

export interface MessageActions {
  /** The message whose panel is open, or null. */
  readonly openId: string | null;
  /** Opens the panel of `messageId` under `button`, or closes it when it is open. */
  toggle(messageId: string, button: HTMLButtonElement): void;
  close(returnFocus?: boolean): void;
  dispose(): void;
}

export function messageActions(options: ActionsOptions): MessageActions {
  const panel = el("div", { class: "message-actions", role: "group", "aria-label": "Message actions", "data-testid": "message-actions" });
  let openId: string | null = null;
  let opener: HTMLButtonElement | null = null;

  function build(message: ChatMessage): void {
    const own = message.authorId === options.ownId;
    const mine = options.ownId === undefined ? undefined : message.reactions[options.ownId];
    const picker = el(
      "div",
      { class: "reaction-picker", role: "group", "aria-label": "React" },
      ...REACTIONS.map((emoji) => {
        const button = el(
          "button",
          { type: "button", "data-testid": "react-option", "data-emoji": emoji, "aria-pressed": String(emoji === mine), "aria-label": `React with ${emoji}` },
          emoji,
        );
        button.addEventListener("click", () => run(() => options.react(message.id, emoji)));
        return button;
      }),
    );
    const buttons = el("div", { class: "action-buttons" });
    const add = (label: string, testId: string, action: () => void, danger = false) => {
      const button = el("button", { type: "button", "data-testid": testId, class: danger ? "danger" : undefined }, label);
      button.addEventListener("click", action);
      buttons.append(button);
    };
    add("Reply", "action-reply", () => run(() => options.reply(message)));
    // The server lets authors edit the text of their text messages only.
    if (own && message.kind === "text") add("Edit", "action-edit", () => run(() => options.edit(message)));
    if (own || options.isAdmin()) add("Delete", "action-delete", () => confirmDelete(message.id, buttons), true);
    panel.replaceChildren(picker, buttons);
  }

  function confirmDelete(messageId: string, buttons: HTMLElement): void {
    const yes = el("button", { type: "button", class: "danger", "data-testid": "action-delete-confirm" }, "Delete");
    const no = el("button", { type: "button", "data-testid": "action-delete-cancel" }, "Keep");
    yes.addEventListener("click", () => run(() => options.delete(messageId)));
    no.addEventListener("click", () => close(true));
    buttons.replaceChildren(el("span", { class: "confirm" }, "Delete for everyone?"), yes, no);
    no.focus();
  }

  /** Closes the panel, then acts: the action may re-render the row. */
  function run(action: () => void): void {
    close(false);
    action();
  }

  function open(messageId: string, button: HTMLButtonElement): void {
    const message = options.find(messageId);
    const row = button.closest<HTMLElement>(".message");
    if (!message || !row) return;
    openId = messageId;
    opener = button;
    build(message);
    row.append(panel);
    options.onToggle();
    panel.querySelector<HTMLButtonElement>("button")?.focus({ preventScroll: true });
    panel.scrollIntoView({ block: "nearest" });
  }

  function close(returnFocus = true): void {
    if (openId === null) return;
    const focusBack = returnFocus && panel.contains(document.activeElement) ? opener : null;
    openId = null;
    opener = null;
    panel.remove();
    options.onToggle();
    focusBack?.focus({ preventScroll: true });
  }

  panel.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.stopPropagation();
    close(true);
  });
  // Tabbing out of it closes it too, so no menu stays open behind the focus.
  panel.addEventListener("focusout", (event) => {
    const next = event.relatedTarget as Node | null;
    if (next && !panel.contains(next) && !opener?.contains(next)) close(false);
  });
  // A tap or click anywhere else closes it, as menus do.
  const onPointerDown = (event: PointerEvent) => {
    const target = event.target as Node | null;
    if (openId === null || !target || panel.contains(target) || opener?.contains(target)) return;
    close(false);
  };
  document.addEventListener("pointerdown", onPointerDown);

  return {
    get openId() {
      return openId;
    },
    toggle(messageId, button) {
      const wasOpen = openId === messageId;
      close(false);
      if (!wasOpen) open(messageId, button);
    },
    close,
    dispose() {
      document.removeEventListener("pointerdown", onPointerDown);
    },
  };
}
