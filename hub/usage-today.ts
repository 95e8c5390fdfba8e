// "Today" as the node view, the node list and the overview count traffic: the UTC day of the hub clock
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
  key: number | string;
  up: number | string | null;
  down: number | string | null;
  billed: number | string | null;
}

/** Bytes up, down and billed in [from, to] by `group` (of one node if given), one query per usage table; groups without usage are left out. */
async function usageGrouped<K>(db: Knex, group: 'hour' | 'node_id', keyOf: (key: number | string) => K, from: number, to: number, nodeId?: string) {
  const byKey = new Map<K, ByteSums>();
  for (const table of USAGE_TABLES) {
    const query = db(table).where('hour', '>=', from).andWhere('hour', '<=', to).select({ key: group }).sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' }).groupBy(group);
    if (nodeId !== undefined) query.andWhere({ node_id: nodeId });
    for (const row of (await query) as Sums[]) {
      const key = keyOf(row.key);
      const sums = byKey.get(key) ?? noBytes();
      addBytes(sums, { upload_bytes: Number(row.up ?? 0), download_bytes: Number(row.down ?? 0), billed_bytes: Number(row.billed ?? 0) });
      byKey.set(key, sums);
    }
  }
  return byKey;
}

/** Bytes up, down and billed per hour in [from, to], of one node if given; hours without usage are left out. */
export const usageByHour = (db: Knex, from: number, to: number, nodeId?: string) => usageGrouped(db, 'hour', Number, from, to, nodeId);

/** Bytes up, down and billed per node in the hours in [from, to]; nodes without usage are left out. */
export const usageByNode = (db: Knex, from: number, to: number) => usageGrouped(db, 'node_id', String, from, to);

/** Bytes up, down and billed in the hours in [from, to]; of one node if given. */
export async function usageSince(db: Knex, from: number, to: number, nodeId?: string) {
  const total = noBytes();
  for (const sums of (await usageByHour(db, from, to, nodeId)).values()) addBytes(total, sums);
  return total;
}
