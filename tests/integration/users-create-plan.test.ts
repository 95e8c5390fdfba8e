// POST /api/v1/users with a plan: the dashboard's "New customer" makes the user and their subscription
// in one call, from now or from a given day, raising the revision of the nodes the plan reaches; a
// plan that cannot be assigned leaves no user behind.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';

const NOW = Date.parse('2031-03-10T12:00:00Z');
const DAY = 86_400_000;

describe('creating a user with a plan', () => {
  let hub: TestHub;
  let plan: { id: number };
  const create = (payload: object) => hub.app.inject({ method: 'POST', url: '/api/v1/users', headers: hub.auth, payload });
  const revision = async () => ((await hub.app.db('nodes').where({ id: 'hk-1' }).first()) as { desired_revision: number }).desired_revision;

  beforeEach(async () => {
    hub = await startTestHub('sqlite', { clock: () => NOW });
    await hub.app.db('nodes').insert({ id: 'hk-1', name: 'hk-1', address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '["hk"]', created_at: NOW, updated_at: NOW });
    plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Gold', traffic_limit_bytes: 2 ** 30, duration_days: 30, node_tags: ['hk'] });
  });
  afterEach(() => hub.close());

  it('starts the plan now by default and reaches the nodes of the plan', async () => {
    const before = await revision();
    const res = await create({ name: 'alice', note: 'paid cash', plan: { id: plan.id } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({
      name: 'alice',
      note: 'paid cash',
      subscription: { plan_id: plan.id, status: 'active', start_time: new Date(NOW).toISOString(), end_time: new Date(NOW + 30 * DAY).toISOString() },
    });
    expect(await revision()).toBe(before + 1);
    const row = (await ownerApi(hub, 'GET', '/api/v1/users?q=alice')).items[0];
    expect(row).toMatchObject({ table_status: 'active', plan: { id: plan.id, name: 'Gold' } });
  });

  it('counts the period from a given day', async () => {
    const start = '2031-03-01T00:00:00.000Z';
    const res = await create({ name: 'bob', plan: { id: plan.id, start_time: start } });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().subscription).toMatchObject({ start_time: start, end_time: new Date(Date.parse(start) + 30 * DAY).toISOString() });
  });

  it('without a plan answers no subscription', async () => {
    const res = await create({ name: 'carol' });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json().subscription).toBeNull();
  });

  it('leaves no user behind when the plan cannot be assigned', async () => {
    await ownerApi(hub, 'PATCH', `/api/v1/plans/${plan.id}`, { is_enabled: false });
    const disabled = await create({ name: 'dave', plan: { id: plan.id } });
    expect(disabled.statusCode).toBe(409);
    const missing = await create({ name: 'dave', plan: { id: 999 } });
    expect(missing.statusCode).toBe(404);
    expect((await ownerApi(hub, 'GET', '/api/v1/users?q=dave')).total).toBe(0);
  });
});
