/**
 * One message in the chat log: author, time, "edited", delivery tick, the actions button, the
 * message it replies to, its text (or video), reactions, and "Seen by …" under the user's own
 * newest message. Rows are updated in place on every change (`reconcile`), so each part is
 * rewritten only when what it shows changed: focus and text selection survive.
 */
import type { ChatMessage, ConversationHandle } from "@wbk/client-sdk";
import { el, setContent } from "../dom.js";
import { DELETED, DELIVERY, formatClock, isolatedNames, joinNames, messageBody, messageTime } from "../format.js";
import { REACTIONS } from "./message-actions.js";
import { renderVideo } from "./video.js";

export interface RowContext {
  readonly handle: ConversationHandle;
  readonly ownId: string | undefined;
  /** Members' display names by user id. */
  readonly names: ReadonlyMap<string, string>;
  /** The message that carries "Seen by …": the user's own newest one the server has stamped. */
  seenOn: string | null;
  /** Whether the actions of this message are open (its button says so). */
  isOpen(messageId: string): boolean;
  /** For an own video this page does not send: opens the file chooser to continue it. */
  pickAgain(message: ChatMessage): (() => void) | null;
  toggleActions(messageId: string, button: HTMLButtonElement): void;
  react(messageId: string, emoji: string): void;
  /** Shows the quoted message in the log. */
  jumpTo(messageId: string): void;
}

/** "You" for the user, the member's name, or a stand-in for someone no longer a member. */
export function authorName(ctx: RowContext, authorId: string): string {
  return authorId === ctx.ownId ? "You" : (ctx.names.get(authorId) ?? "Unknown member");
}

export function renderMessage(ctx: RowContext, message: ChatMessage, row: HTMLElement | undefined): HTMLElement {
  row ??= newRow(ctx);
  const own = message.authorId === ctx.ownId;
  row.dataset.messageId = message.id;
  row.dataset.authorId = message.authorId;
  row.dataset.own = String(own);
  row.classList.toggle("own", own);
  row.classList.toggle("deleted", message.deleted === true);

  const author = row.querySelector<HTMLElement>(".author")!;
  const name = authorName(ctx, message.authorId);
  setContent(author, [name]);
  author.title = name;
  const time = row.querySelector("time")!;
  const date = messageTime(message);
  time.dateTime = date.toISOString();
  time.title = date.toLocaleString();
  time.textContent = formatClock(date);

  const edited = row.querySelector<HTMLElement>(".edited")!;
  edited.hidden = message.editedAt === undefined || message.deleted === true;
  if (message.editedAt !== undefined) edited.title = `edited ${new Date(message.editedAt).toLocaleString()}`;

  renderDelivery(row, own ? message.delivery : undefined);
  const toggle = row.querySelector<HTMLButtonElement>(".actions-toggle")!;
  toggle.hidden = message.deleted === true;
  toggle.setAttribute("aria-expanded", String(ctx.isOpen(message.id)));

  renderQuote(ctx, row, message);
  const text = row.querySelector<HTMLElement>(".text")!;
  // A video's name and state are in its own block; the text line keeps only its caption.
  const video = renderVideo(row, message, text, ctx.pickAgain(message));
  setContent(text, video ? [message.text] : messageBody(message));
  renderReactions(ctx, row, message);
  renderSeen(ctx, row, message);
  return row;
}

function newRow(ctx: RowContext): HTMLElement {
  const toggle = el(
    "button",
    {
      type: "button",
      class: "actions-toggle",
      "data-testid": "message-actions-toggle",
      "aria-label": "Message actions",
      "aria-expanded": "false",
      title: "Reply, react, edit or delete",
    },
    "⋯",
  );
  const row = el(
    "li",
    // tabindex -1: a search result or a quote moves the focus here, for keyboard users.
    { class: "message", "data-testid": "message", tabindex: "-1" },
    el(
      "div",
      { class: "meta" },
      el("span", { class: "author", dir: "auto", "data-testid": "message-author" }),
      el("time", { "data-testid": "message-time" }),
      el("span", { class: "edited", "data-testid": "message-edited", hidden: true }, "edited"),
      toggle,
    ),
    el("button", { type: "button", class: "quote", "data-testid": "message-quote", hidden: true }),
    el("p", { class: "text", dir: "auto", "data-testid": "message-text" }),
    el("div", { class: "reactions", "data-testid": "message-reactions", hidden: true }),
    el("p", { class: "seen", "data-testid": "message-seen", hidden: true }),
  );
  toggle.addEventListener("click", () => ctx.toggleActions(row.dataset.messageId!, toggle));
  return row;
}

