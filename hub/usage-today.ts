// "Today" as the node view and the overview count traffic: the UTC day of the hub clock
// (app.now()), i.e. the usage rows whose hour starts at or after 00:00 UTC and not after now.
//
// Usage is in two tables: usage_hourly, and the traffic job's rows that the usage-rollup job has not
// folded into it yet (usage_pending, hub/billing/usage-pending.ts), whose byte sums are columns of
// their own. Sums over both are exact at every moment: each byte is in exactly one of them.
import type { Knex } from 'knex';

const DAY_MS = 24 * 3_600_000;

/** The tables usage rows are in, each with node_id, hour and the three byte columns. */
const USAGE_TABLES = ['usage_hourly', 'usage_pending'] as const;

/** Bytes up, down and billed, as every usage answer gives them. */
export interface ByteSums {
  upload_bytes: number;
  download_bytes: number;
  billed_bytes: number;
}

export const noBytes = (): ByteSums => ({ upload_bytes: 0, download_bytes: 0, billed_bytes: 0 });

export function addBytes(into: ByteSums, add: ByteSums): void {
  into.upload_bytes += add.upload_bytes;
  into.download_bytes += add.download_bytes;
  into.billed_bytes += add.billed_bytes;
}

export const startOfUtcDay = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;

interface Sums {
  hour: number | string;
  up: number | string | null;
  down: number | string | null;
  billed: number | string | null;
}

/** Bytes up, down and billed per hour in [from, to], of one node if given; hours without usage are left out. */
export async function usageByHour(db: Knex, from: number, to: number, nodeId?: string) {
  const byHour = new Map<number, ByteSums>();
  for (const table of USAGE_TABLES) {
    const query = db(table).where('hour', '>=', from).andWhere('hour', '<=', to).select('hour').sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' }).groupBy('hour');
    if (nodeId !== undefined) query.andWhere({ node_id: nodeId });
    for (const row of (await query) as Sums[]) {
      const hour = Number(row.hour);
      const sums = byHour.get(hour) ?? noBytes();
      addBytes(sums, { upload_bytes: Number(row.up ?? 0), download_bytes: Number(row.down ?? 0), billed_bytes: Number(row.billed ?? 0) });
      byHour.set(hour, sums);
    }
  }
  return byHour;
}

/** Bytes up, down and billed in the hours in [from, to]; of one node if given. */
export async function usageSince(db: Knex, from: number, to: number, nodeId?: string) {
  const total = noBytes();
  for (const sums of (await usageByHour(db, from, to, nodeId)).values()) addBytes(total, sums);
  return total;
}
