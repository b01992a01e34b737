/**
 * The weekly reports for admins (README "Weekly reports"): a week picker, the totals, who did
 * what, and when (by weekday and by hour), plus a link to the JSON itself.
 *
 * Times are shown as the report gives them, in its time zone (REPORT_TZ), not the browser's:
 * the buckets of the charts are that zone's days and hours too.
 */
import { el, errorMessage, isolate, showError, type View } from "../dom.js";
import { formatBytes } from "../format.js";
import {
  DAYS,
  REPORT_ACTIONS,
  ReportApiError,
  fetchReportIndex,
  fetchWeeklyReport,
  weeklyReportPath,
  type ReportTotals,
  type ReportUser,
  type WeekQuery,
  type WeeklyReport,
} from "../reports-api.js";

export interface ReportsOptions {
  onClose(): void;
}

export interface ReportsView extends View {
  /** Fetches the week list and the picked week again (called whenever the view is shown). */
  refresh(): void;
}

const SVG = "http://www.w3.org/2000/svg";

const TOTALS: { key: keyof ReportTotals; label: string }[] = [
  { key: "activeUsers", label: "Active users" },
  { key: "messages", label: "Messages" },
  { key: "videos", label: "Videos" },
  { key: "videoBytes", label: "Video bytes" },
  { key: "apiCalls", label: "API calls" },
];

export function reportsView(options: ReportsOptions): ReportsView {
  const close = el(
    "button",
    { type: "button", class: "back", "data-testid": "reports-close", "aria-label": "Back to conversations" },
    "←",
  );
  close.addEventListener("click", () => options.onClose());

  const picker = el("select", { "data-testid": "report-week", "aria-label": "Week" });
  picker.append(currentOption());
  const reload = el("button", { type: "button", "data-testid": "report-refresh" }, "Refresh");
  const json = el("a", { "data-testid": "report-json", target: "_blank", rel: "noopener" }, "JSON");
  const status = el("p", { class: "hint", role: "status", "data-testid": "report-status" });
  const body = el("div", { class: "report-body", "data-testid": "report" });

  const element = el(
    "section",
    { class: "reports", "data-testid": "reports-view", "aria-label": "Weekly reports" },
    el(
      "header",
      { class: "reports-header" },
      close,
      el("h2", {}, "Weekly reports"),
      el("div", { class: "report-controls" }, picker, reload, json),
    ),
    status,
    body,
  );

  /** Aborts the requests of the previous load: only the week picked last is shown. */
  let loading: AbortController | null = null;

  function showLink(week: WeekQuery): void {
    json.href = weeklyReportPath(week);
    json.title = `This report as JSON (${json.href})`;
  }

  async function load(week: WeekQuery, withIndex: boolean): Promise<void> {
    loading?.abort();
    const controller = new AbortController();
    loading = controller;
    showLink(week);
    showError(element, "report-error", null);
    status.textContent = "Loading…";
    element.setAttribute("aria-busy", "true");
    try {
      const [index, report] = await Promise.all([
        withIndex ? fetchReportIndex(controller.signal) : null,
        fetchWeeklyReport(week, controller.signal),
      ]);
      if (controller.signal.aborted) return;
      if (index) fillPicker(picker, index.weeks, week);
      body.replaceChildren(...renderReport(report));
      element.dataset.week = report.week;
      status.textContent = "";
    } catch (err) {
      if (controller.signal.aborted) return;
      status.textContent = "";
      const why = err instanceof ReportApiError && err.code === "forbidden" ? "Only admins may read reports." : errorMessage(err);
      showError(element, "report-error", `Could not load the report: ${why}`);
      // What is still on screen is some other week's: take it away.
      body.replaceChildren();
      delete element.dataset.week;
    } finally {
      if (loading === controller) {
        loading = null;
        element.removeAttribute("aria-busy");
      }
    }
  }

  picker.addEventListener("change", () => void load(picker.value, false));
  reload.addEventListener("click", () => void load(picker.value, true));

  return {
    element,
    refresh: () => void load(picker.value, true),
    dispose() {
      loading?.abort();
    },
  };
}

