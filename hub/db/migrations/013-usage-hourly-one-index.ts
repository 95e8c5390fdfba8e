// usage_hourly keeps one index, its primary key (node_id, user_id, hour): the traffic job writes a
// row per node, user and hour every minute (a million at 200 nodes × 5,000 users), and the second
// index on (user_id, hour), which the foreign key to users needed on MySQL, cost nearly as much as
// the rows themselves (the million rows of an hour's first tick: MariaDB 10.11 6.6 s of server CPU
// with it, 4.2 s without; SQLite 7.0 s → 4.0 s for the whole tick). A user's rows are found through the
// primary key, one node at a time (billing/usage-rows.ts), and are deleted with the user there,
// as the foreign key's cascade did; the traffic job locks the users it bills so that a user
// deleted meanwhile gets no rows.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('usage_hourly', (t) => {
    t.dropForeign('user_id');
    t.dropIndex(['user_id', 'hour']);
  });
}

export async function down(knex: Knex): Promise<void> {
  // Rows of users that no longer exist would refuse the foreign key (none are written, but a row
  // restored or inserted by hand may be there).
  await knex('usage_hourly').whereNotIn('user_id', knex('users').select('id')).delete();
  await knex.schema.alterTable('usage_hourly', (t) => {
    t.index(['user_id', 'hour']);
    t.foreign('user_id').references('users.id').onDelete('CASCADE');
  });
}
