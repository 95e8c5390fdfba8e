// Upgrading a hub that already has data: migration 007 starts each node's running traffic totals
// from the usage the hub had recorded before it (SQLite; the statement is plain SQL both databases run);
// migration 011 carries the config pushes from the audit log into the nodes' config history;
// migration 013 drops usage_hourly's per-user index and foreign key without losing a row, and back;
// migration 020 is not undone while usage is still pending; migration 021 keeps the old 30-day
// "monthly" plans resetting as they did, as rolling_30d.
import knexFactory, { type Knex } from 'knex';
import { afterEach, describe, expect, it } from 'vitest';
import { migrationSource } from '../../hub/db/migrations/index.js';

describe('migrations over existing data', () => {
  let db: Knex | undefined;
  afterEach(async () => {
    await db?.destroy();
  });

  it('007 totals each node from the usage recorded before it', async () => {
    db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    const names = await migrationSource.getMigrations([]);
    for (const _ of names.slice(0, names.indexOf('007-node-traffic-totals'))) await db.migrate.up({ migrationSource });
    const now = Date.now();
    const node = (id: string) => ({ id, name: id, address: '127.0.0.1:1', token: 'x'.repeat(32), tags: '[]', created_at: now, updated_at: now });
    await db('nodes').insert([node('busy'), node('idle')]);
    const user = (name: string) => ({ name, uuid: name, password: name, ss_key: name, sub_token: name, created_at: now, updated_at: now });
    await db('users').insert([user('alice'), user('bob')]);
    const [alice, bob] = (await db('users').orderBy('id').select('id')).map((r) => r.id as number);
    await db('usage_hourly').insert([
      { node_id: 'busy', user_id: alice, hour: 0, upload_bytes: 10, download_bytes: 100, billed_bytes: 220 },
      { node_id: 'busy', user_id: alice, hour: 3_600_000, upload_bytes: 1, download_bytes: 2, billed_bytes: 6 },
      { node_id: 'busy', user_id: bob, hour: 0, upload_bytes: 5, download_bytes: 5, billed_bytes: 20 },
    ]);

    await db.migrate.up({ migrationSource });
    const totals = await db('nodes').orderBy('id').select('id', 'upload_bytes_total', 'download_bytes_total', 'billed_bytes_total');
    expect(totals).toEqual([
      { id: 'busy', upload_bytes_total: 16, download_bytes_total: 107, billed_bytes_total: 246 },
      { id: 'idle', upload_bytes_total: 0, download_bytes_total: 0, billed_bytes_total: 0 },
    ]);
  });

  it("011 copies each node's config pushes from the audit log into its config history", async () => {
    db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    const names = await migrationSource.getMigrations([]);
    for (const _ of names.slice(0, names.indexOf('011-node-config-state'))) await db.migrate.up({ migrationSource });
    const now = Date.now();
    await db('nodes').insert({ id: 'edge', name: 'edge', address: '127.0.0.1:1', token: 'x'.repeat(32), tags: '[]', created_at: now, updated_at: now });
    const push = (target: string, input: object | null, result: 'ok' | 'error', error: string | null, time: number) => ({
      time, admin_id: null, admin: 'root', action: 'node.config.apply', target, input: input && JSON.stringify(input), result, status_code: result === 'ok' ? 200 : 400, error, duration_ms: 1, ip: '',
    });
    await db('audit_log').insert([
      push('edge', { version: 1, hash: 'a'.repeat(64) }, 'ok', null, 1),
      push('edge', { version: 2, hash: 'b'.repeat(64) }, 'error', 'sing-box check failed', 2),
      push('gone', { version: 1, hash: 'a'.repeat(64) }, 'ok', null, 3),
      { ...push('edge', { version: 1 }, 'ok', null, 4), action: 'node.users.sync' },
    ]);

    await db.migrate.up({ migrationSource });
    expect(await db('node_config_history').orderBy('id').select('node_id', 'version_id', 'hash', 'action', 'admin', 'result', 'error', 'time')).toEqual([
      { node_id: 'edge', version_id: 1, hash: 'a'.repeat(64), action: 'apply', admin: 'root', result: 'ok', error: null, time: 1 },
      { node_id: 'edge', version_id: 2, hash: 'b'.repeat(64), action: 'apply', admin: 'root', result: 'error', error: 'sing-box check failed', time: 2 },
    ]);
    expect(await db('nodes').first('served_config_hash', 'config_drift_since')).toEqual({ served_config_hash: null, config_drift_since: null });
  });

  it("013 keeps every usage row; undone, it puts the per-user index and the foreign key back, dropping rows of users that are gone", async () => {
    db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    await db.raw('PRAGMA foreign_keys = ON');
    const names = await migrationSource.getMigrations([]);
    for (const _ of names.slice(0, names.indexOf('013-usage-hourly-one-index'))) await db.migrate.up({ migrationSource });
    const now = Date.now();
    await db('nodes').insert({ id: 'edge', name: 'edge', address: '127.0.0.1:1', token: 'x'.repeat(32), tags: '[]', created_at: now, updated_at: now });
    const user = (name: string) => ({ name, uuid: name, password: name, ss_key: name, sub_token: name, created_at: now, updated_at: now });
    await db('users').insert([user('alice'), user('bob')]);
    const [alice, bob] = (await db('users').orderBy('id').select('id')).map((r) => r.id as number);
    const rows = [
      { node_id: 'edge', user_id: alice, hour: 0, upload_bytes: 10, download_bytes: 100, billed_bytes: 220 },
      { node_id: 'edge', user_id: alice, hour: 3_600_000, upload_bytes: 1, download_bytes: 2, billed_bytes: 6 },
      { node_id: 'edge', user_id: bob, hour: 0, upload_bytes: 5, download_bytes: 5, billed_bytes: 20 },
    ];
    await db('usage_hourly').insert(rows);
    const usage = () => db!('usage_hourly').orderBy(['user_id', 'hour']).select('node_id', 'user_id', 'hour', 'upload_bytes', 'download_bytes', 'billed_bytes');
    const indexes = async () => ((await db!.raw("PRAGMA index_list('usage_hourly')")) as { name: string }[]).map((i) => i.name).sort();
    const userKeys = async () => ((await db!.raw("PRAGMA foreign_key_list('usage_hourly')")) as { table: string }[]).filter((k) => k.table === 'users').length;

    await db.migrate.up({ migrationSource });
    expect(await usage()).toEqual(rows);
    expect(await indexes()).toEqual(['sqlite_autoindex_usage_hourly_1']);
    expect(await userKeys()).toBe(0);

    await db('users').where({ id: bob }).delete();
    await db.migrate.down({ migrationSource });
    expect(await usage()).toEqual(rows.slice(0, 2));
    expect(await indexes()).toEqual(['sqlite_autoindex_usage_hourly_1', 'usage_hourly_user_id_hour_index']);
    expect(await userKeys()).toBe(1);
  });

  it('020 is not undone while usage_pending holds rows the subscriptions were billed for', async () => {
    db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    await db.migrate.latest({ migrationSource });
    const now = Date.now();
    await db('nodes').insert({ id: 'edge', name: 'edge', address: '127.0.0.1:1', token: 'x'.repeat(32), tags: '[]', created_at: now, updated_at: now });
    await db('usage_pending').insert({ node_id: 'edge', hour: 0, upload_bytes: 1, download_bytes: 2, billed_bytes: 3, cells: '[1,1,2,3]' });
    const undo = () => db!.migrate.down({ migrationSource, name: '020-usage-pending' });
    await expect(undo()).rejects.toThrow('usage_pending still holds 1 rows: run the usage-rollup job (with the traffic job stopped) before migrating down');
    expect(await db.schema.hasTable('usage_pending')).toBe(true);
    await db('usage_pending').delete();
    await undo();
    expect(await db.schema.hasTable('usage_pending')).toBe(false);
  });

  it('021 turns the old monthly (every 30 days) into rolling_30d; undone, back, refusing while a plan resets on the calendar', async () => {
    db = knexFactory({ client: 'better-sqlite3', connection: { filename: ':memory:' }, useNullAsDefault: true });
    const names = await migrationSource.getMigrations([]);
    for (const _ of names.slice(0, names.indexOf('021-reset-strategies'))) await db.migrate.up({ migrationSource });
    const now = Date.now();
    const plan = (name: string, reset_policy: string) => ({ name, traffic_limit_bytes: 1, duration_days: 30, price: 0, node_tags: '[]', reset_policy, created_at: now, updated_at: now });
    await db('plans').insert([plan('thirty', 'monthly'), plan('never', 'none')]);
    const plans = () => db!('plans').orderBy('id').select('name', 'reset_policy', 'reset_day');

    await db.migrate.up({ migrationSource });
    expect(await plans()).toEqual([
      { name: 'thirty', reset_policy: 'rolling_30d', reset_day: null },
      { name: 'never', reset_policy: 'none', reset_day: null },
    ]);
    expect(await db.schema.hasTable('subscription_resets')).toBe(true);

    await db('plans').insert({ ...plan('calendar', 'monthly'), reset_day: 5 });
    await expect(db.migrate.down({ migrationSource })).rejects.toThrow(
      'plans calendar reset on the calendar, which the schema before 021 cannot hold: give them reset_policy none or rolling_30d first',
    );
    await db('plans').where({ name: 'calendar' }).delete();
    await db.migrate.down({ migrationSource });
    expect(await db('plans').orderBy('id').select('name', 'reset_policy')).toEqual([
      { name: 'thirty', reset_policy: 'monthly' },
      { name: 'never', reset_policy: 'none' },
    ]);
    expect(await db.schema.hasTable('subscription_resets')).toBe(false);
  });
});
