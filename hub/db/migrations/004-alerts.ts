// Alerts the hub raised (hub/alerts): one row per firing of a rule on a node, resolved in place;
// one row per notification of a firing or resolution on a channel, with its delivery attempts; and
// per node and sample kind, the last stored sample the rules have seen.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('alerts', (t) => {
    t.increments('id');
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.string('rule', 32).notNullable();
    t.string('state', 16).notNullable();
    /** The value that crossed the threshold, and the latest one seen while firing. */
    t.double('value').notNullable();
    t.double('last_value').notNullable();
    t.double('threshold').notNullable();
    /** Below this (threshold − hysteresis) the alert resolves; null for rules without hysteresis. */
    t.double('clear_below').nullable();
    t.bigInteger('fired_at').notNullable();
    t.bigInteger('resolved_at').nullable();
    t.double('resolved_value').nullable();
    /** While firing: since when the value has stayed below clear_below. */
    t.bigInteger('below_since').nullable();
    t.index(['state', 'node_id', 'rule']);
    t.index(['node_id', 'fired_at']);
  });

  await knex.schema.createTable('alert_notifications', (t) => {
    t.increments('id');
    t.integer('alert_id').unsigned().notNullable().references('alerts.id').onDelete('CASCADE');
    t.string('event', 16).notNullable();
    t.string('channel', 16).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('sent_at').nullable();
    t.unique(['alert_id', 'event', 'channel']);
    t.index(['status']);
  });

  await knex.schema.createTable('alert_cursors', (t) => {
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.string('kind', 32).notNullable();
    t.bigInteger('time').notNullable();
    t.primary(['node_id', 'kind']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('alert_cursors');
  await knex.schema.dropTable('alert_notifications');
  await knex.schema.dropTable('alerts');
}
