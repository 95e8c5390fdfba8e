// What the node list shows without asking any agent: since when a node's health is what it is
// (set by the jobs that record it, hub/jobs/common.ts), and what singbox-config.status last said
// (sing-box running and its version, the users it serves), which the `live` job already asks every
// online node each tick (hub/jobs/live.ts) and now keeps beside the node's other live figures.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.bigInteger('health_since').nullable();
  });
  await knex.schema.alterTable('node_live', (t) => {
    t.boolean('singbox_running').nullable();
    t.string('singbox_version', 64).nullable();
    /** singbox-config's users.served: the synced users minus those it cut off locally. */
    t.integer('users_served').nullable();
    /** Hub clock when singbox-config.status was answered. */
    t.bigInteger('status_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('node_live', (t) => {
    t.dropColumn('singbox_running');
    t.dropColumn('singbox_version');
    t.dropColumn('users_served');
    t.dropColumn('status_at');
  });
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumn('health_since');
  });
}
