/**
 * The two weekly-report calls (README "Weekly reports"). The SDK has no report calls, so the
 * page asks the server itself: same origin, signed in by the session cookie. Admins only;
 * anyone else gets 403 `forbidden`.
 *
 * The report's types come through the SDK's public entry, which re-exports the shared contract.
 */
import { REPORT_ACTIONS, type ReportAction, type ReportIndex, type WeeklyReport } from "@wbk/client-sdk";

export const DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"] as const;

export { REPORT_ACTIONS };
export type { ReportAction, ReportIndex, WeeklyReport };
export type ReportTotals = WeeklyReport["totals"];
export type ReportUser = WeeklyReport["users"][number];

/** `?week=`: an ISO week label like "2026-W48", or the week so far. */
export type WeekQuery = "current" | (string & {});

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
