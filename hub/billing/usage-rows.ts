// One user's usage_hourly rows. The table's only index is its primary key (node_id, user_id, hour),
// which leads with the node (migration 013 dropped the per-user index the traffic job paid for on
// every row it wrote), so a user's rows are found one node at a time: with every node id given as a
// list, both databases read one key range per node instead of the whole table. Rows of a deleted
// node go with it (foreign key), so the nodes that exist are every node a row can name.
import type { Knex } from 'knex';
import { pendingUsageOf, type PendingCell } from './usage-pending.js';

/** Every node id, to find one user's usage rows by the primary key. */
export async function usageNodeIds(db: Knex): Promise<string[]> {
  return (await db('nodes').select('id')).map((row: { id: string }) => row.id);
}

/** Deletes a user's usage rows: the user is deleted in the same transaction (no foreign key does it). */
export async function deleteUsageOf(trx: Knex.Transaction, userId: number): Promise<void> {
  await trx('usage_hourly').whereIn('node_id', await usageNodeIds(trx)).andWhere({ user_id: userId }).delete();
}

/**
 * One user's usage per node and hour in [from, to), exactly: their usage_hourly rows and their cells
 * of the pending rows not rolled up yet, read in one transaction, so a roll-up between the two reads
 * can neither hide bytes nor count them twice. A (node, hour) may come twice, once from each table.
 */
export async function userUsageRows(db: Knex, userId: number, from: number, to: number): Promise<PendingCell[]> {
  return db.transaction(async (trx) => {
    const rows = (await trx('usage_hourly')
      .whereIn('node_id', await usageNodeIds(trx))
      .andWhere({ user_id: userId })
      .andWhere('hour', '>=', from)
      .andWhere('hour', '<', to)
      .select('node_id', 'hour', 'upload_bytes', 'download_bytes', 'billed_bytes')) as Record<keyof PendingCell, string | number>[];
    const hourly = rows.map((r) => ({
      node_id: String(r.node_id),
      hour: Number(r.hour),
      upload_bytes: Number(r.upload_bytes),
      download_bytes: Number(r.download_bytes),
      billed_bytes: Number(r.billed_bytes),
    }));
    return [...hourly, ...(await pendingUsageOf(trx, userId, from, to))];
  });
}
