/**
 * The chat header's second line: the members, with a green dot for those who have the
 * conversation open now, or, while anyone types, "Ben is typing…" in its place.
 */
import type { Conversation, PresenceState } from "@wbk/client-sdk";
import { el, setContent } from "../dom.js";
import { isolatedNames } from "../format.js";

export interface PresenceLine {
  /** The member line (`data-testid="chat-members"`). */
  readonly members: HTMLElement;
  /** "… is typing…" (`data-testid="typing-indicator"`), hidden while nobody types. */
  readonly typing: HTMLElement;
  show(state: PresenceState): void;
}

export function presenceLine(conversation: Conversation): PresenceLine {
  const members = el("p", { class: "members", "data-testid": "chat-members" });
  const typing = el("p", { class: "typing", "data-testid": "typing-indicator", role: "status", hidden: true });

  function show({ online, typing: typists }: PresenceState): void {
    const here = new Set<string>(online.map((user) => user.id));
    // The names are <bdi>s, so no name can reorder the next one.
    const names = conversation.members.map((member) => {
      const name = el("bdi", {}, member.displayName);
      if (here.has(member.id)) {
        name.className = "online";
        name.dataset.testid = "member-online";
      }
      return name;
    });
    members.replaceChildren(...names.flatMap((name, i) => (i === 0 ? [name] : [", ", name])));
    const onlineNames = online.map((user) => user.displayName);
    members.title = onlineNames.length > 0 ? `Online now: ${onlineNames.join(", ")}` : conversation.members.map((m) => m.displayName).join(", ");
    typing.hidden = typists.length === 0;
    members.hidden = !typing.hidden;
    const verb = typists.length === 1 ? " is typing…" : " are typing…";
    setContent(typing, typists.length === 0 ? [] : [...isolatedNames(typists.map((user) => user.displayName)), verb]);
  }

  return { members, typing, show };
}
