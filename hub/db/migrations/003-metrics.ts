// Node metrics the hub received from sysmetrics: raw samples for the last 24 h, hourly averages
// beyond (resolution 'hour'), deleted after the retention period.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('node_metrics', (t) => {
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.bigInteger('time').notNullable();
    t.string('kind', 32).notNullable();
    t.string('resolution', 8).notNullable().defaultTo('raw');
    t.text('values').notNullable();
    // One row per sample: a sample that arrives over Watch and again through history is kept once.
    t.primary(['node_id', 'resolution', 'kind', 'time']);
    t.index(['resolution', 'time']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_metrics');
}
