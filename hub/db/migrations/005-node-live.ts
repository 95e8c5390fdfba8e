// The latest Clash API figures and ledger position per node, gathered by the hub's `live` job
// (hub/jobs/live.ts). One row per node, overwritten each tick; in the database rather than in memory so
// every hub behind a load balancer answers with the same figures (only the lease holder gathers).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('node_live', (t) => {
    t.string('node_id', 63).primary().references('nodes.id').onDelete('CASCADE');
    // clash-stats.summary; null until a summary was gathered.
    t.integer('online_clients').nullable();
    t.integer('connections').nullable();
    t.bigInteger('upload_total').nullable();
    t.bigInteger('download_total').nullable();
    /** When the agent read the Clash API (the summary's sampled_at; it may be the agent's cached one). */
    t.bigInteger('sampled_at').nullable();
    // clash-stats.traffic.position; null until a position was gathered.
    t.bigInteger('ledger_head_seq').nullable();
    t.bigInteger('ledger_acked_seq').nullable();
    /** head_seq − acked_seq: ledger entries the hub has not acknowledged yet. */
    t.bigInteger('ledger_backlog_entries').nullable();
    /** Hub clock when the position was read. */
    t.bigInteger('ledger_at').nullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_live');
}
