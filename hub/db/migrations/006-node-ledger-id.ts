// Which ledger nodes.ledger_seq counts in. A node whose agent was reinstalled or lost its state
// starts a new ledger with another id, whose seqs start at 1 again: the position alone would make
// the traffic job refuse it, or skip its first entries once it grew past the old position.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    // clash-stats' ledger id; null until a drain named it (never drained, or its clash-stats is older than 0.4.0).
    t.string('ledger_id', 255).nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumn('ledger_id');
  });
}
