/**
 * The weekly report's wire shape (DESIGN.md "The weekly report") and ISO week labels.
 * Week labels are civil: "2026-W01" names the ISO week whatever the time zone; where that
 * week starts and ends in time is the server's business (REPORT_TZ).
 */
import { z } from "zod";

/** The action keys a report counts, in the order DESIGN.md lists them. */
export const REPORT_ACTIONS = [
  "message.sent",
  "message.edited",
  "message.deleted",
  "video.shared",
  "reaction.set",
  "read.updated",
  "member.added",
  "conversation.created",
  "user.registered",
] as const;

export type ReportAction = (typeof REPORT_ACTIONS)[number];

const DAY_MS = 86_400_000;
const LABEL = /^(\d{4})-W(\d{2})$/;

/** ISO year and week of a civil date given as days since 1970-01-01. */
export function isoWeekOfDay(day: number): { year: number; week: number } {
  const weekday = (new Date(day * DAY_MS).getUTCDay() + 6) % 7;
  // The ISO week belongs to the year that holds its Thursday.
  const thursday = day - weekday + 3;
  const year = new Date(thursday * DAY_MS).getUTCFullYear();
  const jan1 = Date.UTC(year, 0, 1) / DAY_MS;
  return { year, week: Math.floor((thursday - jan1) / 7) + 1 };
}

/** 52 or 53: 28 December always lies in the last ISO week of its year. */
export function isoWeeksInYear(year: number): number {
  return isoWeekOfDay(Date.UTC(year, 11, 28) / DAY_MS).week;
}

/** Monday of the ISO week as days since 1970-01-01 (4 January is always in week 1). */
export function mondayOfIsoWeek(year: number, week: number): number {
  const jan4 = Date.UTC(year, 0, 4) / DAY_MS;
  return jan4 - ((new Date(jan4 * DAY_MS).getUTCDay() + 6) % 7) + (week - 1) * 7;
}

export function formatWeekLabel(year: number, week: number): string {
  return `${String(year).padStart(4, "0")}-W${String(week).padStart(2, "0")}`;
}

/** Year and week of a label like "2026-W48"; null when malformed or the year has no such week. */
export function parseWeekLabel(label: string): { year: number; week: number } | null {
  const match = LABEL.exec(label);
  if (!match) return null;
  const year = Number(match[1]);
  const week = Number(match[2]);
  if (year < 1970 || week < 1 || week > isoWeeksInYear(year)) return null;
  return { year, week };
}

const LABEL_MESSAGE = "week must be an ISO week like 2026-W48 that exists";
/** The pattern shows in the OpenAPI document; the refinement refuses weeks a year lacks (W53). */
export const weekLabelSchema = z
  .string()
  .regex(LABEL, { message: LABEL_MESSAGE, abort: true })
  .refine((s) => parseWeekLabel(s) !== null, LABEL_MESSAGE);

const QUERY_MESSAGE = 'week must be "current" or an ISO week like 2026-W48 that exists';
/** `?week=`: an ISO week label or `current` (the week so far, computed live). */
export const weekQuerySchema = z
  .string()
  .regex(/^(current|\d{4}-W\d{2})$/, { message: QUERY_MESSAGE, abort: true })
  .refine((s) => s === "current" || parseWeekLabel(s) !== null, QUERY_MESSAGE);

const count = z.number().int().min(0);
const time = z.iso.datetime({ offset: true });

export const reportUserSchema = z.object({
  userId: z.string(),
  email: z.string(),
  displayName: z.string(),
  messages: count,
  videos: count,
  videoBytes: count,
  /** Requests by "METHOD /route/:pattern", failures included. */
  apiCalls: z.record(z.string(), count),
  /** Conversations the user wrote to (messages, edits, deletions, videos, reactions). */
  conversations: count,
  firstSeen: time,
  lastSeen: time,
});

export const reportConversationSchema = z.object({
  conversationId: z.string(),
  title: z.string(),
  messages: count,
  videos: count,
  activeUsers: count,
});

export const weeklyReportSchema = z.object({
  week: z.string(),
  from: time,
  to: time,
  timezone: z.string(),
  generatedAt: time,
  partial: z.boolean(),
  totals: z.object({ activeUsers: count, messages: count, videos: count, videoBytes: count, apiCalls: count }),
  users: z.array(reportUserSchema),
  actions: z.object(Object.fromEntries(REPORT_ACTIONS.map((key) => [key, count])) as Record<ReportAction, typeof count>),
  conversations: z.array(reportConversationSchema),
  byDay: z.array(count).length(7),
  byHour: z.array(count).length(24),
});

export type WeeklyReport = z.infer<typeof weeklyReportSchema>;
export type ReportUser = z.infer<typeof reportUserSchema>;
export type ReportConversation = z.infer<typeof reportConversationSchema>;

export const reportIndexSchema = z.object({ weeks: z.array(weekLabelSchema) });
export type ReportIndex = z.infer<typeof reportIndexSchema>;
