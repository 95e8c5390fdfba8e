// Where the calendar reset policies fall: 00:00 in the hub's reset time zone, on the right day.
import { describe, expect, it } from 'vitest';
import { latestBoundary } from '../../../hub/reset-policies.js';

const at = (iso: string) => Date.parse(iso);
const boundary = (...args: Parameters<typeof latestBoundary>) => new Date(latestBoundary(...args)).toISOString();

describe('reset boundaries', () => {
  // Wednesday 10 March 2032, 12:00 UTC.
  const now = at('2032-03-10T12:00:00Z');

  it('falls at 00:00 UTC on the day, the Monday, the reset day of the month and 1 January', () => {
    expect(boundary('daily', now, 'UTC')).toBe('2032-03-10T00:00:00.000Z');
    expect(boundary('weekly', now, 'UTC')).toBe('2032-03-08T00:00:00.000Z');
    expect(boundary('monthly', now, 'UTC', 1)).toBe('2032-03-01T00:00:00.000Z');
    expect(boundary('monthly', now, 'UTC', 10)).toBe('2032-03-10T00:00:00.000Z');
    expect(boundary('yearly', now, 'UTC')).toBe('2032-01-01T00:00:00.000Z');
  });

  it('takes last month (and last year) when this month has not reached the reset day', () => {
    expect(boundary('monthly', now, 'UTC', 11)).toBe('2032-02-11T00:00:00.000Z');
    expect(boundary('monthly', at('2032-01-03T00:00:00Z'), 'UTC', 28)).toBe('2031-12-28T00:00:00.000Z');
  });

  it('is the boundary itself at the boundary, and the one before a millisecond earlier', () => {
    expect(boundary('daily', at('2032-03-10T00:00:00Z'), 'UTC')).toBe('2032-03-10T00:00:00.000Z');
    expect(boundary('daily', at('2032-03-09T23:59:59.999Z'), 'UTC')).toBe('2032-03-09T00:00:00.000Z');
    expect(boundary('weekly', at('2032-03-14T23:59:59Z'), 'UTC')).toBe('2032-03-08T00:00:00.000Z');
    expect(boundary('weekly', at('2032-03-15T00:00:00Z'), 'UTC')).toBe('2032-03-15T00:00:00.000Z');
  });

  it("falls at midnight of the reset time zone's own date", () => {
    // 12:00 UTC is 20:00 in Shanghai; 02:00 UTC on the 1st is still the 31st in New York.
    expect(boundary('daily', now, 'Asia/Shanghai')).toBe('2032-03-09T16:00:00.000Z');
    expect(boundary('monthly', at('2032-04-01T02:00:00Z'), 'America/New_York', 1)).toBe('2032-03-01T05:00:00.000Z');
    expect(boundary('monthly', at('2032-04-01T05:00:00Z'), 'America/New_York', 1)).toBe('2032-04-01T04:00:00.000Z');
  });

  it('keeps to local midnight across daylight-saving changes', () => {
    // New York moves to summer time on 14 March 2032: midnight is 05:00 UTC before, 04:00 after.
    expect(boundary('daily', at('2032-03-14T12:00:00Z'), 'America/New_York')).toBe('2032-03-14T05:00:00.000Z');
    expect(boundary('daily', at('2032-03-15T12:00:00Z'), 'America/New_York')).toBe('2032-03-15T04:00:00.000Z');
    // Santiago's clocks go from 24:00 to 01:00 on 5 September 2032: the day starts at 01:00 local (04:00 UTC).
    expect(boundary('daily', at('2032-09-05T12:00:00Z'), 'America/Santiago')).toBe('2032-09-05T04:00:00.000Z');
  });
});
