// Each node's traffic ever applied from its ledger, kept with the node as running totals, so that
// the hub's /metrics reads a few hundred rows instead of summing usage_hourly on every scrape, and
// its counters do not go down when users are deleted (their usage rows go with them).
import type { Knex } from 'knex';

const COLUMNS = ['upload_bytes_total', 'download_bytes_total', 'billed_bytes_total'] as const;

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    for (const column of COLUMNS) t.bigInteger(column).notNullable().defaultTo(0);
  });
  // What was applied before this migration, from the usage it left.
  for (const [column, source] of [
    ['upload_bytes_total', 'upload_bytes'],
    ['download_bytes_total', 'download_bytes'],
    ['billed_bytes_total', 'billed_bytes'],
  ] as const) {
    await knex('nodes').update({
      [column]: knex.raw('(SELECT COALESCE(SUM(??), 0) FROM usage_hourly WHERE usage_hourly.node_id = nodes.id)', [source]),
    });
  }
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    for (const column of COLUMNS) t.dropColumn(column);
  });
}
