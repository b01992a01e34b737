/**
 * Rate limits (DESIGN.md "Configuration": RATE_LIMIT_*; 0 turns one off). Sign-in and message
 * limits are counted in memory, per process: a restart forgets them, which costs an attacker
 * nothing they could not get by waiting a minute. The upload limit counts its table instead
 * (videos/service.ts), so it survives restarts.
 */
import { WbkError, type UserId } from "@wbk/shared";
import type { Logger } from "./log.js";

const MINUTE_MS = 60_000;

/**
 * At most `limit` events per key in any `windowMs`, counted from the times they were accepted.
 * Refused events are not counted, so the wait a refusal names is exact: it ends when enough
 * accepted events have left the window. Keys whose events all left are swept once per window:
 * memory holds only the last window's keys.
 */
export class SlidingWindow {
  /** Per key: accepted events oldest first as [time, count], and the sum of their counts. */
  private readonly keys = new Map<string, { events: Array<[number, number]>; total: number }>();
  private nextSweep = 0;

  constructor(
    readonly limit: number,
    private readonly windowMs: number,
    private readonly now: () => number,
  ) {}

  /**
   * Milliseconds until `count` more events of `key` fit; 0 when they fit now or the limit is off.
   * A batch larger than the whole limit fits only an empty window.
   */
  waitMs(key: string, count = 1): number {
    if (this.limit === 0) return 0;
    const now = this.now();
    const entry = this.live(key, now);
    if (!entry) return 0;
    let mustLeave = count > this.limit ? entry.total : entry.total + count - this.limit;
    if (mustLeave <= 0) return 0;
    for (const [at, n] of entry.events) {
      mustLeave -= n;
      // At most a window even if the clock went back since `at`.
      if (mustLeave <= 0) return Math.min(this.windowMs, at + this.windowMs - now);
    }
    return 0;
  }

  /** Keys held in memory now (what the sweep keeps bounded). */
  get size(): number {
    return this.keys.size;
  }

  /** Counts `count` events of `key` now. */
  record(key: string, count = 1): void {
    if (this.limit === 0 || count <= 0) return;
    const now = this.now();
    this.sweep(now);
    const entry = this.live(key, now) ?? { events: [], total: 0 };
    entry.events.push([now, count]);
    entry.total += count;
    this.keys.set(key, entry);
  }

  /** The key's events still in the window (dropping the others), or undefined when none are. */
  private live(key: string, now: number) {
    const entry = this.keys.get(key);
    if (!entry) return undefined;
    const cutoff = now - this.windowMs;
    while (entry.events.length > 0 && entry.events[0]![0] <= cutoff) entry.total -= entry.events.shift()![1];
    if (entry.events.length > 0) return entry;
    this.keys.delete(key);
    return undefined;
  }

  private sweep(now: number): void {
    if (now < this.nextSweep) return;
    this.nextSweep = now + this.windowMs;
    for (const key of this.keys.keys()) this.live(key, now);
  }
}

/**
 * The `rate_limited` error of a limit that frees up in `waitMs`: whole seconds, at least 1, in
 * the message and `details.retryAfterSeconds` (the HTTP answer's `Retry-After`). Logged with who
 * hit which limit; callers never pass a password.
 */
export function rateLimited(logger: Logger, hit: { limit: string } & Record<string, unknown>, rule: string, waitMs: number): WbkError {
  const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
  logger.warn({ ...hit, retryAfterSeconds }, "rate limit hit");
  return new WbkError("rate_limited", `${rule}; try again in ${retryAfterSeconds} s`, { retryAfterSeconds });
}

export interface RateLimitOptions {
  /** RATE_LIMIT_AUTH_PER_MIN: sign-in, sign-up and password checks per address, and per account. */
  authPerMin: number;
  /** RATE_LIMIT_MESSAGES_PER_MIN: new messages per user, whatever path they come by. */
  messagesPerMin: number;
  /** RATE_LIMIT_UPDATES_PER_MIN: Yjs updates a user's clients send, by socket or HTTP sync. */
  updatesPerMin: number;
  /** RATE_LIMIT_UPDATE_BYTES_PER_MIN: their bytes. */
  updateBytesPerMin: number;
  now: () => number;
  logger: Logger;
}

export class RateLimits {
  private readonly authByAddress: SlidingWindow;
  private readonly authByAccount: SlidingWindow;
  private readonly messagesByUser: SlidingWindow;
  private readonly updatesByUser: SlidingWindow;
  private readonly updatesBySecond: SlidingWindow;
  private readonly updateBytesByUser: SlidingWindow;

