// Staged rollouts of a config version (hub/rollouts): one row per rollout with its plan and where it
// stands, one row per target node with the stage it belongs to, the version it served before (what a
// rollback goes back to) and what the gate saw. Everything the runner needs lives here, so a hub
// that restarts (or another replica taking the fleet lease) carries on where the last one stopped.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rollouts', (t) => {
    t.increments('id');
    t.integer('version').notNullable();
    /** JSON BatchTarget, as given. */
    t.text('target').notNullable();
    /** JSON (int | "N%")[], as given; the nodes' `stage` is the plan made of it at creation. */
    t.text('stages').notNullable();
    /** JSON gate with every default filled in. */
    t.text('gate').notNullable();
    t.string('status', 16).notNullable();
    /** 1-based; 0 before the first stage started. */
    t.integer('current_stage').notNullable().defaultTo(0);
    /** When the current stage started (its timeout counts from here) and when its gate first passed (its soak). */
    t.bigInteger('stage_started_at').nullable();
    t.bigInteger('soak_started_at').nullable();
    /** Set by abort; the runner rolls back and ends the rollout `aborted` instead of `failed`. */
    t.boolean('abort_requested').notNullable().defaultTo(false);
    t.integer('created_by_id').nullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    /** Every change, so the live feed finds what moved. */
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.text('error').nullable();
    t.index(['status']);
    t.index(['updated_at']);
  });
  await knex.schema.createTable('rollout_nodes', (t) => {
    t.integer('rollout_id').unsigned().notNullable().references('rollouts.id').onDelete('CASCADE');
    t.string('node_id', 63).notNullable();
    t.integer('stage').notNullable();
    /** The node's applied_config_version when the rollout first applied to it. */
    t.integer('previous_version').nullable();
    t.string('status', 16).notNullable();
    /** JSON: what the gate saw last (and the traffic samples it keeps between ticks). */
    t.text('checks').nullable();
    t.string('error', 1000).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['rollout_id', 'node_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('rollout_nodes');
  await knex.schema.dropTable('rollouts');
}
