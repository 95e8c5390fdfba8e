// Where end users' clients reach a node, apart from the agent's gRPC address (`address`): the
// proxy may sit behind another name or IP than the agent, and one inbound behind a CDN or a
// mapped port. The subscriptions fall back to the host of `address` when these are empty.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.string('public_host', 253).nullable();
    // JSON text `{ "<inbound tag>": { "host"?: ..., "port"?: ... } }`; null when there are none. TEXT:
    // up to 64 overrides do not fit the string column `tags` uses.
    t.text('inbound_overrides').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumn('public_host');
    t.dropColumn('inbound_overrides');
  });
}
