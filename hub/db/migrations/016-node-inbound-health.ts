// Whether users can reach each node, as the hub sees it from outside (the `inbound-check` job,
// hub/jobs/inbound-check.ts): per node, how many checks in a row failed or passed and since when it
// is unhealthy (null: healthy), which keeps it out of /sub; per inbound, the last check's result.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.integer('inbound_failed_checks').notNullable().defaultTo(0);
    t.integer('inbound_good_checks').notNullable().defaultTo(0);
    t.bigInteger('inbound_unhealthy_since').nullable();
    t.bigInteger('inbound_checked_at').nullable();
  });
  await knex.schema.createTable('node_inbound_checks', (t) => {
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.string('tag', 64).notNullable();
    t.string('host', 253).notNullable();
    t.integer('port').notNullable();
    /** tcp, tls or reality: what the check did (a REALITY inbound gets a TCP connect only). */
    t.string('probe', 8).notNullable();
    t.boolean('ok').notNullable();
    t.integer('latency_ms').nullable();
    t.string('error', 500).nullable();
    t.bigInteger('checked_at').notNullable();
    t.primary(['node_id', 'tag']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_inbound_checks');
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumn('inbound_failed_checks');
    t.dropColumn('inbound_good_checks');
    t.dropColumn('inbound_unhealthy_since');
    t.dropColumn('inbound_checked_at');
  });
}
