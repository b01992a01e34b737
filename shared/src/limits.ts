/** Limits the server enforces and the SDK checks before writing (served by GET /api/config). */
export interface Limits {
  /** Longest message text in UTF-16 code units; stops walls of text that no phone can render. */
  maxMessageChars: number;
  /** Largest single Yjs update (socket or HTTP sync body); stops memory blow-ups per message. */
  maxUpdateBytes: number;
  /** Largest video upload; stops one user filling the disk. */
  maxVideoBytes: number;
  /** Largest JSON request body. */
  maxBodyBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxMessageChars: 4000,
  maxUpdateBytes: 1024 * 1024,
  maxVideoBytes: 2 * 1024 * 1024 * 1024,
  maxBodyBytes: 64 * 1024,
};

/** Length limits of people-facing names (DESIGN.md "Authentication"). */
export const NAME_MAX = 100;
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;
/** Longest upload file name (most file systems stop at 255). */
export const FILENAME_MAX = 255;
/**
 * Longest search query (UTF-16 code units, after trimming): longer than any phrase people
 * type, short enough that a pasted wall of text cannot become a costly full-text query.
 */
export const SEARCH_QUERY_MAX = 200;
