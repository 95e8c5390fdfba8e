// Reset strategies on plans and a record of every reset. The old `monthly` policy was every 30 days
// from the last reset; it keeps exactly that behaviour as `rolling_30d`, and `monthly` now means a
// calendar month, on the plan's reset_day (1–28, null for the other policies).
// subscription_resets: one row per reset, with the traffic used before it: the quota job's (strategy:
// the plan's policy) and an admin's reset-traffic (strategy: manual).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('plans', (t) => {
    t.integer('reset_day').nullable();
  });
  await knex('plans').where({ reset_policy: 'monthly' }).update({ reset_policy: 'rolling_30d' });
  await knex.schema.createTable('subscription_resets', (t) => {
    t.bigIncrements('id');
    t.integer('subscription_id').unsigned().notNullable().references('subscriptions.id').onDelete('CASCADE');
    t.bigInteger('at').notNullable();
    t.bigInteger('used_bytes').notNullable();
    t.string('strategy', 16).notNullable();
    t.index(['subscription_id', 'at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  // Before 021 a plan reset every 30 days or never: a calendar policy has nothing to go back to.
  const calendar = await knex('plans').whereNotIn('reset_policy', ['none', 'rolling_30d']).orderBy('id').pluck('name');
  if (calendar.length > 0) {
    throw new Error(`plans ${calendar.join(', ')} reset on the calendar, which the schema before 021 cannot hold: give them reset_policy none or rolling_30d first`);
  }
  await knex('plans').where({ reset_policy: 'rolling_30d' }).update({ reset_policy: 'monthly' });
  await knex.schema.dropTable('subscription_resets');
  await knex.schema.alterTable('plans', (t) => {
    t.dropColumn('reset_day');
  });
}
