// A schedule's cron as node-cron reads it: the fire times between two instants (what the job
// fires, or reports missed after an outage), in the schedule's time zone, and the refusal that
// names the cron field that is wrong.
import { describe, expect, it } from 'vitest';
import { canonicalTimeZone, checkCron, withCron } from '../../../../hub/batches/schedule-cron.js';

const at = (iso: string) => Date.parse(iso);
const times = (cron: string, zone: string, after: string, until: string) =>
  withCron(cron, zone, (c) => [...c.fireTimes(at(after), at(until))].map((t) => new Date(t).toISOString()));

describe('schedule cron', () => {
  it('lists the fire times after one instant up to and including another, seconds in order whatever order they are written in', () => {
    expect(times('30,10 * * * * *', 'UTC', '2026-01-05T03:00:10Z', '2026-01-05T03:01:30Z')).toEqual([
      '2026-01-05T03:00:30.000Z',
      '2026-01-05T03:01:10.000Z',
      '2026-01-05T03:01:30.000Z',
    ]);
    expect(times('*/20 * * * *', 'UTC', '2026-01-05T03:00:00Z', '2026-01-05T04:00:00Z')).toEqual([
      '2026-01-05T03:20:00.000Z',
      '2026-01-05T03:40:00.000Z',
      '2026-01-05T04:00:00.000Z',
    ]);
  });

  it("reads the fields in the schedule's time zone", () => {
    // 04:00 in Shanghai (UTC+8) is 20:00 UTC the day before; Kathmandu is UTC+5:45.
    expect(times('0 4 * * *', 'Asia/Shanghai', '2026-01-05T00:00:00Z', '2026-01-07T00:00:00Z')).toEqual(['2026-01-05T20:00:00.000Z', '2026-01-06T20:00:00.000Z']);
    expect(times('0 4 * * *', 'Asia/Kathmandu', '2026-01-05T00:00:00Z', '2026-01-06T00:00:00Z')).toEqual(['2026-01-05T22:15:00.000Z']);
    // Monday to Friday at 09:00 Berlin: 2026-01-09 is a Friday, so the weekend passes without one.
    expect(times('0 9 * * 1-5', 'Europe/Berlin', '2026-01-09T00:00:00Z', '2026-01-12T23:00:00Z')).toEqual(['2026-01-09T08:00:00.000Z', '2026-01-12T08:00:00.000Z']);
  });

  it('fires a local time skipped by daylight saving not at all that day, and one that happens twice twice', () => {
    expect(times('30 2 * * *', 'America/New_York', '2026-03-07T00:00:00Z', '2026-03-09T12:00:00Z')).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
    expect(times('30 1 * * *', 'America/New_York', '2026-11-01T00:00:00Z', '2026-11-01T12:00:00Z')).toEqual(['2026-11-01T05:30:00.000Z', '2026-11-01T06:30:00.000Z']);
  });

  it('finds every fire time of a week of an every-second schedule (the longest span the job looks back over)', () => {
    const count = withCron('* * * * * *', 'UTC', (c) => {
      let n = 0;
      for (const _ of c.fireTimes(at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:00Z'))) n += 1;
      return n;
    });
    expect(count).toBe(7 * 86_400);
  });

  it('refuses a wrong expression naming the request field and the cron field, and an unknown time zone', () => {
    expect(() => checkCron('0 25 * * *', 'body.cron')).toThrow(/^body\.cron: hour field: 25 is a invalid expression for hour/);
    expect(() => checkCron('0 4 * * * * *', 'body.cron')).toThrow(/^body\.cron: expected 5 or 6 fields but got 7/);
    expect(() => checkCron('0 4 ? * $', 'body.cron')).toThrow(/^body\.cron: pattern includes illegal characters/);
    expect(() => checkCron('@daily', 'body.cron')).not.toThrow();
    expect(canonicalTimeZone('asia/shanghai', 'body.timezone')).toBe('Asia/Shanghai');
    expect(() => canonicalTimeZone('Asia/Atlantis', 'body.timezone')).toThrow('body.timezone: unknown time zone "Asia/Atlantis"');
  });
});
