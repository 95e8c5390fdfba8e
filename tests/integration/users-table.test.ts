// The users table on SQLite (users-table.suite.ts), and the first page's time with 10,000 users
// against a COUNT(*) floor measured in the same run.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriptionStatus } from '../../hub/db/models.js';
import { TABLE_SORTS } from '../../hub/users-table.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { DAY, GiB, HOUR, NOW, usersTableSuite } from './users-table.suite.js';

usersTableSuite('sqlite');

describe('the users table with 10,000 users, on sqlite', () => {
  const USER_COUNT = 10_000;
  const NODES = ['n-1', 'n-2', 'n-3'];
  let hub: TestHub;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { clock: () => NOW });
    const db = hub.app.db;
    const plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'monthly', traffic_limit_bytes: 100 * GiB, duration_days: 30, node_tags: ['hk'] });
    for (const id of NODES) await db('nodes').insert({ id, name: id, address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]', created_at: NOW, updated_at: NOW });
    const users = Array.from({ length: USER_COUNT }, (_, i) => ({
      name: `user-${String((i * 7919) % USER_COUNT).padStart(5, '0')}`,
      note: i % 10 === 0 ? 'reseller' : '',
      status: i % 50 === 0 ? 'disabled' : 'active',
      uuid: `uuid-${i}`, password: 'p', ss_key: 'k', sub_token: `token-${i}`,
      created_at: NOW - i * 60_000, updated_at: NOW,
    }));
    await db.batchInsert('users', users, 500);
    const ids = ((await db('users').select('id')) as { id: number }[]).map((u) => u.id);
    const statuses: SubscriptionStatus[] = ['active', 'active', 'active', 'suspended', 'expired', 'cancelled'];
    const subs = ids.filter((_, i) => i % 9 !== 0).map((user_id, i) => ({
      user_id, plan_id: plan.id, start_time: NOW - 10 * DAY, end_time: NOW + ((i % 60) - 20) * DAY,
      traffic_used_bytes: (i * 104_729) % (100 * GiB), traffic_total_bytes: 100 * GiB,
      status: statuses[i % statuses.length], suspended_reason: statuses[i % statuses.length] === 'suspended' ? (i % 2 ? 'quota' : 'admin') : null,
      last_reset_at: NOW, created_at: NOW, updated_at: NOW,
    }));
    await db.batchInsert('subscriptions', subs, 500);
    // A day of hourly rows on each node for 4 users in 5 (3 × 24 × 8,000), their last hours up to a week apart.
    await db.raw(
      `WITH RECURSIVE h(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM h WHERE k < 23)
       INSERT INTO usage_hourly (node_id, user_id, hour, upload_bytes, download_bytes, billed_bytes)
       SELECT n.id, u.id, ? - h.k * ? - (u.id % 7) * ?, 1, 1, 2 FROM users u, nodes n, h WHERE u.id % 5 <> 0`,
      [Math.floor(NOW / HOUR) * HOUR, HOUR, DAY],
    );
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
