/**
 * ISO weeks in a time zone (DESIGN.md "The weekly report"): a week runs from local Monday
 * 00:00 (inclusive) to the next local Monday 00:00 (exclusive), so it has its true length
 * across daylight saving (169 hours in Europe/Berlin's last week of October). Zone rules come
 * from Intl.DateTimeFormat; no date library.
 */
import { formatWeekLabel, isoWeekOfDay, mondayOfIsoWeek, parseWeekLabel } from "@wbk/shared";

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

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

/** Day of the week (0 = Monday) and hour of the day where the instant falls locally. */
export function localSlot(instant: number, monday: number, timeZone: string): { day: number; hour: number } {
  const wall = wallClock(instant, timeZone);
  return { day: Math.floor(wall / DAY_MS) - monday, hour: Math.floor((wall % DAY_MS) / HOUR_MS) };
}

const pad = (n: number, width = 2) => String(n).padStart(width, "0");

/** ISO 8601 with the zone's offset, e.g. 2026-10-26T00:00:00.000+01:00. */
export function formatInstant(instant: number, timeZone: string): string {
  const wall = wallClock(instant, timeZone);
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
