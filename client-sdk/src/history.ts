/**
 * Which messages a chat screen shows: the newest page first, and older pages as the user asks
 * (`loadOlder`), so a long conversation fills the screen before all of it is rendered.
 * New messages join at the end; the oldest page loaded stays shown.
 */
export class HistoryWindow<T extends { id: string }> {
  /** The oldest message `loadOlder` brought in; null: only the newest page is shown. */
  private oldestId: string | null = null;

  /** `pageSize`: the newest page's length, and `older`'s unless it is given another. */
  constructor(readonly pageSize = 50) {}

  /** The shown tail of `all` (display order). */
  shown(all: readonly T[]): T[] {
    return all.slice(this.start(all));
  }

  /** The page just before what is shown, which is shown from now on ([] at the beginning). */
  older(all: readonly T[], count = this.pageSize): T[] {
    const start = this.start(all);
    const page = all.slice(Math.max(0, start - count), start);
    if (page.length > 0) this.oldestId = page[0]!.id;
    return page;
  }

  /** Whether messages older than the shown ones are in `all`. */
  hasOlder(all: readonly T[]): boolean {
    return this.start(all) > 0;
  }

  private start(all: readonly T[]): number {
    const newestPage = Math.max(0, all.length - this.pageSize);
    if (this.oldestId === null) return newestPage;
    const index = all.findIndex((m) => m.id === this.oldestId);
    return index < 0 ? newestPage : Math.min(index, newestPage);
  }
}
