// "Today" as the node view and the overview count traffic: the UTC day of the hub clock
// (app.now()), i.e. the usage_hourly rows whose hour starts at or after 00:00 UTC and not after now.
import type { Knex } from 'knex';

const DAY_MS = 24 * 3_600_000;

export const startOfUtcDay = (now: number) => Math.floor(now / DAY_MS) * DAY_MS;

/** Bytes up, down and billed in the usage_hourly rows whose hour lies in [from, to]; of one node if given. */
export async function usageSince(db: Knex, from: number, to: number, nodeId?: string) {
  const query = db('usage_hourly')
    .where('hour', '>=', from)
    .andWhere('hour', '<=', to)
    .sum({ up: 'upload_bytes', down: 'download_bytes', billed: 'billed_bytes' })
    .first();
  if (nodeId !== undefined) query.andWhere({ node_id: nodeId });
  const row = (await query) as { up: number | string | null; down: number | string | null; billed: number | string | null } | undefined;
  return { upload_bytes: Number(row?.up ?? 0), download_bytes: Number(row?.down ?? 0), billed_bytes: Number(row?.billed ?? 0) };
}
