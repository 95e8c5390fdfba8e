// One-time install commands: an admin creates one in the dashboard, a new machine runs it and
// joins the fleet with the tags, name and multiplier chosen here. Only the token's SHA-256 is
// kept, so the table never holds a working credential.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('install_tokens', (t) => {
    t.increments('id');
    t.string('token_hash', 64).notNullable().unique();
    // What the node is added with; null name: the agent's node id, null multiplier: 1.
    t.string('name', 200).nullable();
    t.string('tags', 1000).notNullable().defaultTo('[]');
    t.double('multiplier').nullable();
    t.integer('created_by_id').unsigned().nullable();
    t.string('created_by', 64).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('revoked_at').nullable();
    // Set in the transaction that adds the node, only while used_at is still null.
    t.bigInteger('used_at').nullable();
    t.string('used_by_node', 63).nullable();
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('install_tokens');
}
