/**
 * Search in one conversation, on the server (`conversation.search`): a box under the chat
 * header, the matches newest first with the matching words marked, author and time, and
 * "More results" while there are older matches. Picking one shows it in the log.
 */
import { ChatError, SEARCH_QUERY_MAX, type ConversationHandle, type SearchResult } from "@wbk/client-sdk";
import { el, errorMessage, isolate, type View } from "../dom.js";
import { formatClock } from "../format.js";

/** Typing pauses this long before the search runs by itself (Enter runs it at once). */
const TYPING_PAUSE_MS = 350;
const PAGE_SIZE = 20;

export interface SearchOptions {
  /** "You" or the member's name. */
  authorName(authorId: string): string;
  /** Shows the message in the log. */
  pick(messageId: string): void;
  /** The Escape key or the close button: the panel should go. */
  close(): void;
}

export interface SearchView extends View {
  focus(): void;
}

export function searchView(handle: ConversationHandle, options: SearchOptions): SearchView {
  const input = el("input", {
    type: "search",
    name: "q",
    "data-testid": "search-input",
    placeholder: "Search this conversation",
    "aria-label": "Search this conversation",
    enterkeyhint: "search",
    autocomplete: "off",
    maxlength: String(SEARCH_QUERY_MAX),
  });
  const closeButton = el("button", { type: "button", class: "icon", "data-testid": "search-close", "aria-label": "Close search" }, "✕");
  const form = el("form", { class: "search-form", role: "search" }, input, closeButton);
  const status = el("p", { class: "search-status", "data-testid": "search-status", role: "status" });
  const results = el("ul", { class: "search-results", "data-testid": "search-results", "aria-label": "Search results" });
  const more = el("button", { type: "button", class: "link search-more", "data-testid": "search-more", hidden: true }, "More results");
  const element = el("section", { class: "search", "data-testid": "search", "aria-label": "Search" }, form, status, results, more);

  /** Answers to older requests are dropped: only the latest query's results show. */
  let request = 0;
  let next: number | null = null;
  let query = "";
  let timer: ReturnType<typeof setTimeout> | undefined;

  function setStatus(text: string, error = false): void {
    status.textContent = text;
    status.classList.toggle("error", error);
  }

  async function run(q: string, cursor?: number): Promise<void> {
    clearTimeout(timer);
    const mine = ++request;
    query = q;
    if (cursor === undefined) {
      results.replaceChildren();
      more.hidden = true;
    }
    if (q.trim() === "") {
      setStatus("Type a word to search for.");
      return;
    }
    setStatus("Searching…");
    try {
      const page = await handle.search(q, { limit: PAGE_SIZE, ...(cursor === undefined ? {} : { cursor }) });
      if (mine !== request) return;
      results.append(...page.results.map(resultRow));
      next = page.next;
      more.hidden = next === null;
      const count = results.childElementCount;
      setStatus(count === 0 ? `No messages match “${q}”.` : `${count}${next === null ? "" : "+"} ${count === 1 ? "match" : "matches"}`);
    } catch (err) {
      if (mine !== request) return;
      const offline = err instanceof ChatError && err.code === "network_error";
      setStatus(offline ? "Search needs the network: try again when you are online." : `Search failed: ${errorMessage(err)}`, true);
    }
  }

  function resultRow(result: SearchResult): HTMLElement {
    const date = new Date(result.createdAt);
    const sameDay = date.toDateString() === new Date().toDateString();
    const when = sameDay ? formatClock(date) : `${date.toLocaleDateString(undefined, { day: "numeric", month: "short" })} ${formatClock(date)}`;
    const button = el(
      "button",
      { type: "button", class: "search-result", "data-testid": "search-result", "data-message-id": result.messageId },
      el("span", { class: "search-meta" }, isolate(options.authorName(result.authorId)), el("time", { datetime: date.toISOString() }, when)),
      el("span", { class: "snippet", dir: "auto", "data-testid": "search-snippet" }, ...snippet(result)),
    );
    button.addEventListener("click", () => options.pick(result.messageId));
    return el("li", {}, button);
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    void run(input.value);
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (input.value.trim() === "") {
      request += 1;
      results.replaceChildren();
      more.hidden = true;
      setStatus("");
      return;
    }
    timer = setTimeout(() => void run(input.value), TYPING_PAUSE_MS);
  });
  more.addEventListener("click", () => {
    if (next !== null) void run(query, next);
  });
  closeButton.addEventListener("click", () => options.close());
  element.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    event.preventDefault();
    options.close();
  });

  return {
    element,
    focus: () => input.focus(),
    dispose() {
      clearTimeout(timer);
      request += 1;
    },
  };
}

/** The snippet with its match in a <mark>; text nodes only (the snippet is the users' text). */
function snippet({ snippet: text, highlight }: SearchResult): (Node | string)[] {
  if (!highlight || highlight.start >= highlight.end) return [text];
  return [text.slice(0, highlight.start), el("mark", {}, text.slice(highlight.start, highlight.end)), text.slice(highlight.end)];
}
