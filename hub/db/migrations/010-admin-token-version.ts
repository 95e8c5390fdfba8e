// A counter in every admin's sessions (the JWT carries it): raising it ends every session signed
// before, on every hub replica at once, without a list of issued tokens.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.integer('token_version').unsigned().notNullable().defaultTo(0);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.dropColumn('token_version');
  });
}
