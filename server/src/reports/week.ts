/**
 * ISO weeks in a time zone (DESIGN.md "The weekly report"): a week runs from local Monday
 * 00:00 (inclusive) to the next local Monday 00:00 (exclusive), so it has its true length
 * across daylight saving (169 hours in Europe/Berlin's last week of October). Zone rules come
 * from Intl.DateTimeFormat; no date library.
 */
import { formatWeekLabel, isoWeekOfDay, mondayOfIsoWeek, parseWeekLabel } from "@wbk/shared";

const DAY_MS = 86_400_000;

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timeZone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    });
    formatters.set(timeZone, formatter);
  }
  return formatter;
}

/**
 * The local wall-clock time of an instant, as milliseconds since 1970-01-01T00:00 of a clock
 * that never shifts (so day and hour arithmetic on it is plain division).
 */
export function wallClock(instant: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const part of formatterFor(timeZone).formatToParts(new Date(instant))) {
    if (part.type !== "literal") parts[part.type] = Number(part.value);
  }
  const seconds = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return seconds + (((instant % 1000) + 1000) % 1000);
}

/** The zone's offset from UTC at the instant, in ms (east positive). */
export function offsetAt(instant: number, timeZone: string): number {
  return wallClock(instant, timeZone) - instant;
}

/**
 * The first instant of a local civil day (days since 1970-01-01). A repeated midnight gives
 * its first occurrence; a skipped one (a zone that springs forward at 00:00) gives the jump.
 */
export function startOfDay(day: number, timeZone: string): number {
  const wall = day * DAY_MS;
  // Offsets on either side of any nearby change; one of them is in force at local midnight.
  const offsets = new Set([offsetAt(wall - DAY_MS, timeZone), offsetAt(wall, timeZone), offsetAt(wall + DAY_MS, timeZone)]);
  const candidates = [...offsets].map((offset) => wall - offset).sort((a, b) => a - b);
  const exact = candidates.find((t) => wallClock(t, timeZone) === wall);
  if (exact !== undefined) return exact;
  // Midnight never happens that day: search the jump, the first instant at or past it.
  let low = candidates[0]!;
  let high = candidates.at(-1)!;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    if (wallClock(middle, timeZone) >= wall) high = middle;
    else low = middle;
  }
  return high;
}

export interface WeekBounds {
  week: string;
  /** Monday as days since 1970-01-01. */
  monday: number;
  from: number;
  to: number;
}

/** Where a labelled week starts and ends in the zone; throws on a malformed label. */
export function weekBounds(label: string, timeZone: string): WeekBounds {
  const parsed = parseWeekLabel(label);
  if (!parsed) throw new Error(`not an ISO week: ${label}`);
  const monday = mondayOfIsoWeek(parsed.year, parsed.week);
  return { week: label, monday, from: startOfDay(monday, timeZone), to: startOfDay(monday + 7, timeZone) };
}

/** The label of the week holding the instant in the zone. */
export function weekOf(instant: number, timeZone: string): string {
  const { year, week } = isoWeekOfDay(Math.floor(wallClock(instant, timeZone) / DAY_MS));
  return formatWeekLabel(year, week);
}

/** The label `count` weeks after (or before, when negative) the given one. */
export function addWeeks(label: string, count: number): string {
  const parsed = parseWeekLabel(label);
  if (!parsed) throw new Error(`not an ISO week: ${label}`);
  const { year, week } = isoWeekOfDay(mondayOfIsoWeek(parsed.year, parsed.week) + count * 7);
  return formatWeekLabel(year, week);
}

/** Labels compare like their weeks: fixed-width year, then fixed-width week. */
export function compareWeeks(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The local wall clock (as `wallClock`) for instants inside the week. A week whose offset is
 * the same at its start, at every 24 hours after it and at its last millisecond keeps one
 * offset throughout, so an instant needs no Intl call (a report maps hundreds of them). The
 * closest two changes of any zone Intl knows from 1970 to 2050 are about a week apart (Brazil
 * 2000, Gaza 2040), so daily samples cannot miss a change undone within the week; any other
 * week (a daylight-saving change: 167 or 169 hours) asks Intl for each instant.
 */
export function weekWallClock(bounds: WeekBounds, timeZone: string): (instant: number) => number {
  const offset = offsetAt(bounds.from, timeZone);
  let steady = bounds.to - bounds.from === 7 * DAY_MS && offsetAt(bounds.to - 1, timeZone) === offset;
  for (let day = 1; steady && day < 7; day++) steady = offsetAt(bounds.from + day * DAY_MS, timeZone) === offset;
  return steady ? (instant) => instant + offset : (instant) => wallClock(instant, timeZone);
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/**
 * ISO 8601 with the zone's offset, e.g. 2026-10-26T00:00:00.000+01:00. `wall` is the instant's
 * local wall clock when the caller knows it already (see weekWallClock).
 */
export function formatInstant(instant: number, timeZone: string, wall = wallClock(instant, timeZone)): string {
  const date = new Date(wall);
  // Offsets with seconds (historic local mean time) are shown to the minute.
  const offsetMinutes = Math.round((wall - instant) / 60_000);
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}.${pad(date.getUTCMilliseconds(), 3)}` +
    `${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
  );
}

/**
 * Week bounds in one zone, remembered: which week holds an instant costs no Intl call while
 * instants stay in the weeks seen last (the storage asks on every counted write).
 */
export class WeekCalendar {
  private readonly known = new Map<string, WeekBounds>();
  /** The weeks that answered last, newest first: writes come in time order, give or take. */
  private recent: WeekBounds[] = [];

  constructor(readonly timeZone: string) {}

  bounds(label: string): WeekBounds {
    let bounds = this.known.get(label);
    if (!bounds) {
      bounds = weekBounds(label, this.timeZone);
      this.known.set(label, bounds);
    }
    return bounds;
  }

  /**
   * The week whose [from, to) holds the instant. Decided by the bounds, not by the local date
   * alone: where a zone repeats the hour before a Monday midnight, the repeat lies after that
   * Monday's `from` and belongs to the new week, as a query over [from, to) counts it.
   */
  containing(instant: number): WeekBounds {
    for (const bounds of this.recent) if (instant >= bounds.from && instant < bounds.to) return bounds;
    let bounds = this.bounds(weekOf(instant, this.timeZone));
    if (instant < bounds.from) bounds = this.bounds(addWeeks(bounds.week, -1));
    else if (instant >= bounds.to) bounds = this.bounds(addWeeks(bounds.week, 1));
    this.recent = [bounds, ...this.recent.slice(0, 3)];
    return bounds;
  }
}
