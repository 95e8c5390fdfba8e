// User events (hub/user-events): one row per event about a user's subscription, and one per
// delivery of it on a channel with its attempts. The unique key (subscription, kind, crossing,
// threshold_percent) is what makes an event happen once: the recorders insert with "ignore on
// conflict", so a re-run or a second hub on the same database adds nothing. `crossing` is the
// instant that identifies the occasion: the period start (last_reset_at) for usage.threshold and
// subscription.suspended, the end_time for subscription.expiring, .expired and .renewed.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('user_events', (t) => {
    t.bigIncrements('id');
    t.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    t.integer('subscription_id').unsigned().notNullable().references('subscriptions.id').onDelete('CASCADE');
    t.string('kind', 32).notNullable();
    t.bigInteger('crossing').notNullable();
    /** usage.threshold's percent; 0 for the other kinds (a key column cannot be null and stay unique). */
    t.integer('threshold_percent').notNullable().defaultTo(0);
    /** The subscription as the event saw it. */
    t.bigInteger('end_time').notNullable();
    t.bigInteger('traffic_used_bytes').notNullable();
    t.bigInteger('traffic_total_bytes').notNullable();
    /** The user-events job has made its deliveries, one per channel configured then (none: only recorded). */
    t.boolean('queued').notNullable();
    t.bigInteger('created_at').notNullable();
    t.unique(['subscription_id', 'kind', 'crossing', 'threshold_percent'], { indexName: 'user_events_once' });
    t.index(['user_id', 'id']);
    t.index(['kind', 'id']);
    t.index(['queued']);
  });

  await knex.schema.createTable('user_event_deliveries', (t) => {
    t.bigIncrements('id');
    t.bigInteger('event_id').unsigned().notNullable().references('user_events.id').onDelete('CASCADE');
    t.string('channel', 16).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error').nullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('sent_at').nullable();
    t.unique(['event_id', 'channel']);
    t.index(['status']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('user_event_deliveries');
  await knex.schema.dropTable('user_events');
}
