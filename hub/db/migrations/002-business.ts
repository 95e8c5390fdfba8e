// Admins, proxy users, plans, subscriptions, traffic accounting, config versions, the audit log and
// job leases. Times are epoch milliseconds (BIGINT) so SQLite and MySQL compare them the same way.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('admins', (t) => {
    t.increments('id');
    t.string('username', 64).notNullable().unique();
    t.string('password_hash', 100).notNullable();
    t.string('role', 16).notNullable();
    t.boolean('disabled').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('last_login_at').nullable();
  });

  await knex.schema.createTable('users', (t) => {
    t.increments('id');
    // The name sing-box knows the user by (stats, auth_user); it never changes.
    t.string('name', 64).notNullable().unique();
    t.string('note', 500).notNullable().defaultTo('');
    t.string('status', 16).notNullable().defaultTo('active');
    t.string('uuid', 36).notNullable();
    t.string('password', 64).notNullable();
    t.string('ss_key', 64).notNullable();
    t.string('sub_token', 64).notNullable().unique();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('plans', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable().unique();
    t.bigInteger('traffic_limit_bytes').notNullable();
    t.integer('duration_days').notNullable();
    t.decimal('price', 12, 2).notNullable().defaultTo(0);
    t.boolean('is_enabled').notNullable().defaultTo(true);
    t.text('node_tags').notNullable();
    t.string('reset_policy', 16).notNullable().defaultTo('none');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });

  await knex.schema.createTable('subscriptions', (t) => {
    t.increments('id');
    t.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    t.integer('plan_id').unsigned().notNullable().references('plans.id');
    t.bigInteger('start_time').notNullable();
    t.bigInteger('end_time').notNullable();
    t.bigInteger('traffic_used_bytes').notNullable().defaultTo(0);
    t.bigInteger('traffic_total_bytes').notNullable();
    t.string('status', 16).notNullable();
    // Why it is suspended: quota (lifted by a traffic reset) or admin (lifted by resume).
    t.string('suspended_reason', 16).nullable();
    t.bigInteger('last_reset_at').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.index(['status', 'end_time']);
    t.index(['user_id', 'status']);
  });

  await knex.schema.alterTable('nodes', (t) => {
    t.string('tags', 1000).notNullable().defaultTo('[]');
    t.double('multiplier').notNullable().defaultTo(1);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.integer('desired_revision').notNullable().defaultTo(1);
    t.integer('applied_revision').notNullable().defaultTo(0);
    t.integer('desired_config_version').unsigned().nullable();
    t.integer('applied_config_version').unsigned().nullable();
    t.bigInteger('ledger_seq').notNullable().defaultTo(0);
    t.bigInteger('last_seen_at').nullable();
    t.string('health', 16).notNullable().defaultTo('unknown');
    t.string('last_error', 1000).nullable();
  });

  await knex.schema.createTable('usage_hourly', (t) => {
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.integer('user_id').unsigned().notNullable().references('users.id').onDelete('CASCADE');
    t.bigInteger('hour').notNullable();
    t.bigInteger('upload_bytes').notNullable().defaultTo(0);
    t.bigInteger('download_bytes').notNullable().defaultTo(0);
    t.bigInteger('billed_bytes').notNullable().defaultTo(0);
    t.primary(['node_id', 'user_id', 'hour']);
    t.index(['user_id', 'hour']);
  });

  await knex.schema.createTable('config_versions', (t) => {
    t.increments('id');
    t.string('hash', 64).notNullable();
    t.string('object_key', 200).notNullable();
    t.integer('size').notNullable();
    t.string('comment', 500).notNullable().defaultTo('');
    t.integer('author_id').unsigned().nullable();
    t.string('author', 64).notNullable();
    t.bigInteger('created_at').notNullable();
  });

  await knex.schema.createTable('audit_log', (t) => {
    t.bigIncrements('id');
    t.bigInteger('time').notNullable();
    t.integer('admin_id').unsigned().nullable();
    t.string('admin', 64).notNullable();
    t.string('action', 100).notNullable();
    t.string('target', 200).notNullable().defaultTo('');
    t.text('input').nullable();
    t.string('result', 16).notNullable();
    t.integer('status_code').notNullable();
    t.string('error', 1000).nullable();
    t.integer('duration_ms').notNullable();
    t.string('ip', 64).notNullable().defaultTo('');
    t.string('trace_id', 64).nullable();
    t.index(['time']);
    t.index(['admin', 'time']);
    t.index(['action', 'time']);
  });

  // Fleet-wide settings every hub replica shares (the JWT signing secret).
  await knex.schema.createTable('settings', (t) => {
    t.string('key', 64).primary();
    t.string('value', 500).notNullable();
  });

  // One row per scheduled job: whoever holds an unexpired lease runs the tick (several hubs, one DB).
  await knex.schema.createTable('job_leases', (t) => {
    t.string('name', 64).primary();
    t.string('holder', 100).notNullable();
    t.bigInteger('expires_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['job_leases', 'settings', 'audit_log', 'config_versions', 'usage_hourly', 'subscriptions', 'plans', 'users', 'admins']) {
    await knex.schema.dropTableIfExists(table);
  }
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumns('tags', 'multiplier', 'enabled', 'desired_revision', 'applied_revision', 'desired_config_version',
      'applied_config_version', 'ledger_seq', 'last_seen_at', 'health', 'last_error');
  });
}
