// Calendar days in a time zone for usage answers: a day is 23 or 25 hours when daylight saving time
// starts or ends, and in a zone half an hour off the UTC hours an hour counts in the day it starts in.
import { describe, expect, it } from 'vitest';
import { calendarDays, dayAt, sumByDay } from '../../../hub/usage-days.js';

const at = Date.parse;
const bytes = (n: number) => ({ upload_bytes: n, download_bytes: 2 * n, billed_bytes: 3 * n });

describe('usage days in a time zone', () => {
  it('starts each day at its midnight in the zone, a short one where daylight saving time begins', () => {
    const { days, end } = calendarDays('2031-03-29', '2031-03-30', 'Europe/Berlin');
    expect(days).toEqual([
      { day: '2031-03-29', start: at('2031-03-28T23:00:00Z') },
      { day: '2031-03-30', start: at('2031-03-29T23:00:00Z') },
    ]);
    // 30 March has 23 hours: the next midnight is already in summer time.
    expect(end).toBe(at('2031-03-30T22:00:00Z'));
    expect(dayAt(at('2031-03-30T22:30:00Z'), 'Europe/Berlin')).toBe('2031-03-31');
  });

  it('sums each hour into the day it starts in, lists every day, and leaves out hours outside the range', () => {
    // Kolkata is UTC+5:30: 10 March starts at 18:30 UTC on the 9th.
    const { days, end } = calendarDays('2031-03-09', '2031-03-11', 'Asia/Kolkata');
    const hours: [number, ReturnType<typeof bytes>][] = [
      [at('2031-03-09T18:00:00Z'), bytes(1)], // 23:30 on the 9th
      [at('2031-03-09T19:00:00Z'), bytes(10)], // 00:30 on the 10th
      [at('2031-03-10T05:00:00Z'), bytes(100)],
      [at('2031-03-08T12:00:00Z'), bytes(1000)], // before the range
      [end, bytes(10_000)], // the first hour after it
    ];
    expect(sumByDay(days, end, hours)).toEqual([
      { day: '2031-03-09', ...bytes(1) },
      { day: '2031-03-10', ...bytes(110) },
      { day: '2031-03-11', ...bytes(0) },
    ]);
  });
});
