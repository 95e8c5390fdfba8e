// Where a plan's traffic resets fall: the latest boundary at or before now, per reset policy. The
// calendar policies fall at 00:00 in the hub's reset time zone (reset_timezone); rolling_30d counts
// 30-day periods from each subscription's own last reset, so it has no shared boundary and the
// quota job computes it in SQL. Zone offsets come from Intl (Node's ICU time zone data): the wall
// date of an instant, and the instant of a wall midnight, found by correcting a UTC guess by the
// zone's offset there, twice so a DST change between the guess and the answer is accounted for.
export const RESET_POLICIES = ['none', 'daily', 'weekly', 'monthly', 'rolling_30d', 'yearly'] as const;
export type ResetPolicy = (typeof RESET_POLICIES)[number];
export type CalendarPolicy = Extract<ResetPolicy, 'daily' | 'weekly' | 'monthly' | 'yearly'>;

export const RESET_PERIOD_MS = 30 * 24 * 3_600_000;
/** monthly plans reset on a day that every month has. */
export const MAX_RESET_DAY = 28;

export interface WallDate {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
}

const formats = new Map<string, Intl.DateTimeFormat>();

export function wallClock(instant: number, timeZone: string) {
  let format = formats.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, Number(p.value)]));
  return { year: parts.year!, month: parts.month!, day: parts.day!, hour: parts.hour!, minute: parts.minute!, second: parts.second! };
}

/** The zone's offset from UTC at `instant`, in ms (whole seconds: sub-second parts are dropped on both sides). */
function offsetAt(instant: number, timeZone: string): number {
  const w = wallClock(instant, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/** The instant of 00:00 on `date` in the zone (or the first instant after it, where a DST change skips midnight). */
export function midnight({ year, month, day }: WallDate, timeZone: string): number {
  const wall = Date.UTC(year, month - 1, day);
  const guess = wall - offsetAt(wall, timeZone);
  const at = wall - offsetAt(guess, timeZone);
  return offsetAt(at, timeZone) === offsetAt(guess, timeZone) ? at : guess;
}

/** The calendar date `days` after `date` (negative: before). */
export function addDays({ year, month, day }: WallDate, days: number): WallDate {
  const d = new Date(Date.UTC(year, month - 1, day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate() };
}

/**
 * The latest reset boundary at or before `now` of a calendar policy: today's 00:00 (daily), this
 * Monday's (weekly), this month's `resetDay` or, before it, last month's (monthly), 1 January's (yearly).
 */
export function latestBoundary(policy: CalendarPolicy, now: number, timeZone: string, resetDay = 1): number {
  const today = wallClock(now, timeZone);
  const date: WallDate = (() => {
    switch (policy) {
      case 'daily':
        return today;
      case 'weekly':
        // getUTCDay: 0 is Sunday; Monday starts the week (ISO 8601).
        return addDays(today, -((new Date(Date.UTC(today.year, today.month - 1, today.day)).getUTCDay() + 6) % 7));
      case 'monthly':
        return today.day >= resetDay
          ? { year: today.year, month: today.month, day: resetDay }
          : { ...addDays({ year: today.year, month: today.month, day: 1 }, -1), day: resetDay };
      case 'yearly':
        return { year: today.year, month: 1, day: 1 };
    }
  })();
  return midnight(date, timeZone);
}