function currentOption(): HTMLOptionElement {
  return el("option", { value: "current" }, "This week so far");
}

/** "current" first, then the stored weeks newest first (the index lists them oldest first). */
function fillPicker(picker: HTMLSelectElement, weeks: readonly string[], selected: WeekQuery): void {
  const options = [currentOption(), ...[...weeks].reverse().map((week) => el("option", { value: week }, week))];
  picker.replaceChildren(...options);
  // A week no longer listed (it cannot happen today: stored reports never go) falls back.
  picker.value = options.some((option) => option.value === selected) ? selected : "current";
}

function renderReport(report: WeeklyReport): HTMLElement[] {
  const parts: HTMLElement[] = [];
  parts.push(
    el(
      "p",
      { class: "report-range", "data-testid": "report-range" },
      `${report.week}: ${report.from.slice(0, 10)} to ${lastDay(report.to)}, times in ${report.timezone}`,
    ),
  );
  if (report.partial) {
    parts.push(
      el(
        "p",
        { class: "notice", role: "note", "data-testid": "report-partial" },
        `Partial: this week is not over yet. These are the numbers so far, as of ${localTime(report.generatedAt)}.`,
      ),
    );
  }
  parts.push(
    el(
      "dl",
      { class: "report-totals", "data-testid": "report-totals" },
      ...TOTALS.map(({ key, label }) => {
        const value = report.totals[key];
        return el(
          "div",
          { class: "total" },
          el("dt", {}, label),
          el(
            "dd",
            { "data-total": key, "data-value": String(value), title: key === "videoBytes" ? `${count(value)} bytes` : undefined },
            key === "videoBytes" ? formatBytes(value) : count(value),
          ),
        );
      }),
    ),
  );

  const today = report.partial ? weekdayOf(report.generatedAt) : -1;
  parts.push(
    el(
      "section",
      { class: "report-section" },
      el("h3", {}, "Actions by day"),
      barChart("report-by-day", report.byDay, { slot: 40, labels: DAYS, highlight: today, name: (i) => DAYS[i] ?? "" }),
    ),
    el(
      "section",
      { class: "report-section" },
      el("h3", {}, "Actions by hour"),
      barChart("report-by-hour", report.byHour, {
        slot: 16,
        labels: report.byHour.map((_, hour) => (hour % 3 === 0 ? String(hour) : "")),
        highlight: report.partial ? Number(report.generatedAt.slice(11, 13)) : -1,
        name: (hour) => `${String(hour).padStart(2, "0")}:00–${String(hour).padStart(2, "0")}:59`,
      }),
    ),
    el("section", { class: "report-section" }, el("h3", {}, "Users"), usersTable(report.users)),
    el("section", { class: "report-section" }, el("h3", {}, "Actions"), actionsTable(report)),
  );
  return parts;
}

function usersTable(users: readonly ReportUser[]): HTMLElement {
  if (users.length === 0) return el("p", { class: "hint", "data-testid": "report-users" }, "Nobody was active.");
  const head = ["Name", "Email", "Messages", "Videos", "API calls", "Conversations", "First seen", "Last seen"];
  const table = el(
    "table",
    { "data-testid": "report-users" },
    el("thead", {}, el("tr", {}, ...head.map((label) => el("th", { scope: "col" }, label)))),
    el(
      "tbody",
      {},
      ...users.map((user) => {
        const calls = Object.entries(user.apiCalls).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
        const callTotal = calls.reduce((sum, [, n]) => sum + n, 0);
        return el(
          "tr",
          { "data-user-id": user.userId, "data-testid": "report-user" },
          // <bdi>: a name or email in another script (or with stray bidi controls) cannot
          // reorder the cells' text around it.
          el("th", { scope: "row", class: "cut", "data-col": "displayName", title: user.displayName }, isolate(user.displayName)),
          el("td", { class: "cut", "data-col": "email", title: user.email }, isolate(user.email)),
          numberCell("messages", user.messages),
          numberCell("videos", user.videos, user.videoBytes > 0 ? formatBytes(user.videoBytes) : undefined),
          numberCell("apiCalls", callTotal, calls.map(([route, n]) => `${route}: ${n}`).join("\n") || undefined),
          numberCell("conversations", user.conversations),
          timeCell("firstSeen", user.firstSeen),
          timeCell("lastSeen", user.lastSeen),
        );
      }),
    ),
  );
  return el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Users" }, table);
}

