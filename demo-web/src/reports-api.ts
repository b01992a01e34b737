/**
 * The two weekly-report calls (README "Weekly reports"). The SDK has no report calls, so the
 * page asks the server itself: same origin, signed in by the session cookie. Admins only;
 * anyone else gets 403 `forbidden`.
 *
 * The shape mirrors DESIGN.md "The weekly report"; the page imports only the SDK, so it is
 * declared here rather than taken from `@wbk/shared`.
 */

export const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

/** The action keys a report counts, in DESIGN.md's order. */
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

/** `?week=`: an ISO week label like "2026-W48", or the week so far. */
export type WeekQuery = "current" | (string & {});

export interface ReportTotals {
  activeUsers: number;
  messages: number;
  videos: number;
  videoBytes: number;
  apiCalls: number;
}

export interface ReportUser {
  userId: string;
  email: string;
  displayName: string;
  messages: number;
  videos: number;
  videoBytes: number;
  /** Requests by "METHOD /route/:pattern", failures included. */
  apiCalls: Record<string, number>;
  /** Conversations the user wrote to. */
  conversations: number;
  /** ISO 8601 with the report time zone's offset. */
  firstSeen: string;
  lastSeen: string;
}

export interface ReportConversation {
  conversationId: string;
  title: string;
  messages: number;
  videos: number;
  activeUsers: number;
}

export interface WeeklyReport {
  week: string;
  /** Local Monday 00:00 (inclusive) to the next Monday 00:00 (exclusive), with offsets. */
  from: string;
  to: string;
  timezone: string;
  generatedAt: string;
  /** True for `current`: the week so far. */
  partial: boolean;
  totals: ReportTotals;
  users: ReportUser[];
  actions: Record<ReportAction, number>;
  conversations: ReportConversation[];
  /** 7 counts of actions, index 0 = Monday. */
  byDay: number[];
  /** 24 counts of actions by local hour. */
  byHour: number[];
}

export interface ReportIndex {
  /** Weeks with a stored report, oldest first. */
  weeks: string[];
}

/** A refused or failed report call: the server's code, or `network_error` (status 0). */
export class ReportApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = "ReportApiError";
  }
}

/** A network that takes requests but answers nothing: give up after this long. */
const TIMEOUT_MS = 15_000;

export const REPORT_INDEX_PATH = "/api/reports/weekly/index";

/** The endpoint of one week's report, also what the page links to as "JSON". */
export function weeklyReportPath(week: WeekQuery): string {
  return `/api/reports/weekly?${new URLSearchParams({ week })}`;
}

/** Every week with a stored report, oldest first. Rejects with 403 `forbidden` for non-admins. */
export function fetchReportIndex(signal?: AbortSignal): Promise<ReportIndex> {
  return getJson<ReportIndex>(REPORT_INDEX_PATH, signal);
}

/** One week's report; `current` is computed on every call and is `partial`. */
export function fetchWeeklyReport(week: WeekQuery, signal?: AbortSignal): Promise<WeeklyReport> {
  return getJson<WeeklyReport>(weeklyReportPath(week), signal);
}

async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  const timeout = AbortSignal.timeout(TIMEOUT_MS);
  let response: Response;
  try {
    response = await fetch(path, {
      credentials: "same-origin",
      headers: { accept: "application/json" },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
  } catch (err) {
    if (signal?.aborted) throw new ReportApiError("aborted", "the request was cancelled");
    const why = timeout.aborted ? "no answer in time" : err instanceof Error ? err.message : String(err);
    throw new ReportApiError("network_error", `could not reach the server: ${why}`);
  }
  if (response.ok) return (await response.json()) as T;
  let error: { code?: string; message?: string } | undefined;
  try {
    error = ((await response.json()) as { error?: typeof error }).error;
  } catch {
    // not the server's error body (a proxy's page, say)
  }
  throw new ReportApiError(error?.code ?? "http_error", error?.message ?? `HTTP ${response.status}`, response.status);
}
