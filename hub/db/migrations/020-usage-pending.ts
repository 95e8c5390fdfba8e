// usage_pending: the traffic job's per-node, per-user detail of each applied batch, one row per node
// and hour (cells packed in one column: hub/billing/usage-pending.ts) instead of one usage_hourly
// upsert per node, user and hour. At 200 nodes × 5,000 users that is 200 rows a tick instead of a
// million, which InnoDB's ≈5 µs per inserted and ≈8.5 µs per updated row put out of a minute's
// budget on a small hub. The usage-rollup job folds the rows into usage_hourly and deletes them in
// one transaction. The byte sums per row keep fleet and node totals exact before the roll-up.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('usage_pending', (t) => {
    t.bigIncrements('id');
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    t.bigInteger('hour').notNullable();
    t.bigInteger('upload_bytes').notNullable();
    t.bigInteger('download_bytes').notNullable();
    t.bigInteger('billed_bytes').notNullable();
    // Last, so reading the sums never touches it (InnoDB keeps it off-page, SQLite in overflow pages).
    t.text('cells', 'mediumtext').notNullable();
    t.index(['node_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  // Dropping pending rows would lose usage detail the subscriptions were already billed for.
  const pending = await knex('usage_pending').count({ n: '*' }).first();
  if (Number(pending?.n ?? 0) > 0) {
    throw new Error(`usage_pending still holds ${String(pending!.n)} rows: run the usage-rollup job (with the traffic job stopped) before migrating down`);
  }
  await knex.schema.dropTable('usage_pending');
}
