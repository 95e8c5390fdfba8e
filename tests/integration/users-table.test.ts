// The users table on SQLite (users-table.suite.ts), and the first page's time with 10,000 users
// against a COUNT(*) floor measured in the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TABLE_SORTS } from '../../hub/users-table.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { seedManyUsers } from '../support/users-seed.js';
import { GiB, NOW, usersTableSuite } from './users-table.suite.js';

usersTableSuite('sqlite');

describe('the users table with 10,000 users, on sqlite', () => {
  const USER_COUNT = 10_000;
  const NODES = ['n-1', 'n-2', 'n-3'];
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { clock: () => NOW });
    const db = hub.app.db;
    const plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'monthly', traffic_limit_bytes: 100 * GiB, duration_days: 30, node_tags: ['hk'] });
    await seedManyUsers(db, { count: USER_COUNT, now: NOW, planId: plan.id, nodes: NODES });
  }, 120_000);
  afterAll(() => hub.close());

  it('answers the first page of every sort and of filters within a generous bound (the figures are printed)', async () => {
    const median = async (run: () => Promise<unknown>) => {
      const times: number[] = [];
      for (let i = 0; i < 7; i++) {
        const start = performance.now();
        await run();
        times.push(performance.now() - start);
      }
      return Math.round(times.sort((a, b) => a - b)[3]! * 10) / 10;
    };
    const page = async (query: string) => {
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/users?${query}`, headers: hub.auth });
      expect(res.statusCode).toBe(200);
      expect(res.json().items).toHaveLength(50);
    };
    const floor = await median(() => hub.app.db('users').count({ n: '*' }));
    const figures: Record<string, number> = {};
    for (const query of ['', ...TABLE_SORTS.map((key) => `sort=-${key}`), 'sort=last_traffic_at', 'status=suspended_quota&sort=name', 'q=reseller&sort=-usage_percent']) {
      figures[query || 'default'] = await median(() => page(query));
    }
    console.log(JSON.stringify({ bench: 'users-table-first-page', users: USER_COUNT, usage_rows: Number(((await hub.app.db('usage_hourly').count({ n: '*' }).first()) as { n: number }).n), floor_count_ms: floor, median_ms: figures }));
    // Generous for a shared CI machine; the report carries the measured figures.
    for (const ms of Object.values(figures)) expect(ms).toBeLessThan(3000);
  }, 120_000);
});
