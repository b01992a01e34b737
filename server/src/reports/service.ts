/**
 * Weekly reports (DESIGN.md "The weekly report"): complete weeks are computed once and stored;
 * `current` is computed live. Weeks exist from the week of the first activity to the last
 * complete week; stored weeks outside that span (an earlier REPORT_TZ) are still served.
 */
import { WbkError, type ConversationId, type WeeklyReport } from "@wbk/shared";
import type { Logger } from "../log.js";
import type { Storage } from "../storage/types.js";
import { buildReport, idsIn } from "./build.js";
import { addWeeks, compareWeeks, formatInstant, weekOf, WeekCalendar, type WeekBounds } from "./week.js";

const DAY_MS = 86_400_000;

export interface ReportServiceOptions {
  storage: Storage;
  /** REPORT_TZ: where weeks, days and hours begin. */
  timezone: string;
  /** RETENTION_DAYS: log rows older than this are compacted once their week is stored; null keeps all. */
  retentionDays: number | null;
  now: () => number;
  /** Writes buffered request-log rows, so a report counts every request made before it. */
  flushRequestLog?: () => void;
  logger: Logger;
}

/** `--recompute` of a week whose log rows are gone: the stored report is all that is left. */
export class RecomputeRefused extends Error {
  override name = "RecomputeRefused";
}

export class ReportService {
  private readonly calendar: WeekCalendar;

  constructor(private readonly options: ReportServiceOptions) {
    this.calendar = new WeekCalendar(options.timezone);
  }

  /** What the weekly job does: store every complete week not stored yet, then apply retention. */
  runJob(): { stored: string[]; compacted: string[] } {
    const stored = this.catchUp();
    return { stored, compacted: this.compact() };
  }

  /** Computes and stores every complete week since the first activity that is not stored yet. */
  catchUp(): string[] {
    const span = this.span();
    if (!span) return [];
    const { reports } = this.options.storage;
    const stored = new Set(reports.weeks());
    const added: string[] = [];
    for (let week = span.first; compareWeeks(week, span.last) <= 0; week = addWeeks(week, 1)) {
      if (stored.has(week)) continue;
      const { report, bounds } = this.compute(week, false);
      // Another process may have stored it meanwhile; the database keeps the first.
      if (reports.putIfAbsent(report, bounds.from, bounds.to)) added.push(week);
    }
    if (added.length > 0) this.options.logger.info({ weeks: added }, "weekly reports stored");
    return added;
  }

  /** Deletes log rows past RETENTION_DAYS in stored weeks; the stored reports do not change. */
  compact(): string[] {
    if (this.options.retentionDays === null) return [];
    const weeks = this.options.storage.reports.compact(this.options.now() - this.options.retentionDays * DAY_MS);
    if (weeks.length > 0) this.options.logger.info({ weeks }, "log rows past RETENTION_DAYS compacted");
    return weeks;
  }

  /** A week's report (`current`: live and partial); `week_not_found` outside the span. */
  get(week: string): WeeklyReport {
    const { storage, timezone, now } = this.options;
    if (week === "current") return this.compute(weekOf(now(), timezone), true).report;
    const stored = storage.reports.get(week);
    if (stored) return stored.report;
    this.requireInSpan(week);
    // Complete but not stored yet (the job runs a few minutes after the week ends).
    const { report, bounds } = this.compute(week, false);
    storage.reports.putIfAbsent(report, bounds.from, bounds.to);
    return storage.reports.get(week)?.report ?? report;
  }

  /** Every week that has a report, oldest first. */
  index(): string[] {
    this.catchUp();
    return this.options.storage.reports.weeks();
  }

  /**
   * Computes the week again from the log tables themselves (not the rollups every other report
   * reads) and stores it over the old report.
   */
  recompute(week: string): WeeklyReport {
    const { storage, timezone } = this.options;
    const stored = storage.reports.get(week);
    if (!stored) this.requireInSpan(week);
    const refusal = (through: number) =>
      new RecomputeRefused(
        `${week} cannot be recomputed: its log rows before ${formatInstant(through, timezone)} were deleted ` +
          `(RETENTION_DAYS=${this.options.retentionDays ?? "unset now"}); the stored report is kept as it is`,
      );
    if (stored?.compactedThrough != null) throw refusal(stored.compactedThrough);
    const { report, bounds } = this.compute(week, false, "logs");
    if (!storage.reports.replace(report, bounds.from, bounds.to)) {
      throw refusal(storage.reports.get(week)?.compactedThrough ?? bounds.to);
    }
    return report;
  }

  /** The weeks that exist: from the week of the first activity to the last complete week. */
  private span(): { first: string; last: string } | null {
    const { storage, timezone, now } = this.options;
    const starts: string[] = [];
    const firstActivity = storage.activity.firstActivity();
    if (firstActivity !== null) starts.push(weekOf(firstActivity, timezone));
    // Compacted logs forget their oldest rows; the stored weeks remember them.
    const firstStored = storage.reports.weeks()[0];
    if (firstStored) starts.push(firstStored);
    const first = starts.sort(compareWeeks)[0];
    const last = addWeeks(weekOf(now(), timezone), -1);
    return first !== undefined && compareWeeks(first, last) <= 0 ? { first, last } : null;
  }

  private requireInSpan(week: string): void {
    const span = this.span();
    if (!span || compareWeeks(week, span.first) < 0 || compareWeeks(week, span.last) > 0) {
      const why = span
        ? `reports cover ${span.first} (the first activity) to ${span.last} (the last complete week)`
        : "there is no complete week of activity yet";
      throw new WbkError("week_not_found", `no report for ${week}: ${why}`);
    }
  }

  /** `rollups`: the counts kept as rows are written (every report); `logs`: the log tables. */
  private compute(week: string, partial: boolean, source: "rollups" | "logs" = "rollups"): { report: WeeklyReport; bounds: WeekBounds } {
    const { storage, timezone } = this.options;
    this.options.flushRequestLog?.();
    const bounds = this.calendar.bounds(week);
    const { actions, requests, timeline } =
      source === "logs" ? storage.activity.weekFromLogs(bounds.from, bounds.to) : storage.activity.week(bounds);
    const { userIds, conversationIds } = idsIn(actions, requests);
    const users = new Map(storage.users.byIds(userIds).map((user) => [user.id, user]));
    const titles = new Map<ConversationId, string>(
      conversationIds.map((id) => [id, storage.conversations.get(id)?.title ?? ""]),
    );
    const generatedAt = this.options.now();
    return {
      bounds,
      report: buildReport({ bounds, timezone, generatedAt, partial, actions, requests, timeline, users, titles }),
    };
  }
}
