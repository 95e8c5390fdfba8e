// Usage per calendar day in a time zone: the days of a range, each with the instant it starts, and
// hourly usage summed into them. Usage is kept per UTC hour, so an hour counts in the day it starts
// in: in a zone whose offset is not whole hours (Asia/Kolkata), the hour from 23:30 to 00:30 counts
// in the day before that midnight.
import { addDays, midnight, wallClock, type WallDate } from './reset-policies.js';
import { addBytes, noBytes, type ByteSums } from './usage-today.js';

const DAY_MS = 24 * 3_600_000;

/** A calendar date, YYYY-MM-DD. */
export type Day = string;

export interface CalendarDay {
  day: Day;
  /** Its 00:00 in the zone (ms). */
  start: number;
}

const pad = (n: number) => String(n).padStart(2, '0');
const label = ({ year, month, day }: WallDate): Day => `${year}-${pad(month)}-${pad(day)}`;
const parse = (day: Day): WallDate => {
  const [year, month, date] = day.split('-').map(Number);
  return { year: year!, month: month!, day: date! };
};

/** The date in the zone at `now`. */
export const dayAt = (now: number, timeZone: string): Day => label(wallClock(now, timeZone));

/** The date `days` after `day` (negative: before). */
export const shiftDay = (day: Day, days: number): Day => label(addDays(parse(day), days));

/** How many days `last` is after `first` (negative if before). */
export const daysBetween = (first: Day, last: Day): number => Math.round((Date.parse(last) - Date.parse(first)) / DAY_MS);

/** Every day from `first` to `last` (inclusive) in the zone, and the instant the day after `last` starts. */
export function calendarDays(first: Day, last: Day, timeZone: string): { days: CalendarDay[]; end: number } {
  const days: CalendarDay[] = [];
  const count = daysBetween(first, last) + 1;
  for (let i = 0; i < count; i++) {
    const day = shiftDay(first, i);
    days.push({ day, start: midnight(parse(day), timeZone) });
  }
  return { days, end: midnight(parse(shiftDay(last, 1)), timeZone) };
}

/** The hourly usage summed per day, every day listed (zero when none); hours outside the days are left out. */
export function sumByDay(days: readonly CalendarDay[], end: number, hours: Iterable<readonly [number, ByteSums]>): ({ day: Day } & ByteSums)[] {
  const out = days.map((d) => ({ day: d.day, ...noBytes() }));
  for (const [hour, sums] of hours) {
    if (hour >= end || days.length === 0 || hour < days[0]!.start) continue;
    // The last day starting at or before the hour (days are few; hours many, in any order).
    let low = 0;
    let high = days.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (days[mid]!.start <= hour) low = mid;
      else high = mid - 1;
    }
    addBytes(out[low]!, sums);
  }
  return out;
}
