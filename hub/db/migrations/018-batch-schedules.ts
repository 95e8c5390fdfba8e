// Cron schedules of batch commands (hub/batches/schedules.ts) and one row per fire time they
// reached: ran (a batch was created), failed (it could not be), or missed (no hub was running
// when it came). UNIQUE(schedule_id, fire_at) is what lets a hub claim a fire time: whichever
// hub inserts the row fires it, so two hubs never both run one time.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('batch_schedules', (t) => {
    t.increments('id');
    t.string('name', 64).notNullable().unique();
    t.string('cron', 100).notNullable();
    /** IANA name, as Intl resolves it (Asia/Shanghai, UTC). */
    t.string('timezone', 64).notNullable();
    /** JSON BatchSpec: what each fire creates. */
    t.text('batch_spec').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    // No foreign key: a deleted admin's schedules stay listed, and their fires fail saying so.
    t.integer('created_by_id').nullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('last_fire_at').nullable();
    /**
     * Fire times up to here were fired or recorded missed; the next look starts after it. Moved to
     * "now" when a schedule is created, resumed or given another cron or time zone, so the times in
     * between are neither run nor reported missed.
     */
    t.bigInteger('checked_until').notNullable();
  });
  await knex.schema.createTable('batch_schedule_fires', (t) => {
    t.increments('id');
    t.integer('schedule_id').unsigned().notNullable().references('batch_schedules.id').onDelete('CASCADE');
    t.bigInteger('fire_at').notNullable();
    /** ran | failed | missed */
    t.string('status', 16).notNullable();
    t.integer('batch_id').nullable();
    t.string('error', 1000).nullable();
    /** When a hub wrote the row: how late after fire_at it came. */
    t.bigInteger('recorded_at').notNullable();
    t.unique(['schedule_id', 'fire_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('batch_schedule_fires');
  await knex.schema.dropTable('batch_schedules');
}
