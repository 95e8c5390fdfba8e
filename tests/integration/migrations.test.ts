// Upgrading a hub that already has data: migration 007 starts each node's running traffic totals
// from the usage the hub had recorded before it (SQLite; the statement is plain SQL both databases run).
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
});
