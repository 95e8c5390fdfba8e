// Backup and restore of a hub on SQLite (hub/backup.ts): a backup taken while the hub runs restores
// into an empty data dir row for row and object for object; a database that holds data is refused
// unless forced; an archive from an older schema is migrated up, one from a newer schema and a bad
// archive are refused and change nothing; and the `boxfleet hub backup` / `hub restore` commands.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupHub, restoreHub } from '../../hub/backup.js';
import { resolveHubConfig, type HubConfig } from '../../hub/config.js';
import { connectDatabase } from '../../hub/db/database.js';
import { migrationSource } from '../../hub/db/migrations/index.js';
import { storeSamples } from '../../hub/jobs/metrics.js';
import { openObjectStore } from '../../hub/object-store.js';
import { CLI, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { api, SEED_ADMIN, SEED_NODE, seedHub, type Seeded } from './backup.seed.js';
import { joinHub, leave, nodeCommand, startFakeNode } from './jobs.suite.js';

const LATEST = (await migrationSource.getMigrations([])).at(-1)!;

/** Every boxfleet table's rows, ordered by primary key. */
async function tableRows(db: Knex): Promise<Record<string, unknown[]>> {
  const names = ((await db('sqlite_master').where({ type: 'table' }).orderBy('name').pluck('name')) as string[]).filter(
    (n) => !n.startsWith('sqlite_') && !n.startsWith('knex_'),
  );
  const tables: Record<string, unknown[]> = {};
  for (const name of names) {
    const key = ((await db.raw('PRAGMA table_info(??)', [name])) as { name: string; pk: number }[]).filter((c) => c.pk).sort((a, b) => a.pk - b.pk);
    tables[name] = await db(name).orderBy(key.map((c) => c.name));
  }
  return tables;
}

/** A database's tables and the object store's bytes, as the hub with `config` sees them. */
async function contents(config: HubConfig): Promise<{ tables: Record<string, unknown[]>; objects: Record<string, Buffer> }> {
  const db = await connectDatabase(config);
  try {
    const store = await openObjectStore(config.object_store_url, config.data_dir);
    const objects: Record<string, Buffer> = {};
    for (const key of await store.list()) objects[key] = await store.get(key);
    return { tables: await tableRows(db), objects };
  } finally {
    await db.destroy();
  }
}

/** Rewrites an archive's lines, as a damaged or hand-edited file would have them. */
async function rewrite(file: string, out: string, edit: (lines: string[]) => string[]): Promise<string> {
  const lines = gunzipSync(await readFile(file)).toString('utf8').split('\n');
  await writeFile(out, gzipSync(edit(lines).join('\n')));
  return out;
}

const cli = (args: string[], env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });

