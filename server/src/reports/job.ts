/**
 * The weekly report job: croner runs it at REPORT_CRON in REPORT_TZ (default Mondays 00:05).
 * croner fires a skipped local time once at the jump and a repeated one once, so the job runs
 * once a week across daylight-saving changes; and a second run stores nothing new anyway.
 */
import { Cron } from "croner";
import type { Logger } from "../log.js";

export interface ReportJobOptions {
  cron: string;
  timezone: string;
  run: () => void;
  logger: Logger;
}

/** Throws croner's message when the pattern is not a cron expression (checked at start). */
export function checkCron(pattern: string, timezone: string): void {
  new Cron(pattern, { timezone, paused: true }).stop();
}

/** The next `count` times the job would run after `from`. */
export function nextRuns(pattern: string, timezone: string, count: number, from: Date): Date[] {
  const cron = new Cron(pattern, { timezone, paused: true });
  try {
    return cron.nextRuns(count, from);
  } finally {
    cron.stop();
  }
}

export function scheduleReportJob(options: ReportJobOptions): { stop(): void } {
  const job = new Cron(
    options.cron,
    {
      name: "weekly-report",
      timezone: options.timezone,
      // A run still going (a long catch-up) is not started twice.
      protect: true,
      // Never what keeps the process alive; the HTTP server does that.
      unref: true,
      catch: (error) => options.logger.error({ err: error }, "weekly report job failed"),
    },
    () => options.run(),
  );
  return { stop: () => job.stop() };
}
