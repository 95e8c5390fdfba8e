// What each node's health-probe plugin last reported, polled by the `probes` job: the scheduled
// probes with their history, the last unlock run and the inventory. One row per node, overwritten.
// The unlock marks ("NF GPT") go on the node itself, because /sub reads nodes alone and a change in
// them must reach subscription entry names (hub/subscriptions/lookup.ts).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('node_probes', (t) => {
    t.string('node_id', 63).primary().references('nodes.id').onDelete('CASCADE');
    // JSON: health-probe.results' probes (with history) and unlock report; null until first read.
    t.text('probes', 'mediumtext').nullable();
    t.text('unlock', 'mediumtext').nullable();
    /** Hub clock of the last `results` read that answered. */
    t.bigInteger('probes_at').nullable();
    // JSON: health-probe.inventory's answer; read again once a day.
    t.text('inventory', 'mediumtext').nullable();
    t.bigInteger('inventory_at').nullable();
    /** Why the last read failed (no health-probe on the node, agent away); null when it answered. */
    t.string('error', 1000).nullable();
    /** Hub clock of the last attempt. */
    t.bigInteger('checked_at').notNullable();
  });
  await knex.schema.alterTable('nodes', (t) => {
    // The marks of the services found available, in check order, e.g. "NF YT GPT"; null: none known.
    t.string('unlock_marks', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => t.dropColumn('unlock_marks'));
  await knex.schema.dropTable('node_probes');
}
