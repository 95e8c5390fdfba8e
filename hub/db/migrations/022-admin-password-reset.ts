// Admins who must choose a new password before they may use the API: those brought over from
// another panel (`boxfleet import marzban`) keep their old password hash only to prove who they
// are when they set the new one (POST /api/v1/auth/password).
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.boolean('must_change_password').notNullable().defaultTo(false);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('admins', (t) => {
    t.dropColumn('must_change_password');
  });
}
