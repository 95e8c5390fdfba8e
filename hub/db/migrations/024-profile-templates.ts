// Profile templates (hub/subscriptions/templates.ts): every saved version of each format's template,
// never updated in place. The newest row of a format is the one served; a row without a body goes
// back to the built-in default. Who saved it and when are on the row (and in the audit log).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('profile_templates', (t) => {
    t.increments('id');
    t.string('format', 16).notNullable();
    /** The template's text (JSON or YAML); null: the built-in default. */
    t.text('body', 'mediumtext').nullable();
    t.string('name_pattern', 200).notNullable().defaultTo('');
    t.bigInteger('created_at').notNullable();
    t.string('created_by', 64).notNullable();
    t.index(['format', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('profile_templates');
}
