// One user's usage_hourly rows. The table's only index is its primary key (node_id, user_id, hour),
// which leads with the node (migration 013 dropped the per-user index the traffic job paid for on
// every row it wrote), so a user's rows are found one node at a time: with every node id given as a
// list, both databases read one key range per node instead of the whole table. Rows of a deleted
// node go with it (foreign key), so the nodes that exist are every node a row can name.
import type { Knex } from 'knex';

/** Every node id, to find one user's usage rows by the primary key. */
export async function usageNodeIds(db: Knex): Promise<string[]> {
  return (await db('nodes').select('id')).map((row: { id: string }) => row.id);
}

/** Deletes a user's usage rows: the user is deleted in the same transaction (no foreign key does it). */
export async function deleteUsageOf(trx: Knex.Transaction, userId: number): Promise<void> {
  await trx('usage_hourly').whereIn('node_id', await usageNodeIds(trx)).andWhere({ user_id: userId }).delete();
}
