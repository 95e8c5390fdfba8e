// POST /api/v1/users/bulk (run on SQLite by users-bulk.test.ts, on MariaDB by users-bulk.mariadb.test.ts): each action on three selected users with per-row results, a
// filter as the target, the preview that changes nothing, one audit entry per user, node revisions
// raised once, and bad input refused with nothing changed.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TableRow } from '../../hub/users-table.js';
import { ownerApi, startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';

const NOW = Date.parse('2031-03-10T12:00:00Z');
const DAY = 86_400_000;
const GiB = 2 ** 30;

export function usersBulkSuite(kind: DatabaseKind): void {
describe(`users in bulk, on ${kind}`, () => {
  let hub: TestHub;
  let big: { id: number };
  let small: { id: number };
  let ids: Record<string, number>;

  const bulk = (body: object, query = '') => hub.app.inject({ method: 'POST', url: `/api/v1/users/bulk${query}`, headers: hub.auth, payload: body });
  const rows = async (): Promise<Record<string, TableRow>> =>
    Object.fromEntries((await ownerApi(hub, 'GET', '/api/v1/users?per_page=200')).items.map((u: TableRow) => [u.name, u]));
  const revision = async () => ((await hub.app.db('nodes').where({ id: 'hk-1' }).first()) as { desired_revision: number }).desired_revision;
  const selected = () => [ids.alice!, ids.bob!, ids.carol!];

  beforeEach(async () => {
    hub = await startTestHub(kind, { clock: () => NOW });
    await hub.app.db('nodes').insert({ id: 'hk-1', name: 'hk-1', address: '127.0.0.1:1', insecure: true, token: 't'.repeat(20), tags: '["hk"]', created_at: NOW, updated_at: NOW });
    big = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Big', traffic_limit_bytes: 100 * GiB, duration_days: 30, node_tags: ['hk'] });
    small = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'Small', traffic_limit_bytes: 10 * GiB, duration_days: 7, node_tags: ['hk'] });
    ids = {};
    for (const name of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      ids[name] = (await ownerApi(hub, 'POST', '/api/v1/users', { name, note: name === 'dave' ? 'reseller' : '' })).id;
      if (name !== 'erin') await ownerApi(hub, 'POST', '/api/v1/subscriptions', { user_id: ids[name], plan_id: big.id });
    }
    await hub.app.db('subscriptions').update({ traffic_used_bytes: 5 * GiB });
  });
  afterEach(() => hub.close());

  it('extends three selected users by N days, audits each and raises the node revision once', async () => {
    const before = await revision();
    const res = await bulk({ action: 'extend', target: { ids: selected() }, days: 10 });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      preview: false, count: 3, ok: 3, failed: 0,
      results: [{ id: ids.alice, name: 'alice', ok: true }, { id: ids.bob, name: 'bob', ok: true }, { id: ids.carol, name: 'carol', ok: true }],
    });
    const after = await rows();
    for (const name of ['alice', 'bob', 'carol']) expect(after[name]!.expires_at).toBe(new Date(NOW + 40 * DAY).toISOString());
    expect(after.dave!.expires_at).toBe(new Date(NOW + 30 * DAY).toISOString());
    expect(await revision()).toBe(before + 1);
    const audit = await hub.app.db('audit_log').where('action', 'user.bulk.extend').orderBy('id').select('target', 'result', 'admin');
    expect(audit).toEqual(['alice', 'bob', 'carol'].map((n) => ({ target: `user:${n}`, result: 'ok', admin: expect.any(String) })));
    expect(await hub.app.db('audit_log').where('action', 'user.bulk').count({ n: '*' }).first()).toEqual({ n: 1 });
  });

  it('runs each action on three selected users with a result per row', async () => {
    const run = async (body: object) => {
      const res = await bulk({ target: { ids: selected() }, ...body });
      expect(res.statusCode, res.body).toBe(200);
      return res.json().results.map((r: { ok: boolean }) => r.ok);
    };
    const statuses = async () => Object.fromEntries(Object.entries(await rows()).map(([n, u]) => [n, u.table_status]));

    expect(await run({ action: 'suspend' })).toEqual([true, true, true]);
    expect(await statuses()).toMatchObject({ alice: 'suspended_admin', bob: 'suspended_admin', carol: 'suspended_admin', dave: 'active' });
    expect(await run({ action: 'resume' })).toEqual([true, true, true]);
    expect(await statuses()).toMatchObject({ alice: 'active', bob: 'active', carol: 'active' });

    expect(await run({ action: 'reset_traffic' })).toEqual([true, true, true]);
    const reset = await rows();
    expect([reset.alice!.traffic_used_bytes, reset.carol!.traffic_used_bytes, reset.dave!.traffic_used_bytes]).toEqual([0, 0, 5 * GiB]);

    expect(await run({ action: 'change_plan', plan_id: small.id })).toEqual([true, true, true]);
    const changed = await rows();
    expect([changed.alice!.plan?.name, changed.bob!.plan?.name, changed.dave!.plan?.name]).toEqual(['Small', 'Small', 'Big']);
    expect(changed.alice!.expires_at).toBe(new Date(NOW + 7 * DAY).toISOString());
    expect(await hub.app.db('subscriptions').where({ user_id: ids.alice, status: 'cancelled' }).count({ n: '*' }).first()).toEqual({ n: 1 });

    expect(await run({ action: 'disable' })).toEqual([true, true, true]);
    expect(await statuses()).toMatchObject({ alice: 'disabled', bob: 'disabled', carol: 'disabled', dave: 'active' });
    expect(await run({ action: 'enable' })).toEqual([true, true, true]);
    expect(await statuses()).toMatchObject({ alice: 'active', bob: 'active', carol: 'active' });

    expect(await run({ action: 'delete' })).toEqual([true, true, true]);
    expect(Object.keys(await rows())).toEqual(['dave', 'erin']);
  });

  it('answers a refusal per row as the single route would, and does the other rows', async () => {
    const res = await bulk({ action: 'suspend', target: { ids: [ids.alice!, ids.erin!, 999_999] } });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ count: 2, ok: 1, failed: 2 });
    expect(res.json().results).toEqual([
      { id: ids.alice, name: 'alice', ok: true },
      { id: ids.erin, name: 'erin', ok: false, error: 'user erin has no subscription; assign a plan first' },
      { id: 999_999, name: '', ok: false, error: 'no user 999999' },
    ]);
    const again = (await bulk({ action: 'suspend', target: { ids: [ids.alice!] } })).json();
    expect(again.results[0].error).toMatch(/^cannot suspend subscription \d+: it is suspended \(admin\)$/);
    const failed = await hub.app.db('audit_log').where({ action: 'user.bulk.suspend', target: 'user:erin' }).first();
    expect(failed).toMatchObject({ result: 'error', status_code: 409 });
  });

  it('takes every user matching a filter as the target', async () => {
    const res = await bulk({ action: 'suspend', target: { filter: { status: 'active', q: 'a' } } });
    expect(res.json().results.map((r: { name: string }) => r.name)).toEqual(['alice', 'carol', 'dave']);
    const after = await rows();
    expect([after.alice!.table_status, after.bob!.table_status, after.dave!.table_status]).toEqual(['suspended_admin', 'active', 'suspended_admin']);
    expect((await bulk({ action: 'delete', target: { filter: { status: 'no_plan' } } })).json().results).toEqual([{ id: ids.erin, name: 'erin', ok: true }]);
  });

  it('previews how many users an action would touch without changing anything', async () => {
    const before = await rows();
    const revisionBefore = await revision();
    const auditBefore = await hub.app.db('audit_log').where('action', 'like', 'user.bulk.%').count({ n: '*' }).first();
    for (const action of ['delete', 'suspend', 'disable']) {
      const res = await bulk({ action, target: { filter: { plan_id: big.id } } }, '?preview=true');
      expect(res.json()).toEqual({ preview: true, count: 4, ok: 0, failed: 0, results: [] });
    }
    expect((await bulk({ action: 'extend', days: 3, target: { ids: [ids.alice!, 999_999] } }, '?preview=true')).json().count).toBe(1);
    expect(await rows()).toEqual(before);
    expect(await revision()).toBe(revisionBefore);
    expect(await hub.app.db('audit_log').where('action', 'like', 'user.bulk.%').count({ n: '*' }).first()).toEqual(auditBefore);
  });

  it('refuses bad input and changes nothing', async () => {
    const before = await rows();
    const refusals: [object, number, string][] = [
      [{ action: 'extend', target: { ids: selected() } }, 400, 'extend needs days'],
      [{ action: 'suspend', days: 3, target: { ids: selected() } }, 400, 'days belongs to extend only'],
      [{ action: 'change_plan', target: { ids: selected() } }, 400, 'change_plan needs plan_id'],
      [{ action: 'change_plan', plan_id: 999, target: { ids: selected() } }, 404, 'no plan 999'],
      [{ action: 'explode', target: { ids: selected() } }, 400, ''],
      [{ action: 'delete', target: { ids: [] } }, 400, ''],
      [{ action: 'delete', target: { ids: Array.from({ length: 10_001 }, (_, i) => i + 1) } }, 400, ''],
      [{ action: 'delete', target: { filter: { status: 'gone' } } }, 400, ''],
      [{ action: 'delete', target: { everyone: true } }, 400, ''],
      [{ action: 'delete' }, 400, ''],
    ];
    for (const [body, code, message] of refusals) {
      const res = await bulk(body);
      expect([JSON.stringify(body).slice(0, 80), res.statusCode]).toEqual([JSON.stringify(body).slice(0, 80), code]);
      if (message) expect(res.json().message).toBe(message);
    }
    expect(await rows()).toEqual(before);
  });
});
}
