// redis_url is optional: a hub without it counts its rate limits and sign-in back-off in its own
// memory exactly as before (two hubs on one database then count apart), connects to nothing and
// shows no Redis figures, while the jobs, the live one included, still run once per tick among
// the hubs on one database (their lease is in it); a hub given a Redis it cannot reach, or an
// address that is no Redis URL, refuses to start and says which setting is wrong. (Hubs sharing a
// real Redis: several-hubs.mariadb.test.ts.)
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../hub/app.js';
import { resolveHubConfig } from '../../hub/config.js';
import { createLogger } from '../../agent-core/common/logger.js';
import { freePort } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';

const logger = createLogger({ service: 'hub', level: 'error' });

describe('two hubs on one database without redis_url', () => {
  let a: TestHub;
  let b: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    a = await startTestHub('sqlite');
    // A second hub on the same SQLite database, as a replica would be without Redis.
    b = await buildApp({ config: a.config, logger });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('has no Redis and shows no Redis figures', async () => {
    expect(a.app.redis).toBeNull();
    const metrics = await a.app.inject({ method: 'GET', url: '/metrics' });
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).not.toContain('boxfleet_hub_redis');
  });

  it('limits a subscription token per hub, each hub counting on its own', async () => {
    const token = randomBytes(32).toString('base64url');
    const get = (hub: { inject: TestHub['app']['inject'] }) => hub.inject({ method: 'GET', url: `/sub/${token}/info` }).then((r) => r.statusCode);
    const onA: number[] = [];
    for (let i = 0; i < 61; i++) onA.push(await get(a.app));
    // An unknown token answers 404 until its limit (60 a minute) is used up.
    expect(onA).toEqual([...Array(60).fill(404), 429]);
    expect(await get(b)).toBe(404);
  });

  it('run the live job once per tick: the other hub leaves it to the lease holder', async () => {
    expect(await a.app.jobs.run('live')).toMatchObject({ ran: true, result: { nodes: 0 } });
    expect(await b.jobs.run('live')).toEqual({ ran: false, holder: a.app.jobs.holder });
  });
});

describe('a hub given a Redis it cannot use', () => {
  it('refuses to start when the Redis cannot be reached, naming the setting and the address without its password', async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-no-redis-'));
    const config = resolveHubConfig({ data_dir: dataDir, jobs_enabled: false }, { BOXFLEET_REDIS_URL: `redis://:hunter2@127.0.0.1:${port}/0` });
    const started = buildApp({ config, logger });
    await expect(started).rejects.toThrow(`redis_url (BOXFLEET_REDIS_URL): cannot reach redis://127.0.0.1:${port}/0: connect ECONNREFUSED 127.0.0.1:${port}`);
    await expect(started).rejects.not.toThrow('hunter2');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses an address that is no Redis URL, without repeating it', () => {
    expect(() => resolveHubConfig({}, { BOXFLEET_REDIS_URL: 'http://user:hunter2@cache:6379' })).toThrow(
      'redis_url (BOXFLEET_REDIS_URL): must be redis://[:password@]host:port[/db] or rediss://…, for example redis://10.0.0.5:6379',
    );
  });
});
