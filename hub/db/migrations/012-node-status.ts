// What each node's agent last described (agent version, plugins with their state, health and
// commands), stored by the `node-status` job so the node list is read from the database instead of
// asking every agent per request. One row per node, overwritten each tick.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('node_status', (t) => {
    t.string('node_id', 63).primary().references('nodes.id').onDelete('CASCADE');
    // The Describe answer as JSON (command schemas included, so it may outgrow MySQL's TEXT); null
    // until the agent answered once.
    t.text('agent', 'mediumtext').nullable();
    /** Hub clock when the agent last answered: when `agent` was taken. */
    t.bigInteger('described_at').nullable();
    /** Why the last Describe failed; null when it answered. */
    t.string('error', 1000).nullable();
    /** Hub clock of the last Describe, answered or not. */
    t.bigInteger('checked_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_status');
}
