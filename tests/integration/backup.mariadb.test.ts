// Moving a hub from the embedded SQLite to MariaDB as the README says: back up the SQLite hub,
// restore the archive into an empty MariaDB database, start the hub on MariaDB. It answers the API
// as the SQLite hub did (booleans, decimal prices, byte counts past 2^32, JSON columns and config
// contents included), sessions signed before the move stay valid, and new rows get the ids the
// SQLite hub would have given them. Needs BOXFLEET_TEST_MYSQL_URL.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { Model } from 'objection';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../hub/app.js';
import { backupHub, restoreHub } from '../../hub/backup.js';
import { resolveHubConfig, type HubConfig } from '../../hub/config.js';
import { storeSamples } from '../../hub/jobs/metrics.js';
import type { AgentProcess } from '../support/agent-process.js';
import { createTestDatabase, startTestHub, type TestHub } from '../support/hub.js';
import { api, SEED_CONFIGS, SEED_NODE, seedHub, type Seeded } from './backup.seed.js';
import { logger, startFakeNode } from './jobs.suite.js';

describe('moving a hub from SQLite to MariaDB with backup and restore', () => {
  const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
  let agent: AgentProcess;
  let sqlite: TestHub | undefined;
  let database: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let mariadb: FastifyInstance | undefined;
  let mariadbConfig: HubConfig;
  let seeded: Seeded;
  let dir: string;
  let auth: { authorization: string };
  let urls: string[];
  /** What the SQLite hub answered to `urls`, and the ids it gave the rows created after the backup. */
  let answers: unknown[];
  let idsAfter: number[];
  let restoredFrom: string;

  /** One more user, plan and config version: the rows whose ids the databases' counters pick. */
  const createMore = async (call: (url: string, payload: object) => Promise<{ id: number }>) => [
    (await call('/api/v1/users', { name: 'after-the-move' })).id,
    (await call('/api/v1/plans', { name: 'After', traffic_limit_bytes: 1, duration_days: 1 })).id,
    (await call('/api/v1/configs', { config: { ...SEED_CONFIGS[0], log: { level: 'error' } } })).id,
  ];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-move-'));
    [agent, sqlite] = await Promise.all([startFakeNode(SEED_NODE), startTestHub('sqlite', { clock: () => clock.now })]);
    seeded = await seedHub(sqlite, agent, clock);
    auth = sqlite.auth;
    const file = path.join(dir, 'hub.jsonl.gz');
    await backupHub(sqlite.config, file);

    const versions = (await api<{ versions: { id: number }[] }>(sqlite, 'GET', '/api/v1/configs')).versions;
    // The audit log before the credentials, whose reading is audited.
    urls = [
      '/api/v1/admins',
      '/api/v1/users?per_page=200',
      '/api/v1/plans',
      '/api/v1/subscriptions?per_page=200',
      `/api/v1/usage?node_id=${SEED_NODE}&from=2031-05-06T00:00:00.000Z&to=2031-05-06T12:00:00.000Z`,
      '/api/v1/audit?per_page=200',
      '/api/v1/configs',
      ...versions.map((v) => `/api/v1/configs/${v.id}`),
      '/api/v1/alerts',
      `/api/v1/nodes/${SEED_NODE}/live`,
      `/api/v1/nodes/${SEED_NODE}/metrics?kind=cpu-memory`,
      ...[1, 2, 3, 4].map((id) => `/api/v1/users/${id}/credentials`),
    ];
    answers = [];
    for (const url of urls) answers.push(await api(sqlite, 'GET', url));
    idsAfter = await createMore((url, payload) => api(sqlite!, 'POST', url, payload));
    await sqlite.close();
    sqlite = undefined;

    database = await createTestDatabase('mariadb');
    mariadbConfig = resolveHubConfig({ data_dir: path.join(dir, 'mariadb-hub'), database_url: database.url, log_level: 'error', jobs_enabled: false }, {});
    restoredFrom = (await restoreHub(mariadbConfig, file)).header.database;
    mariadb = await buildApp({ config: mariadbConfig, logger, clock: () => clock.now });
  });

  afterAll(async () => {
    await mariadb?.close();
    await sqlite?.close();
    await database?.drop();
    await agent?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers the API as the SQLite hub did, to a session signed before the move', async () => {
    expect(restoredFrom).toBe('sqlite');
    for (const [i, url] of urls.entries()) {
      const res = await mariadb!.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      expect(res.json(), url).toEqual(answers[i]);
    }
    // What the comparison covers, so an empty answer on both sides cannot pass it.
    const answer = (url: string): any => answers[urls.indexOf(url)];
    expect(answer('/api/v1/users?per_page=200').items.map((u: { name: string }) => u.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    const plans = answer('/api/v1/plans').items as { name: string }[];
    expect(plans.find((p) => p.name === 'Gold')).toMatchObject({ price: 9.99, is_enabled: true, node_tags: ['hk'] });
    expect(plans.find((p) => p.name === 'Trial')).toMatchObject({ is_enabled: false });
    expect(plans.find((p) => p.name === 'Ten TB')).toMatchObject({ traffic_limit_bytes: 10 * 2 ** 40, price: 1234.5 });
    const configs = answers.filter((_, i) => /^\/api\/v1\/configs\/\d+$/.test(urls[i]!)) as { config: unknown }[];
    expect(configs.map((c) => c.config)).toEqual([...SEED_CONFIGS].reverse());
  });

  it('gives new rows the ids the SQLite hub gave them after the backup', async () => {
    const ids = await createMore(async (url, payload) => {
      const res = await mariadb!.inject({ method: 'POST', url, headers: auth, payload });
      expect(res.statusCode, res.body).toBe(201);
      return res.json();
    });
    expect(ids).toEqual(idsAfter);
    expect(ids[0]).toBe(seeded.deletedUserId + 1);
  });

  it('moves back: a backup of the MariaDB hub, taken while it runs, restores into SQLite with the same answers', async () => {
    const get = async (app: FastifyInstance, url: string) => {
      const res = await app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      return res.json();
    };
    // A day of samples: the backup pages through node_metrics (a four-column key) many times.
    const day = Array.from({ length: 2880 }, (_, i) => ({ node: SEED_NODE, kind: 'disk-network' as const, time: new Date(clock.now - i * 30_000).toISOString(), values: { rx_bytes_per_s: i } }));
    await storeSamples(mariadb!.db, day);
    const samplesUrl = `/api/v1/nodes/${SEED_NODE}/metrics?kind=disk-network`;
    const file = path.join(dir, 'from-mariadb.jsonl.gz');
    expect((await backupHub(mariadbConfig, file)).header).toMatchObject({ database: 'mysql', objects: 3 });
    const onMariadb = [];
    for (const url of [...urls, samplesUrl]) onMariadb.push(await get(mariadb!, url));
    expect(onMariadb.at(-1).samples).toHaveLength(2880);

    const config = resolveHubConfig({ data_dir: path.join(dir, 'sqlite-again'), log_level: 'error', jobs_enabled: false }, {});
    await restoreHub(config, file);
    const back = await buildApp({ config, logger, clock: () => clock.now });
    try {
      for (const [i, url] of [...urls, samplesUrl].entries()) expect(await get(back, url), url).toEqual(onMariadb[i]);
    } finally {
      await back.close();
      Model.knex(mariadb!.db);
    }
  });
});
