import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('nodes', (t) => {
    t.string('id', 63).primary();
    t.string('name', 200).notNullable();
    t.string('address', 300).notNullable();
    t.boolean('insecure').notNullable().defaultTo(false);
    t.string('fingerprint', 64).nullable();
    t.text('certificate').nullable();
    t.string('token', 200).notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('nodes');
}
