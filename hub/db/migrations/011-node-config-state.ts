// What each node serves, and each node's config history as a table of its own. The hub owns config
// versions; the node reports the hash of the base config it serves (singbox-config status), and a
// served hash that is not the hash of the version the hub applied is drift (config_drift_since).
// The history had been read out of the audit log; the config pushes recorded there are copied over,
// so that a node's rollback still finds the versions it applied before the upgrade.
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nodes', (t) => {
    t.string('served_config_hash', 64).nullable();
    t.bigInteger('served_checked_at').nullable();
    t.bigInteger('config_drift_since').nullable();
  });
  await knex.schema.createTable('node_config_history', (t) => {
    t.bigIncrements('id');
    t.string('node_id', 63).notNullable().references('nodes.id').onDelete('CASCADE');
    // Null for a drift to a config that is no version the hub knows.
    t.integer('version_id').unsigned().nullable();
    t.string('hash', 64).nullable();
    t.string('action', 16).notNullable();
    t.string('admin', 64).notNullable();
    t.string('result', 8).notNullable();
    t.string('error', 1000).nullable();
    t.bigInteger('time').notNullable();
    t.index(['node_id', 'id']);
  });

  const nodes = new Set((await knex('nodes').select('id')).map((r: { id: string }) => r.id));
  const pushes = await knex('audit_log').where({ action: 'node.config.apply' }).orderBy('id').select('target', 'input', 'admin', 'result', 'error', 'time');
  const rows = pushes.flatMap((p: { target: string; input: string | null; admin: string; result: string; error: string | null; time: number }) => {
    const input = (typeof p.input === 'string' ? JSON.parse(p.input) : p.input) as { version?: unknown; hash?: unknown } | null;
    const version = Number(input?.version);
    if (!nodes.has(p.target) || !Number.isInteger(version)) return [];
    const hash = typeof input?.hash === 'string' ? input.hash : null;
    return [{ node_id: p.target, version_id: version, hash, action: 'apply', admin: p.admin, result: p.result, error: p.error?.slice(0, 1000) ?? null, time: p.time }];
  });
  for (let i = 0; i < rows.length; i += 200) await knex('node_config_history').insert(rows.slice(i, i + 200));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('node_config_history');
  await knex.schema.alterTable('nodes', (t) => {
    t.dropColumn('served_config_hash');
    t.dropColumn('served_checked_at');
    t.dropColumn('config_drift_since');
  });
}
