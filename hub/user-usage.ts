// One user's usage per day and per node over a range of whole days, for the admin API
// (GET /api/v1/users/:id/usage) and the user's own portal (GET /sub/<token>/usage). Days are
// calendar days in the hub's reset time zone (reset_timezone, UTC unless set), the zone whose
// midnights the plans' daily resets fall on, so a day here is a day of the user's quota. Exact at
// every moment: it counts the usage the roll-up has not folded into usage_hourly yet.
import type { Knex } from 'knex';
import { userUsageRows } from './billing/usage-rows.js';
import { HubError } from './errors.js';
import { calendarDays, dayAt, daysBetween, shiftDay, sumByDay, type Day } from './usage-days.js';
import { addBytes, noBytes, type ByteSums } from './usage-today.js';

/** A year and a day (a leap year's) is the longest range one answer covers. */
export const MAX_USAGE_DAYS = 366;

export interface DayRange {
  from: Day;
  to: Day;
}

/**
 * The days asked for, checked: `to` defaults to today in the zone, `from` to `defaultDays` days
 * ending with `to`. Errors name the query field.
 */
export function dayRange(query: { from?: Day; to?: Day }, now: number, timeZone: string, defaultDays: number): DayRange {
  const to = query.to ?? dayAt(now, timeZone);
  const from = query.from ?? shiftDay(to, -(defaultDays - 1));
  const span = daysBetween(from, to) + 1;
  if (span < 1) throw new HubError('HUB_ERR_BAD_REQUEST', `querystring.from: must not be after querystring.to (${to})`);
  if (span > MAX_USAGE_DAYS) throw new HubError('HUB_ERR_BAD_REQUEST', `querystring.from: the range may span at most ${MAX_USAGE_DAYS} days`);
  return { from, to };
}

export interface UserUsage {
  days: ({ day: Day } & ByteSums)[];
  /** Nodes the user used in the range, most billed first. */
  nodes: ({ node_id: string; name: string } & ByteSums)[];
  totals: ByteSums;
}

/** The user's usage on each day of the range (every day, zero when none) and on each node they used. */
export async function userUsage(db: Knex, userId: number, range: DayRange, timeZone: string): Promise<UserUsage> {
  const { days, end } = calendarDays(range.from, range.to, timeZone);
  const rows = await userUsageRows(db, userId, days[0]!.start, end);
  const byNode = new Map<string, ByteSums>();
  const totals = noBytes();
  for (const row of rows) {
    let node = byNode.get(row.node_id);
    if (!node) byNode.set(row.node_id, (node = noBytes()));
    addBytes(node, row);
    addBytes(totals, row);
  }
  const names = new Map(
    ((await db('nodes').whereIn('id', [...byNode.keys()]).select('id', 'name')) as { id: string; name: string }[]).map((n) => [n.id, n.name]),
  );
  const nodes = [...byNode]
    .map(([node_id, sums]) => ({ node_id, name: names.get(node_id) ?? node_id, ...sums }))
    .sort((a, b) => b.billed_bytes - a.billed_bytes || a.name.localeCompare(b.name));
  return { days: sumByDay(days, end, rows.map((r) => [r.hour, r] as const)), nodes, totals };
}