describe('hub backup and restore, on SQLite', () => {
  const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
  let agent: AgentProcess;
  let hub: TestHub;
  let seeded: Seeded;
  const dirs: string[] = [];

  const tempDir = async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-backup-'));
    dirs.push(dir);
    return dir;
  };
  const hubConfig = (dataDir: string) => resolveHubConfig({ data_dir: dataDir, log_level: 'error', jobs_enabled: false }, {});
  /** A backup of the test hub, taken while it runs. */
  const backup = async () => {
    const file = path.join(await tempDir(), 'hub.jsonl.gz');
    return { file, result: await backupHub(hub.config, file) };
  };
  /** A data dir restored from `file`. */
  const restored = async (file: string) => {
    const config = hubConfig(await tempDir());
    await restoreHub(config, file);
    return config;
  };

  beforeAll(async () => {
    [agent, hub] = await Promise.all([startFakeNode(SEED_NODE), startTestHub('sqlite', { clock: () => clock.now })]);
    seeded = await seedHub(hub, agent, clock);
  });

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('restores every table row for row and every object byte for byte into an empty data dir', async () => {
    const { file, result } = await backup();
    const target = await restored(file);

    const source = await contents(hub.config);
    // The seed reaches every table the migrations create.
    expect(Object.entries(source.tables).filter(([, rows]) => rows.length === 0).map(([name]) => name)).toEqual([]);
    expect(Object.keys(source.objects)).toHaveLength(2);
    expect(await contents(target)).toEqual(source);

    expect(result.header).toMatchObject({ format: 'boxfleet-hub-backup', format_version: 1, schema_version: LATEST, database: 'sqlite', objects: 2 });
    expect(Object.fromEntries(result.header.tables.map((t) => [t.name, t.rows]))).toEqual(Object.fromEntries(Object.entries(source.tables).map(([n, rows]) => [n, rows.length])));
    // Private: the archive holds the JWT secret, node tokens and users' credentials.
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('lets the restored hub sign in the same sessions, serve the same answers, and continue ids after the deleted user', async () => {
    const { file } = await backup();
    const target = await restored(file);
    const urls = ['/api/v1/admins', '/api/v1/users?per_page=200', '/api/v1/plans', '/api/v1/subscriptions?per_page=200', `/api/v1/usage?node_id=${SEED_NODE}&from=2031-05-06T00:00:00.000Z&to=2031-05-06T12:00:00.000Z`, '/api/v1/audit?per_page=200', '/api/v1/configs', '/api/v1/alerts'];
    const before = await Promise.all(urls.map((url) => api(hub, 'GET', url)));
    const app = await joinHub(hub, target, () => clock.now);
    try {
      for (const [i, url] of urls.entries()) {
        const res = await app.inject({ method: 'GET', url, headers: hub.auth });
        expect(res.statusCode, url).toBe(200);
        expect(res.json(), url).toEqual(before[i]);
      }
      const created = await app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload: { name: 'after-restore' } });
      expect(created.statusCode).toBe(201);
      expect(created.json().id).toBe(seeded.deletedUserId + 1);
    } finally {
      await leave(app, hub);
    }
  });

  it('is one snapshot: traffic billed while the backup reads is in it whole or not at all', async () => {
    // Enough metrics rows that the backup reads several pages between nodes and usage_hourly.
    const samples = Array.from({ length: 5000 }, (_, i) => ({ node: SEED_NODE, kind: 'disk-network' as const, time: new Date(clock.now - 86_400_000 + i * 1000).toISOString(), values: { rx_bytes_per_s: i } }));
    await storeSamples(hub.app.db, samples);

    let backingUp = true;
    let ticksDuring = 0;
    const billing = (async () => {
      while (backingUp) {
        await nodeCommand(hub, SEED_NODE, 'clash-stats.traffic.append', { user: 'alice', upload_bytes: 1000, download_bytes: 3000, count: 1 });
        await hub.app.jobs.run('traffic');
        ticksDuring += 1;
      }
    })();
    await new Promise((r) => setTimeout(r, 50));
    const ticksBefore = ticksDuring;
    const { file } = await backup().finally(() => (backingUp = false));
    await billing;
    expect(ticksDuring).toBeGreaterThan(ticksBefore);

    const db = await connectDatabase(await restored(file));
    try {
      const node = await db('nodes').where({ id: SEED_NODE }).first();
      // Usage rolled up and usage still pending, together.
      const sums = await Promise.all(['usage_hourly', 'usage_pending'].map((table) => db(table).where({ node_id: SEED_NODE }).sum({ up: 'upload_bytes', billed: 'billed_bytes' }).first()));
      const total = (column: 'up' | 'billed') => sums.reduce((n, row) => n + Number(row?.[column] ?? 0), 0);
      expect([node.upload_bytes_total, node.billed_bytes_total].map(Number)).toEqual([total('up'), total('billed')]);
    } finally {
      await db.destroy();
    }
  });

  it('refuses a database that holds data, naming the table, and replaces it with force', async () => {
    const { file } = await backup();
    const target = await restored(file);
    const db = await connectDatabase(target);
    try {
      await db('users').insert({ name: 'only-here', uuid: 'u', password: 'p', ss_key: 'k', sub_token: 'only-here', created_at: 1, updated_at: 1 });
      const holding = await contents(target);
      await expect(restoreHub(target, file)).rejects.toThrow(
        'the database already holds data (table admins has rows): restore into an empty database, or pass --force to replace everything in it',
      );
      expect(await contents(target)).toEqual(holding);

      await restoreHub(target, file, { force: true });
      expect(await db('users').where({ name: 'only-here' }).first()).toBeUndefined();
      expect((await contents(target)).tables).toEqual((await contents(await restored(file))).tables);
    } finally {
      await db.destroy();
    }
  });

  it('restores an archive from an older schema and migrates it to the current one', async () => {
    // A hub database at 006, before the nodes kept running traffic totals (007 computes them).
    const old = hubConfig(await tempDir());
    const db = await connectDatabase(old);
    const names = await migrationSource.getMigrations([]);
    for (const _ of names.slice(0, names.indexOf('006-node-ledger-id') + 1)) await db.migrate.up({ migrationSource });
    await db('nodes').insert({ id: 'old-1', name: 'old', address: '127.0.0.1:1', token: 't'.repeat(24), tags: '["hk"]', created_at: 1, updated_at: 1 });
    await db('users').insert({ name: 'olduser', uuid: 'u', password: 'p', ss_key: 'k', sub_token: 'olduser', created_at: 1, updated_at: 1 });
    await db('usage_hourly').insert([
      { node_id: 'old-1', user_id: 1, hour: 0, upload_bytes: 10, download_bytes: 20, billed_bytes: 30 },
      { node_id: 'old-1', user_id: 1, hour: 3_600_000, upload_bytes: 1, download_bytes: 2, billed_bytes: 3 },
    ]);
    await db.destroy();
    const file = path.join(await tempDir(), 'old.jsonl.gz');
    expect((await backupHub(old, file)).header.schema_version).toBe('006-node-ledger-id');

    const target = hubConfig(await tempDir());
    expect((await restoreHub(target, file)).schema_version).toBe(LATEST);
    const { tables } = await contents(target);
    expect(tables.nodes).toEqual([expect.objectContaining({ id: 'old-1', upload_bytes_total: 11, download_bytes_total: 22, billed_bytes_total: 33, ledger_id: null })]);
  });

  describe('refuses a bad archive and changes nothing', () => {
    let file: string;
    let target: HubConfig;
    let holding: Awaited<ReturnType<typeof contents>>;
    const edited = (edit: (lines: string[]) => string[]) => tempDir().then((dir) => rewrite(file, path.join(dir, 'edited.jsonl.gz'), edit));
    const header = (lines: string[], change: (h: any) => void) => {
      const h = JSON.parse(lines[0]!);
      change(h);
      return [JSON.stringify(h), ...lines.slice(1)];
    };

    beforeAll(async () => {
      ({ file } = await backup());
      target = await restored(file);
      holding = await contents(target);
    });

    it.each([
      ['not an archive', async () => {
        const other = path.join(await tempDir(), 'notes.txt');
        await writeFile(other, 'my notes\n');
        return other;
      }, 'is not a boxfleet backup (it is not gzip-compressed)'],
      ['a gzip file that is no archive', async () => {
        const other = path.join(await tempDir(), 'data.json.gz');
        await writeFile(other, gzipSync('{"users":[]}\n'));
        return other;
      }, 'is not a boxfleet backup (its first line is not a boxfleet-hub-backup header)'],
      ['truncated', async () => {
        const cut = path.join(await tempDir(), 'cut.jsonl.gz');
        const bytes = await readFile(file);
        await writeFile(cut, bytes.subarray(0, bytes.length - 100));
        return cut;
      }, 'is truncated: its compressed data ends early'],
      // Every line reads well; only gzip's checksum at the very end finds the damage.
      ['corrupt', async () => {
        const bad = path.join(await tempDir(), 'bad.jsonl.gz');
        const bytes = Buffer.from(await readFile(file));
        bytes[bytes.length - 8]! ^= 0xff;
        await writeFile(bad, bytes);
        return bad;
      }, 'is corrupt: incorrect data check'],
      ['from an unknown format version', () => edited((lines) => header(lines, (h) => { h.format_version = 2; h.boxfleet_version = '9.0.0'; })),
        'is a boxfleet backup in format version 2 (made by boxfleet 9.0.0); this boxfleet (0.1.0) reads format version 1'],
      ['from a newer schema', () => edited((lines) => header(lines, (h) => { h.schema_version = '999-from-the-future'; h.boxfleet_version = '9.0.0'; })),
        `has schema version 999-from-the-future, newer than this boxfleet (0.1.0) knows (${LATEST}): restore it with boxfleet 9.0.0 or later`],
      ['with a table the schema does not have', () => edited((lines) => {
        const [first, ...rest] = header(lines, (h) => h.tables.unshift({ name: 'gadgets', columns: { id: 'number' }, rows: 1 }));
        return [first!, '{"t":"gadgets","r":{"id":1}}', ...rest];
      }), `has rows of table gadgets, which schema version ${LATEST} does not have`],
      ['missing rows its header counts', () => edited((lines) => lines.filter((l) => !l.startsWith('{"t":"plans"'))),
        'is incomplete: table plans has 0 rows, its header says 3'],
      ['whose rows break a constraint', () => edited((lines) => lines.map((l) => (l.startsWith('{"t":"users"') ? l.replace(/"name":"[a-z]+"/, '"name":"alice"') : l))),
        /restoring table users \(rows 1 to \d+\): UNIQUE constraint failed: users\.name/],
    ] as [string, () => Promise<string>, string | RegExp][])('%s', async (_, make, message) => {
      const bad = await make();
      await expect(restoreHub(target, bad, { force: true })).rejects.toThrow(message);
      expect(await contents(target)).toEqual(holding);
    });
  });

  it('`boxfleet hub backup` and `hub restore` work from the shell against a running hub, and `boxfleet hub` alone serves the restored data', async () => {
    const out = path.join(await tempDir(), 'cli.jsonl.gz');
    const backedUp = await cli(['hub', 'backup', '--out', out, '--data-dir', hub.config.data_dir]);
    expect(backedUp.stderr).toMatch(/^boxfleet: users: 4 rows$/m);
    expect(backedUp).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^wrote ${out} \\(\\d+ bytes\\): \\d+ rows of \\d+ tables and 2 objects, schema ${LATEST}, from sqlite\\n$`)) });
    expect((await stat(out)).mode & 0o777).toBe(0o600);

    // Into ./data of a folder, where `boxfleet hub` with no options keeps its data.
    const home = await tempDir();
    const restoredCli = await cli(['hub', 'restore', out, '--data-dir', path.join(home, 'data')]);
    expect(restoredCli).toMatchObject({ code: 0, stdout: expect.stringMatching(new RegExp(`^restored \\d+ rows and 2 objects \\(schema ${LATEST}\\) into SQLite in ${path.join(home, 'data')}\\n$`)) });
    const again = await cli(['hub', '--data-dir', path.join(home, 'data'), 'restore', out]);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('boxfleet: the database already holds data (table admins has rows)') });
    expect(await cli(['hub', 'restore', path.join(home, 'missing.jsonl.gz'), '--data-dir', home])).toMatchObject({
      code: 1,
      stderr: `boxfleet: ${path.join(home, 'missing.jsonl.gz')}: no such file\n`,
    });

    const child = spawn(process.execPath, [CLI, 'hub'], {
      cwd: home,
      env: { ...process.env, BOXFLEET_PORT: '0', BOXFLEET_HOST: '127.0.0.1', BOXFLEET_JOBS_ENABLED: 'false', BOXFLEET_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the hub did not start:\n${output}`)), 20_000);
        const read = (chunk: Buffer) => {
          output += chunk;
          const match = /listening on (http:\S+)/.exec(output);
          if (match) resolve(match[1]!), clearTimeout(timer);
        };
        child.stdout.on('data', read);
        child.stderr.on('data', read);
      });
      const login = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(SEED_ADMIN) });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      const users = await fetch(`${url}/api/v1/users?per_page=200`, { headers: { authorization: `Bearer ${token}` } });
      expect(await users.json()).toEqual(await api(hub, 'GET', '/api/v1/users?per_page=200'));
    } finally {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
  });
});