function actionsTable(report: WeeklyReport): HTMLElement {
  return el(
    "div",
    { class: "table-scroll" },
    el(
      "table",
      { class: "report-actions", "data-testid": "report-actions" },
      el(
        "tbody",
        {},
        ...REPORT_ACTIONS.map((action) =>
          el("tr", {}, el("th", { scope: "row" }, action), numberCell(action, report.actions[action] ?? 0)),
        ),
      ),
    ),
  );
}

function numberCell(column: string, value: number, title?: string): HTMLTableCellElement {
  return el("td", { class: "num", "data-col": column, "data-value": String(value), title }, count(value));
}

function timeCell(column: string, iso: string): HTMLTableCellElement {
  return el("td", { "data-col": column }, el("time", { datetime: iso, title: iso }, localTime(iso)));
}

interface ChartOptions {
  /** Width of one bucket in viewBox units: the chart scales to the page's width. */
  slot: number;
  /** Under each bar; "" leaves a bucket unlabelled. */
  labels: readonly string[];
  /** The bucket that is now (the current week's today or this hour), or -1. */
  highlight: number;
  /** A bucket's name for its tooltip and the screen-reader summary. */
  name(index: number): string;
}

/**
 * Plain SVG bars, one `<rect data-count>` per bucket, scaled to the largest. Every bar keeps
 * a sliver of height so an empty bucket still shows where it is.
 */
function barChart(testId: string, counts: readonly number[], { slot, labels, highlight, name }: ChartOptions): SVGSVGElement {
  const chartHeight = 100;
  const top = 14;
  const width = counts.length * slot;
  const height = top + chartHeight + 16;
  const max = Math.max(1, ...counts);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("class", "bar-chart");
  svg.setAttribute("data-testid", testId);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", counts.map((n, i) => `${name(i)}: ${n}`).join(", "));
  counts.forEach((n, i) => {
    const barHeight = Math.max(1, Math.round((n / max) * chartHeight));
    const x = i * slot;
    const rect = svgEl("rect", {
      x: String(x + slot * 0.15),
      y: String(top + chartHeight - barHeight),
      width: String(slot * 0.7),
      height: String(barHeight),
      rx: "2",
      class: n === 0 ? "bar empty" : "bar",
      "data-index": String(i),
      "data-count": String(n),
    });
    if (i === highlight) rect.setAttribute("data-current", "true");
    rect.append(svgEl("title", {}, `${name(i)}: ${n} ${n === 1 ? "action" : "actions"}`));
    svg.append(rect);
    if (n > 0 && counts.length <= 7) {
      svg.append(svgEl("text", { x: String(x + slot / 2), y: String(top + chartHeight - barHeight - 3), class: "bar-value" }, String(n)));
    }
    const label = labels[i];
    if (label) svg.append(svgEl("text", { x: String(x + slot / 2), y: String(height - 3), class: "bar-label" }, label));
  });
  return svg;
}

function svgEl(tag: string, attrs: Record<string, string>, text?: string): SVGElement {
  const node = document.createElementNS(SVG, tag) as SVGElement;
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

const numbers = new Intl.NumberFormat();
function count(n: number): string {
  return numbers.format(n);
}

/** "2026-03-02 14:05" of an ISO time with offset: the wall clock of the report's zone. */
function localTime(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
}

/** The last day of a week that ends (exclusive) at `to`. */
function lastDay(to: string): string {
  const [y, m, d] = to.slice(0, 10).split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, d! - 1)).toISOString().slice(0, 10);
}

/** 0 = Monday, of the civil date an ISO time with offset names. */
function weekdayOf(iso: string): number {
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  return (new Date(Date.UTC(y!, m! - 1, d!)).getUTCDay() + 6) % 7;
}
