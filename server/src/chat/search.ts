/**
 * Search in one conversation (DESIGN.md "REST API", search): members only, newest match first
 * (by `seq`, as chat users scroll back from now), paged with the `seq` cursor like the message
 * list. Each result carries a plain-text snippet around its first match and where the match
 * lies in it, so clients mark it without HTML.
 */
import type { ConversationId, SearchPage, SearchResult, UserId } from "@wbk/shared";
import type { Access } from "../access.js";
import type { MessageIndexer } from "../collab/indexMessages.js";
import type { SearchHit, Storage } from "../storage/types.js";

/** Context kept before the match, and the snippet's usual length (UTF-16 code units). */
const SNIPPET_BEFORE = 30;
const SNIPPET_LENGTH = 100;
const ELLIPSIS = "…";

const graphemes = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/**
 * About SNIPPET_LENGTH units of `text` around `match`, cut between graphemes (never inside an
 * emoji or a letter with its accents), line breaks and tabs as spaces (same length, so the
 * offsets hold).
 */
export function snippetOf(
  text: string,
  match: { start: number; end: number } | null,
): { snippet: string; highlight: { start: number; end: number } | null } {
  const wantedStart = match ? Math.max(0, match.start - SNIPPET_BEFORE) : 0;
  const wantedEnd = Math.max(match?.end ?? 0, Math.min(text.length, wantedStart + SNIPPET_LENGTH));
  let start = 0;
  let end = text.length;
  for (const { index, segment } of graphemes.segment(text)) {
    if (index <= wantedStart) start = index;
    const after = index + segment.length;
    if (after >= wantedEnd) {
      end = after;
      break;
    }
  }
  const prefix = start > 0 ? ELLIPSIS : "";
  const snippet = prefix + text.slice(start, end).replace(/[\n\r\t]/g, " ") + (end < text.length ? ELLIPSIS : "");
  const shift = prefix.length - start;
  return { snippet, highlight: match && { start: match.start + shift, end: match.end + shift } };
}

const toResult = (hit: SearchHit): SearchResult => ({
  messageId: hit.messageId,
  seq: hit.seq,
  ...snippetOf(hit.text, hit.match),
  authorId: hit.authorId,
  createdAt: hit.createdAt,
});

export function createSearchService(deps: { storage: Storage; access: Access; indexer: MessageIndexer }) {
  return {
    /** `q` is trimmed and checked by the route (shared `searchQueryTextSchema`). */
    search(userId: UserId, conversationId: ConversationId, query: { q: string; cursor?: number; limit: number }): SearchPage {
      deps.access.requireMember(userId, conversationId);
      deps.indexer.ensureFresh(conversationId);
      const hits = deps.storage.search.search(conversationId, query.q, query.cursor ?? null, query.limit + 1);
      const page = hits.slice(0, query.limit);
      return { results: page.map(toResult), next: hits.length > page.length ? (page.at(-1)?.seq ?? null) : null };
    },
  };
}

export type SearchService = ReturnType<typeof createSearchService>;