  constructor(private readonly options: RateLimitOptions) {
    this.authByAddress = new SlidingWindow(options.authPerMin, MINUTE_MS, options.now);
    this.authByAccount = new SlidingWindow(options.authPerMin, MINUTE_MS, options.now);
    this.messagesByUser = new SlidingWindow(options.messagesPerMin, MINUTE_MS, options.now);
    this.updatesByUser = new SlidingWindow(options.updatesPerMin, MINUTE_MS, options.now);
    // A minute's changes sent within a second kept the event loop for over a second (each is
    // its own commit): at most a thirtieth of them a second, and never fewer than 10.
    const perSecond = options.updatesPerMin === 0 ? 0 : Math.max(10, Math.ceil(options.updatesPerMin / 30));
    this.updatesBySecond = new SlidingWindow(perSecond, 1000, options.now);
    this.updateBytesByUser = new SlidingWindow(options.updateBytesPerMin, MINUTE_MS, options.now);
  }

  /**
   * A sign-up from `address`, or a password check (sign-in, password change) from `address` on
   * the account of `email`: counted, or refused with `rate_limited`. Per address it stops one
   * machine guessing; per account, many machines guessing one password (any email counts, known
   * or not, so the answer tells nothing about which accounts exist). Every attempt counts,
   * successful ones too, and before the password is checked: guesses sent in parallel cannot
   * slip through while their hashes run.
   */
  admitAuthAttempt(address: string, email: string | null): void {
    const byAddress = this.authByAddress.waitMs(address);
    const byAccount = email === null ? 0 : this.authByAccount.waitMs(email);
    if (byAddress > 0 || byAccount > 0) {
      const perAccount = byAccount > byAddress;
      throw rateLimited(
        this.options.logger,
        { limit: "RATE_LIMIT_AUTH_PER_MIN", per: perAccount ? "account" : "address", address, ...(email === null ? {} : { email }) },
        `at most ${this.authByAddress.limit} sign-in attempts a minute ${perAccount ? "on one account" : "from one address"}`,
        Math.max(byAddress, byAccount),
      );
    }
    this.authByAddress.record(address);
    if (email !== null) this.authByAccount.record(email);
  }

  /**
   * `count` new messages by `userId` in one write: counted, or refused with `rate_limited`.
   * Messages count, not updates. A write larger than the whole limit (a phone back online with
   * its offline messages) is let through when the user's window is empty; the user then waits
   * until it has passed. So one user gets at most one such burst a minute, itself bounded by
   * MAX_UPDATE_BYTES.
   */
  admitMessages(userId: UserId, count: number): void {
    const waitMs = this.messagesByUser.waitMs(userId, count);
    if (waitMs > 0) {
      throw rateLimited(
        this.options.logger,
        { limit: "RATE_LIMIT_MESSAGES_PER_MIN", userId, messages: count },
        `at most ${this.messagesByUser.limit} messages a minute`,
        waitMs,
      );
    }
    this.messagesByUser.record(userId, count);
  }

  /**
   * One Yjs update of `bytes` from a client of `userId`: counted, or refused with `rate_limited`
   * before the guard spends any work on it. Every change counts (reactions, reads, edits), also
   * those then refused: checking them costs the same. An update larger than the whole byte
   * limit (a phone back online) fits an empty window, as for messages.
   */
  admitUpdate(userId: UserId, bytes: number): void {
    // The rule that frees up last is the one named.
    const [hit] = [
      { waitMs: this.updateBytesByUser.waitMs(userId, bytes), limit: "RATE_LIMIT_UPDATE_BYTES_PER_MIN", rule: `at most ${this.updateBytesByUser.limit} bytes of changes a minute` },
      { waitMs: this.updatesByUser.waitMs(userId, 1), limit: "RATE_LIMIT_UPDATES_PER_MIN", rule: `at most ${this.updatesByUser.limit} changes a minute` },
      { waitMs: this.updatesBySecond.waitMs(userId, 1), limit: "RATE_LIMIT_UPDATES_PER_MIN", rule: `at most ${this.updatesBySecond.limit} changes a second` },
    ].sort((a, b) => b.waitMs - a.waitMs);
    if (hit!.waitMs > 0) throw rateLimited(this.options.logger, { limit: hit!.limit, userId, bytes }, hit!.rule, hit!.waitMs);
    this.updatesByUser.record(userId, 1);
    this.updatesBySecond.record(userId, 1);
    this.updateBytesByUser.record(userId, bytes);
  }
}
