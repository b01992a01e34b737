/** How messages and their states read on screen. */
import type { ChatMessage, Conversation } from "@wbk/client-sdk";
import { isolate } from "./dom.js";

type DeliveryState = NonNullable<ChatMessage["delivery"]>;

/**
 * Tick and tooltip per delivery state (DESIGN.md "Update log and delivery"). The ticks are
 * plain text glyphs that ordinary fonts have: an emoji (🕓) shows as a box without an emoji font.
 */
export const DELIVERY: Record<DeliveryState, { tick: string; title: string }> = {
  unsaved: { tick: "…", title: "unsaved: not yet saved on this device" },
  pending: { tick: "◷", title: "pending: saved on this device, waiting for the server" },
  sent: { tick: "✓", title: "sent: the server has it" },
  stored: { tick: "✓✓", title: "stored: the server has saved it" },
};

/** The time of a message in milliseconds: the server's once stamped, else the writer's clock. */
export function messageMillis(message: ChatMessage): number {
  return message.serverTime ?? message.createdAt;
}

/** The time a message is shown with: the server's once stamped, else the writer's clock. */
export function messageTime(message: ChatMessage): Date {
  return new Date(messageMillis(message));
}

/** HH:MM in local time, built by hand because locale formats vary (12-hour, "24:05"). */
export function formatClock(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A byte count for people: "333.5 KB" (powers of 1000, like file managers on phones). */
export function formatBytes(n: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = n;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

/** A video's length as m:ss ("0:05", "75:00"), rounded to the second. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

/** What a deleted message (or a reply to one that is gone) shows instead of its text. */
export const DELETED = "message deleted";

/**
 * What a message says, as nodes for `append`/`replaceChildren`; videos and deletions get a
 * stand-in. Where the page adds words of its own around the user's text (a video's file name
 * and caption), each user part is a bidi isolate; a bare text is isolated by the block the
 * caller puts it in (give that block `dir="auto"`).
 */
export function messageBody(message: ChatMessage): (Node | string)[] {
  if (message.deleted) return [DELETED];
  if (message.kind === "video") {
    const name = isolate(message.video?.filename ?? "video");
    // Words, not an emoji: without an emoji font (many Linux desktops) 🎬 shows as a box.
    return message.text ? ["Video: ", name, " – ", isolate(message.text)] : ["Video: ", name];
  }
  return [message.text];
}

/** Members' display names by user id, for naming message authors. */
export function memberNames(conversation: Conversation): Map<string, string> {
  return new Map(conversation.members.map((member) => [member.id, member.displayName]));
}

/** "Ben", "Ben and Cat", "Ben, Cat and Dan": names in a sentence. */
export function joinNames(names: readonly string[]): string {
  if (names.length <= 1) return names[0] ?? "";
  return `${names.slice(0, -1).join(", ")} and ${names.at(-1)}`;
}

/** `joinNames` with each name a bidi isolate, as nodes. */
export function isolatedNames(names: readonly string[]): (Node | string)[] {
  return names.flatMap((name, i) => {
    if (i === 0) return [isolate(name)];
    return [i === names.length - 1 ? " and " : ", ", isolate(name)];
  });
}

/** The page's own title; the total of unread messages goes in front of it. */
export const PAGE_TITLE = "wbk-chat";

/** "(3) wbk-chat" while anything is unread, else "wbk-chat". */
export function pageTitle(unread: number): string {
  return unread > 0 ? `(${unread}) ${PAGE_TITLE}` : PAGE_TITLE;
}
