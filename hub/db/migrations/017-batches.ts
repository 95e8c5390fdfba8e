// Batch commands (hub/batches): one plugin command run on a set of nodes, with a row per node. The
// full input is kept so a hub that restarts can resume the nodes still pending; the API shows only
// input_redacted. updated_at moves on every change, which is what the WebSocket feed polls for.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('batches', (t) => {
    t.increments('id');
    t.string('command', 128).notNullable();
    // A command's input can be as large as a route body (users.sync carries every user).
    t.text('input', 'mediumtext').notNullable();
    t.text('input_redacted', 'mediumtext').notNullable();
    /** JSON BatchTarget as it was asked for; the nodes it resolved to are the batch_nodes rows. */
    t.text('target').notNullable();
    /** The role the command needed when the batch was created: who may read outputs and cancel it. */
    t.string('command_role', 16).notNullable();
    t.integer('concurrency').notNullable();
    /** 0: never stop. */
    t.integer('stop_after_failures').notNullable();
    t.string('status', 16).notNullable();
    t.integer('created_by_id').nullable();
    t.string('created_by', 64).notNullable();
    t.integer('schedule_id').nullable();
    t.integer('retry_of').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.bigInteger('updated_at').notNullable();
    t.boolean('cancel_requested').notNullable().defaultTo(false);
    t.index(['status']);
    t.index(['updated_at']);
  });
  await knex.schema.createTable('batch_nodes', (t) => {
    t.integer('batch_id').unsigned().notNullable().references('batches.id').onDelete('CASCADE');
    t.string('node_id', 63).notNullable();
    t.string('status', 16).notNullable();
    t.bigInteger('started_at').nullable();
    t.bigInteger('finished_at').nullable();
    t.integer('duration_ms').nullable();
    /** JSON of the command's answer, cut (and marked) past BATCH_OUTPUT_MAX_BYTES. */
    t.text('output', 'mediumtext').nullable();
    t.string('error', 1000).nullable();
    t.bigInteger('updated_at').notNullable();
    t.primary(['batch_id', 'node_id']);
    t.index(['status']);
    t.index(['updated_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('batch_nodes');
  await knex.schema.dropTable('batches');
}