function renderDelivery(row: HTMLElement, state: ChatMessage["delivery"]): void {
  let badge = row.querySelector<HTMLElement>(".delivery");
  if (!state) {
    badge?.remove();
    return;
  }
  if (!badge) {
    badge = el("span", { class: "delivery", "data-testid": "message-delivery" });
    row.querySelector(".actions-toggle")!.before(badge);
  }
  badge.dataset.state = state;
  badge.title = DELIVERY[state].title;
  badge.setAttribute("aria-label", DELIVERY[state].title);
  badge.textContent = DELIVERY[state].tick;
}

/** The quoted message above a reply's text; "message deleted" when it is gone. */
function renderQuote(ctx: RowContext, row: HTMLElement, message: ChatMessage): void {
  const quote = row.querySelector<HTMLButtonElement>(".quote")!;
  const quoted = message.deleted ? null : ctx.handle.quoted(message.id);
  quote.hidden = quoted === null;
  if (quoted === null) return;
  const gone = quoted.deleted === true || !("authorId" in quoted);
  const author = gone ? "" : authorName(ctx, quoted.authorId);
  const text = gone ? DELETED : quoted.kind === "video" && !quoted.text ? "Video" : quoted.text;
  setContent(quote, [
    el("span", { class: "quote-author", dir: "auto", "data-testid": "quote-author", hidden: gone }, author),
    el("span", { class: "quote-text", dir: "auto", "data-testid": "quote-text" }, text),
  ]);
  quote.classList.toggle("gone", gone);
  quote.disabled = gone;
  quote.dataset.quotedId = quoted.id;
  quote.setAttribute("aria-label", gone ? `Reply to a ${DELETED}` : `Reply to ${author}: ${text}. Show it`);
  quote.onclick = () => ctx.jumpTo(quoted.id);
}

/** One chip per emoji with its count, the picker's emojis first; the user's own is pressed. */
function renderReactions(ctx: RowContext, row: HTMLElement, message: ChatMessage): void {
  const box = row.querySelector<HTMLElement>(".reactions")!;
  const byEmoji = new Map<string, string[]>();
  if (!message.deleted) {
    for (const [userId, emoji] of Object.entries(message.reactions)) {
      byEmoji.set(emoji, [...(byEmoji.get(emoji) ?? []), userId]);
    }
  }
  const order = (emoji: string) => {
    const i = (REACTIONS as readonly string[]).indexOf(emoji);
    return i < 0 ? REACTIONS.length : i;
  };
  const chips = [...byEmoji].sort(([a], [b]) => order(a) - order(b));
  const mine = ctx.ownId === undefined ? undefined : message.reactions[ctx.ownId];
  // Rebuilt only when the reactions changed, so a focused chip keeps its focus.
  const key = JSON.stringify([mine, chips]);
  box.hidden = chips.length === 0;
  if (box.dataset.key === key) return;
  box.dataset.key = key;
  box.replaceChildren(
    ...chips.map(([emoji, users]) => {
      const who = joinNames(users.map((id) => authorName(ctx, id)));
      const chip = el(
        "button",
        {
          type: "button",
          class: "reaction",
          "data-testid": "reaction",
          "data-emoji": emoji,
          "aria-pressed": String(emoji === mine),
          "aria-label": `${emoji} ${users.length}: ${who}`,
          title: who,
        },
        el("span", { class: "reaction-emoji" }, emoji),
        el("span", { class: "reaction-count", "data-testid": "reaction-count" }, String(users.length)),
      );
      chip.addEventListener("click", () => ctx.react(row.dataset.messageId!, emoji));
      return chip;
    }),
  );
}

/** "Seen by Ben" under the user's own newest stamped message, once another member read it. */
function renderSeen(ctx: RowContext, row: HTMLElement, message: ChatMessage): void {
  const seen = row.querySelector<HTMLElement>(".seen")!;
  const readers =
    message.id === ctx.seenOn
      ? ctx.handle
          .readBy(message.id)
          .filter((id) => id !== ctx.ownId)
          .map((id) => ctx.names.get(id) ?? "Unknown member")
          .sort((a, b) => a.localeCompare(b))
      : [];
  seen.hidden = readers.length === 0;
  setContent(seen, readers.length === 0 ? [] : ["Seen by ", ...isolatedNames(readers)]);
}
