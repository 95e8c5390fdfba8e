// The plugins a node's agent last described as unhealthy, with their reasons ("clash-stats:
// traffic ledger cannot be written: ENOSPC ..."), beside the description they come from: the
// alerts job reads this small column for the plugin_unhealthy rule instead of parsing every
// node's whole description (all its commands' schemas) each tick.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('node_status', (t) => {
    /** JSON array of "<plugin>: <message>"; empty when all are healthy, null while not described. */
    t.text('unhealthy').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('node_status', (t) => {
    t.dropColumn('unhealthy');
  });
}
