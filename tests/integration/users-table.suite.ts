// GET /api/v1/users as the users table pages it: the derived status against the rule the hub uses in
// JS (governing + tableStatus), each sort, the status, plan and text filters and paging totals. Run on
// SQLite by users-table.test.ts, on MariaDB by users-table.mariadb.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SubscriptionStatus } from '../../hub/db/models.js';
import { TABLE_SORTS, TABLE_STATUSES, tableStatus, type TableRow } from '../../hub/users-table.js';
import { ownerApi, startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';

export const NOW = Date.parse('2031-03-10T12:00:00Z');
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
export const GiB = 2 ** 30;

type Sub = { status: SubscriptionStatus; suspended_reason?: 'quota' | 'admin' | null; plan?: 'big' | 'small'; used?: number; ends?: number };
/** Each user: their own status and subscriptions, oldest first; what the table should derive for them is checked against tableStatus. */
const USERS: { name: string; note?: string; disabled?: boolean; subs: Sub[]; lastHour?: number }[] = [
  { name: 'Alice', note: 'pays yearly', subs: [{ status: 'active', plan: 'big', used: 30 * GiB, ends: 20 }], lastHour: 2 },
  { name: 'bob', subs: [] },
  { name: 'carol', note: '100%_sure', subs: [{ status: 'suspended', suspended_reason: 'quota', plan: 'small', used: 5 * GiB, ends: 3 }], lastHour: 30 },
  { name: 'dave', subs: [{ status: 'suspended', suspended_reason: 'admin', plan: 'big', used: 0, ends: 40 }] },
  { name: 'erin', subs: [{ status: 'expired', plan: 'small', used: 1 * GiB, ends: -2 }] },
  // The newest non-cancelled one governs: cancelled ones do not count.
  { name: 'frank', subs: [{ status: 'expired', plan: 'big', ends: -10 }, { status: 'cancelled', plan: 'small' }] },
  { name: 'grace', subs: [{ status: 'cancelled', plan: 'small' }] },
  // The live one governs even when an expired one is newer.
  { name: 'heidi', subs: [{ status: 'active', plan: 'small', used: 4 * GiB, ends: 5 }, { status: 'expired', plan: 'big', ends: -1 }], lastHour: 1 },
  { name: 'ivan', note: 'Office', disabled: true, subs: [{ status: 'active', plan: 'big', used: 50 * GiB, ends: 10 }] },
  { name: 'judy', disabled: true, subs: [] },
  { name: 'mallory', subs: [{ status: 'expired', plan: 'small', ends: -30 }, { status: 'expired', plan: 'big', ends: -5 }] },
];

async function seedTable(hub: TestHub) {
  const db = hub.app.db;
  const big = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Big', traffic_limit_bytes: 100 * GiB, duration_days: 30, node_tags: ['hk'] });
  const small = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'small', traffic_limit_bytes: 10 * GiB, duration_days: 30, node_tags: ['hk'] });
  const plans = { big, small };
  for (const node of ['hk-1', 'us-1']) {
    await db('nodes').insert({ id: node, name: node, address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '[]', created_at: NOW, updated_at: NOW });
  }
  const ids: Record<string, number> = {};
  for (const [i, u] of USERS.entries()) {
    const { id } = await ownerApi(hub, 'POST', '/api/v1/users', { name: u.name, note: u.note ?? '' });
    ids[u.name] = id;
    // created_at apart, in an order unlike the names'.
    await db('users').where({ id }).update({ created_at: NOW - ((i * 7) % USERS.length) * DAY, ...(u.disabled ? { status: 'disabled' } : {}) });
    for (const s of u.subs) {
      const plan = plans[s.plan ?? 'big'];
      await db('subscriptions').insert({
        user_id: id,
        plan_id: plan.id,
        start_time: NOW - 40 * DAY,
        end_time: NOW + (s.ends ?? 1) * DAY,
        traffic_used_bytes: s.used ?? 0,
        traffic_total_bytes: plan.traffic_limit_bytes,
        status: s.status,
        suspended_reason: s.suspended_reason ?? null,
        last_reset_at: NOW - 40 * DAY,
        created_at: NOW,
        updated_at: NOW,
      });
    }
    if (u.lastHour !== undefined) {
      const hour = Math.floor(NOW / HOUR) * HOUR - u.lastHour * HOUR;
      // The newest hour on one node, an older one on the other.
      await db('usage_hourly').insert([
        { node_id: 'us-1', user_id: id, hour, upload_bytes: 1, download_bytes: 1, billed_bytes: 2 },
        { node_id: 'hk-1', user_id: id, hour: hour - 5 * HOUR, upload_bytes: 1, download_bytes: 1, billed_bytes: 2 },
      ]);
    }
  }
  return { plans, ids };
}

