// The fleet's firewall as the hub owns it: rule sets an admin writes, each reaching the nodes that
// carry one of its tags (or every node), and per node what the firewall plugin last confirmed and
// the last push it refused. A node's rule list and revision are computed from the sets
// (hub/firewall.ts), never stored, so they cannot go stale against the sets or the node's tags.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('firewall_rule_sets', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable().unique();
    /** JSON array of node tags; [] reaches every node. */
    t.text('tags').notNullable();
    // JSON array of the contract's rules; up to MAX_RULES of them outgrow MySQL's TEXT.
    t.text('rules', 'mediumtext').notNullable();
    t.string('comment', 500).notNullable().defaultTo('');
    /** configHash of { tags, rules }: a reader rebuilds the nodes' lists only when some set's hash moved. */
    t.string('hash', 64).notNullable();
    t.string('created_by', 64).notNullable();
    t.string('updated_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
  await knex.schema.createTable('node_firewall', (t) => {
    t.string('node_id', 63).primary().references('nodes.id').onDelete('CASCADE');
    /** The revision the node confirmed (firewall.rules.sync answered); null until it did. */
    t.string('revision', 64).nullable();
    t.bigInteger('synced_at').nullable();
    /** JSON array: what the node said it could not enforce with that revision (no nft, say). */
    t.text('warnings').nullable();
    /** The last push the node refused or did not answer; cleared by a confirmed one. */
    t.string('last_error', 1000).nullable();
    t.string('error_revision', 64).nullable();
    t.bigInteger('error_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_firewall');
  await knex.schema.dropTable('firewall_rule_sets');
}