export function usersTableSuite(kind: DatabaseKind): void {
describe(`the users table, on ${kind}`, () => {
  let hub: TestHub;
  let plans: Record<'big' | 'small', { id: number; name: string }>;
  const list = (query: string): Promise<{ items: TableRow[]; total: number; page: number; per_page: number }> =>
    ownerApi(hub, 'GET', `/api/v1/users?per_page=200&${query}`);
  const names = async (query: string) => (await list(query)).items.map((u) => u.name);

  beforeAll(async () => {
    hub = await startTestHub(kind, { clock: () => NOW });
    ({ plans } = await seedTable(hub));
  });
  afterAll(() => hub.close());

  it('derives each user\'s status in SQL as tableStatus does from their subscriptions', async () => {
    const { items } = await list('');
    expect(items).toHaveLength(USERS.length);
    const subs = (await hub.app.db('subscriptions').whereNot('status', 'cancelled').orderBy('id', 'desc')) as { user_id: number; status: SubscriptionStatus; suspended_reason: 'quota' | 'admin' | null }[];
    for (const row of items) expect([row.name, row.table_status]).toEqual([row.name, tableStatus(row.status, subs.filter((s) => s.user_id === row.id))]);
    // The seed covers every status the table shows.
    expect(new Set(items.map((u) => u.table_status))).toEqual(new Set(TABLE_STATUSES));
    expect(Object.fromEntries(items.map((u) => [u.name, u.table_status]))).toMatchObject({
      Alice: 'active', bob: 'no_plan', carol: 'suspended_quota', dave: 'suspended_admin', erin: 'expired',
      frank: 'expired', grace: 'no_plan', heidi: 'active', ivan: 'disabled', judy: 'disabled', mallory: 'expired',
    });
  });

  it('shows the governing subscription\'s plan, traffic, expiry and the newest hour of traffic', async () => {
    const byName = Object.fromEntries((await list('')).items.map((u) => [u.name, u]));
    expect(byName.Alice).toMatchObject({
      plan: { id: plans.big.id, name: 'Big' },
      traffic_used_bytes: 30 * GiB,
      traffic_total_bytes: 100 * GiB,
      usage_percent: 30,
      expires_at: new Date(NOW + 20 * DAY).toISOString(),
      last_traffic_at: new Date(Math.floor(NOW / HOUR) * HOUR - 2 * HOUR).toISOString(),
    });
    expect(byName.heidi).toMatchObject({ plan: { name: 'small' }, usage_percent: 40, expires_at: new Date(NOW + 5 * DAY).toISOString() });
    expect(byName.mallory).toMatchObject({ plan: { name: 'Big' }, expires_at: new Date(NOW - 5 * DAY).toISOString() });
    expect(byName.bob).toMatchObject({ plan: null, traffic_used_bytes: null, traffic_total_bytes: null, usage_percent: null, expires_at: null, last_traffic_at: null });
    expect(byName.grace!.plan).toBeNull();
  });

  it('filters by each derived status', async () => {
    const all = (await list('')).items;
    for (const status of TABLE_STATUSES) {
      const { items, total } = await list(`status=${status}`);
      const expected = all.filter((u) => u.table_status === status).map((u) => u.name);
      expect(expected.length).toBeGreaterThan(0);
      expect([status, items.map((u) => u.name)]).toEqual([status, expected]);
      expect(total).toBe(expected.length);
    }
  });

  it('filters by the governing plan, and by a literal part of the name or note', async () => {
    expect(await names(`plan_id=${plans.small.id}`)).toEqual(['carol', 'erin', 'heidi']);
    expect(await names(`plan_id=${plans.big.id}&status=expired`)).toEqual(['frank', 'mallory']);
    expect(await names('q=ALI')).toEqual(['Alice']);
    expect(await names('q=office')).toEqual(['ivan']);
    // % and _ are literal.
    expect(await names('q=0%25_')).toEqual(['carol']);
    expect(await names('q=x_')).toEqual([]);
  });

  it('sorts by each column both ways, rows without a value last and ties by id', async () => {
    const all = (await list('')).items;
    const value: Record<(typeof TABLE_SORTS)[number], (u: TableRow) => string | number | null> = {
      name: (u) => u.name.toLowerCase(),
      status: (u) => u.table_status,
      plan: (u) => u.plan?.name.toLowerCase() ?? null,
      usage_percent: (u) => u.usage_percent,
      expires_at: (u) => u.expires_at,
      last_traffic_at: (u) => u.last_traffic_at,
      created_at: (u) => u.created_at,
    };
    for (const key of TABLE_SORTS) {
      for (const descending of [false, true]) {
        const expected = [...all]
          .sort((a, b) => {
            const [x, y] = [value[key](a), value[key](b)];
            if (x === null || y === null) return x === y ? a.id - b.id : x === null ? 1 : -1;
            if (x === y) return a.id - b.id;
            return (x < y ? -1 : 1) * (descending ? -1 : 1);
          })
          .map((u) => u.name);
        const sort = `${descending ? '-' : ''}${key}`;
        expect([sort, await names(`sort=${sort}`)]).toEqual([sort, expected]);
      }
    }
    expect((await names('sort=-usage_percent')).slice(0, 3)).toEqual(['carol', 'ivan', 'heidi']);
  });

  it('pages a sorted, filtered list with the total of all matching rows', async () => {
    const page1 = await ownerApi(hub, 'GET', '/api/v1/users?status=expired&sort=-expires_at&per_page=2');
    const page2 = await ownerApi(hub, 'GET', '/api/v1/users?status=expired&sort=-expires_at&per_page=2&page=2');
    expect(page1).toMatchObject({ total: 3, page: 1, per_page: 2 });
    expect([...page1.items, ...page2.items].map((u: TableRow) => u.name)).toEqual(['erin', 'mallory', 'frank']);
    const last = await ownerApi(hub, 'GET', '/api/v1/users?per_page=3&page=4');
    expect([last.total, last.items.map((u: TableRow) => u.name)]).toEqual([11, ['judy', 'mallory']]);
    expect((await ownerApi(hub, 'GET', '/api/v1/users?per_page=3&page=5')).items).toEqual([]);
  });

  it('refuses an unknown sort or status', async () => {
    for (const query of ['sort=password', 'sort=--name', 'status=suspended', 'plan_id=0']) {
      const res = await hub.app.inject({ method: 'GET', url: `/api/v1/users?${query}`, headers: hub.auth });
      expect([query, res.statusCode]).toEqual([query, 400]);
    }
  });
});
}
