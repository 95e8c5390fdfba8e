// The hub's REST API for admins, users, plans, subscriptions, node settings, usage and the audit log, driven
// through app.inject(); run on SQLite by hub-api.test.ts and on MariaDB by hub-api.mariadb.test.ts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../../hub/db/models.js';
import { startTestHub, type DatabaseKind, type TestHub } from '../support/hub.js';

const DAY = 86_400_000;
const T0 = Date.parse('2031-03-01T00:00:00.000Z');

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export function hubApiSuite(kind: DatabaseKind): void {
  describe(`hub API, on ${kind}`, () => {
    let hub: TestHub;
    let now = T0;

    const call = async (method: Method, url: string, payload?: object, headers?: { authorization: string }) =>
      hub.app.inject({ method, url, payload, headers: headers ?? hub.auth });
    const ok = async (method: Method, url: string, payload?: object, headers?: { authorization: string }) => {
      const res = await call(method, url, payload, headers);
      if (res.statusCode >= 300) throw new Error(`${method} ${url} answered ${res.statusCode}: ${res.body}`);
      return res.statusCode === 204 ? undefined : res.json();
    };
    const revisions = async () =>
      Object.fromEntries(
        ((await hub.app.db('nodes').select('id', 'desired_revision')) as { id: string; desired_revision: number }[]).map((r) => [
          r.id,
          Number(r.desired_revision),
        ]),
      );
    /** Which nodes' desired revision went up (and by how much) while `action` ran. */
    const touchedBy = async (action: () => Promise<unknown>) => {
      const before = await revisions();
      await action();
      const after = await revisions();
      return Object.fromEntries(Object.keys(after).filter((id) => after[id] !== before[id]).map((id) => [id, after[id]! - before[id]!]));
    };
    const newUser = async (name: string, note?: string) => ok('POST', '/api/v1/users', note === undefined ? { name } : { name, note });
    const newPlan = async (name: string, extra: object = {}) =>
      ok('POST', '/api/v1/plans', { name, traffic_limit_bytes: 10 * 2 ** 30, duration_days: 30, node_tags: ['hk'], ...extra });
    const subscribe = async (user: { id: number }, plan: { id: number }) =>
      ok('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id });
    const setRow = (id: number, patch: object) => hub.app.db('subscriptions').where({ id }).update(patch);
    /** The audit writer runs after the response is sent, so wait for the entry to appear. */
    const auditEntries = async (query: string, until: (items: any[]) => boolean = (items) => items.length > 0) => {
      let items: any[] = [];
      for (let i = 0; i < 50; i++) {
        items = (await ok('GET', `/api/v1/audit?${query}`)).items;
        if (until(items)) return items;
        await new Promise((r) => setTimeout(r, 20));
      }
      return items;
    };

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => now });
      const node = { address: '127.0.0.1:1', insecure: true, token: 'x'.repeat(24) };
      await Node.query(hub.app.db).insert({ ...node, id: 'hk-1', name: 'Hong Kong 1', tags: ['hk'] });
      await Node.query(hub.app.db).insert({ ...node, id: 'us-1', name: 'US 1', tags: ['us'] });
    });

    afterAll(async () => {
      await hub?.close();
    });

    describe('users', () => {
      it('creates a user with fresh per-protocol credentials that only the credentials route shows', async () => {
        const res = await call('POST', '/api/v1/users', { name: 'alice', note: 'first customer' });
        expect(res.statusCode).toBe(201);
        const user = res.json();
        // No credential in the answer; the subscription is null without a plan given.
        expect(Object.keys(user).sort()).toEqual(['created_at', 'id', 'name', 'note', 'status', 'subscription']);
        expect(user).toMatchObject({ name: 'alice', note: 'first customer', status: 'active', subscription: null });

        const creds = await ok('GET', `/api/v1/users/${user.id}/credentials`, undefined, await hub.as('operator'));
        expect(creds.uuid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(creds.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
        expect(Buffer.from(creds.ss_key, 'base64')).toHaveLength(32);
        expect(creds.ss_key).toMatch(/^[A-Za-z0-9+/]{43}=$/);
        expect(creds.sub_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(creds.subscription_path).toBe(`/sub/${creds.sub_token}`);

        const other = await newUser('alice2');
        const otherCreds = await ok('GET', `/api/v1/users/${other.id}/credentials`);
        for (const key of ['uuid', 'password', 'ss_key', 'sub_token']) expect(otherCreds[key]).not.toBe(creds[key]);

        const shown = JSON.stringify([await ok('GET', `/api/v1/users/${user.id}`), await ok('GET', '/api/v1/users?per_page=200')]);
        for (const secret of [creds.uuid, creds.password, creds.ss_key, creds.sub_token]) expect(shown).not.toContain(secret);
        expect((await call('GET', `/api/v1/users/${user.id}/credentials`, undefined, await hub.as('viewer'))).statusCode).toBe(403);
      });

      it('rotates the subscription token, and the old one is gone', async () => {
        const user = await newUser('rotor');
        const before = await ok('GET', `/api/v1/users/${user.id}/credentials`);
        const rotated = await ok('POST', `/api/v1/users/${user.id}/token/rotate`);
        expect(rotated.sub_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
        expect(rotated.sub_token).not.toBe(before.sub_token);
        const after = await ok('GET', `/api/v1/users/${user.id}/credentials`);
        expect(after).toMatchObject({ sub_token: rotated.sub_token, uuid: before.uuid, password: before.password, ss_key: before.ss_key });
      });

      it('refuses a malformed or taken name (in any case) and never renames a user', async () => {
        const bad = await call('POST', '/api/v1/users', { name: '-dash-first' });
        expect(bad.statusCode).toBe(400);
        expect(bad.json().message).toMatch(/^body\.name: must match pattern/);
        expect((await call('POST', '/api/v1/users', { name: 'a'.repeat(65) })).json().message).toBe('body.name: must NOT have more than 64 characters');

        await newUser('carol');
        for (const name of ['carol', 'CAROL']) {
          const taken = await call('POST', '/api/v1/users', { name });
          expect(taken.statusCode).toBe(409);
          expect(taken.json()).toMatchObject({ code: 'HUB_ERR_CONFLICT' });
          expect(taken.json().message).toContain('already exists');
        }

        const carol = (await ok('GET', '/api/v1/users?q=carol')).items[0];
        const rename = await call('PATCH', `/api/v1/users/${carol.id}`, { name: 'dave' });
        expect(rename.statusCode).toBe(400);
        expect(rename.json().message).toBe('body.name: unknown field');
        expect((await call('PATCH', `/api/v1/users/${carol.id}`, {})).json().message).toBe('body: must NOT have fewer than 1 properties');
        expect((await call('PATCH', `/api/v1/users/${carol.id}`, { status: 'gone' })).json().message).toBe(
          'body.status: must be one of active, disabled',
        );
        expect((await call('GET', '/api/v1/users/abc')).json().message).toBe('params.id: must be integer');
        expect((await call('GET', '/api/v1/users/999999')).statusCode).toBe(404);

        const updated = await ok('PATCH', `/api/v1/users/${carol.id}`, { note: 'VIP' });
        expect(updated).toMatchObject({ name: 'carol', note: 'VIP' });
      });

      it('creates one of two users whose names differ only in case when both arrive at once', async () => {
        const results = await Promise.all(['zed', 'Zed', 'ZED'].map((name) => call('POST', '/api/v1/users', { name })));
        expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409]);
        expect((await ok('GET', '/api/v1/users?q=zed')).total).toBe(1);
      });

      it('pages users and searches their name and note literally', async () => {
        for (let i = 0; i < 5; i++) await newUser(`pager-${i}`, i % 2 ? 'odd batch' : 'even batch');
        const page2 = await ok('GET', '/api/v1/users?q=pager-&per_page=2&page=2');
        expect(page2).toMatchObject({ total: 5, page: 2, per_page: 2 });
        expect(page2.items.map((u: { name: string }) => u.name)).toEqual(['pager-2', 'pager-3']);
        expect((await ok('GET', '/api/v1/users?q=pager-&per_page=2&page=3')).items.map((u: { name: string }) => u.name)).toEqual(['pager-4']);
        expect((await ok('GET', '/api/v1/users?q=ODD%20BATCH')).total).toBe(2);
        const defaults = await ok('GET', '/api/v1/users');
        expect(defaults).toMatchObject({ page: 1, per_page: 50 });
        // % and _ are text to find, not wildcards.
        expect((await ok('GET', '/api/v1/users?q=%25')).total).toBe(0);
        expect((await ok('GET', '/api/v1/users?q=pager_')).total).toBe(0);

        const tooMany = await call('GET', '/api/v1/users?per_page=201');
        expect(tooMany.statusCode).toBe(400);
        expect(tooMany.json().message).toBe('querystring.per_page: must be <= 200');
        expect((await call('GET', '/api/v1/users?page=0')).json().message).toBe('querystring.page: must be >= 1');
        // sort takes "-name" for descending; a separate order field is not one.
        expect((await call('GET', '/api/v1/users?order=desc')).json().message).toBe('querystring.order: unknown field');
        expect((await call('GET', '/api/v1/users?sort=id')).statusCode).toBe(400);
      });

      it('stores and returns text that looks like SQL literally, and the tables stay', async () => {
        const drop = "x'); DROP TABLE users;--";
        const user = await newUser('bobby', drop);
        expect((await ok('GET', `/api/v1/users/${user.id}`)).note).toBe(drop);
        const robert = await newUser('robert', "Robert'); -- the classic");
        const found = await ok('GET', `/api/v1/users?q=${encodeURIComponent("Robert'); --")}`);
        expect(found.items.map((u: { id: number }) => u.id)).toEqual([robert.id]);
        expect((await ok('GET', `/api/v1/users?q=${encodeURIComponent(drop)}`)).items[0].note).toBe(drop);
        const plan = await newPlan("Gold'; DELETE FROM plans; --");
        expect((await ok('GET', `/api/v1/plans/${plan.id}`)).name).toBe("Gold'; DELETE FROM plans; --");

        for (const table of ['users', 'plans', 'subscriptions', 'audit_log']) expect(await hub.app.db.schema.hasTable(table)).toBe(true);
        expect((await ok('GET', '/api/v1/users?per_page=200')).total).toBeGreaterThanOrEqual(2);
      });
    });

    describe('plans', () => {
      it('creates, reads, updates and deletes a plan, with defaults for what is left out', async () => {
        const created = await call('POST', '/api/v1/plans', { name: 'Basic', traffic_limit_bytes: 5_000_000_000, duration_days: 30 });
        expect(created.statusCode).toBe(201);
        const plan = created.json();
        expect(plan).toMatchObject({
          name: 'Basic',
          traffic_limit_bytes: 5_000_000_000,
          duration_days: 30,
          price: 0,
          is_enabled: true,
          node_tags: [],
          reset_policy: 'none',
          reset_day: null,
        });
        const updated = await ok('PATCH', `/api/v1/plans/${plan.id}`, { price: 9.99, is_enabled: false, reset_policy: 'monthly' });
        expect(updated).toMatchObject({ price: 9.99, is_enabled: false, reset_policy: 'monthly', reset_day: 1, traffic_limit_bytes: 5_000_000_000 });
        expect(await ok('GET', `/api/v1/plans/${plan.id}`)).toEqual(updated);
        expect((await ok('GET', '/api/v1/plans')).items.map((p: { name: string }) => p.name)).toContain('Basic');
        expect((await call('POST', '/api/v1/plans', { name: 'basic', traffic_limit_bytes: 1, duration_days: 1 })).statusCode).toBe(409);

        expect((await call('DELETE', `/api/v1/plans/${plan.id}`)).statusCode).toBe(204);
        expect((await call('GET', `/api/v1/plans/${plan.id}`)).statusCode).toBe(404);
      });

      it('answers 400 naming the field for a malformed plan, and stores nothing', async () => {
        const valid = { name: 'Checked', traffic_limit_bytes: 1000, duration_days: 30 };
        const cases: [object, string][] = [
          [{ ...valid, traffic_limit_bytes: -1 }, 'body.traffic_limit_bytes: must be >= 0'],
          [{ ...valid, traffic_limit_bytes: 1.5 }, 'body.traffic_limit_bytes: must be integer'],
          [{ ...valid, traffic_limit_bytes: '1000' }, 'body.traffic_limit_bytes: must be integer'],
          [{ ...valid, duration_days: 0 }, 'body.duration_days: must be >= 1'],
          [{ ...valid, duration_days: 3651 }, 'body.duration_days: must be <= 3650'],
          [{ ...valid, price: -0.01 }, 'body.price: must be >= 0'],
          [{ ...valid, is_enabled: 'yes' }, 'body.is_enabled: must be boolean'],
          [{ ...valid, node_tags: ['HK'] }, 'body.node_tags.0: must match pattern "^[a-z0-9][a-z0-9_-]{0,31}$"'],
          [{ ...valid, node_tags: 'hk' }, 'body.node_tags: must be array'],
          [{ ...valid, reset_policy: 'fortnightly' }, 'body.reset_policy: must be one of none, daily, weekly, monthly, rolling_30d, yearly'],
          [{ ...valid, reset_policy: 'monthly', reset_day: 0 }, 'body.reset_day: must be >= 1'],
          [{ ...valid, reset_policy: 'monthly', reset_day: 29 }, 'body.reset_day: must be <= 28'],
          [{ ...valid, reset_policy: 'daily', reset_day: 5 }, "body.reset_day: applies only to reset_policy monthly, and this plan's is daily"],
          [{ ...valid, reset_day: 5 }, "body.reset_day: applies only to reset_policy monthly, and this plan's is none"],
          [{ ...valid, foo: 1 }, 'body.foo: unknown field'],
          [{ traffic_limit_bytes: 1000, duration_days: 30 }, 'body.name: is required'],
        ];
        for (const [body, message] of cases) {
          const res = await call('POST', '/api/v1/plans', body);
          expect(res.statusCode, message).toBe(400);
          expect(res.json()).toEqual({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message });
        }
        expect((await ok('GET', '/api/v1/plans')).items.map((p: { name: string }) => p.name)).not.toContain('Checked');
        const plan = await newPlan('Patched');
        expect((await call('PATCH', `/api/v1/plans/${plan.id}`, { duration_days: -3 })).json().message).toBe('body.duration_days: must be >= 1');
        expect((await ok('GET', `/api/v1/plans/${plan.id}`)).duration_days).toBe(30);
      });

      it('keeps a reset day for monthly plans only: given, kept across changes, 1 by default, and dropped for other policies', async () => {
        expect(await newPlan('Calendar', { reset_policy: 'monthly', reset_day: 15 })).toMatchObject({ reset_policy: 'monthly', reset_day: 15 });
        const plan = await newPlan('Thirty days', { reset_policy: 'rolling_30d' });
        expect(plan).toMatchObject({ reset_policy: 'rolling_30d', reset_day: null });
        const patch = (body: object) => call('PATCH', `/api/v1/plans/${plan.id}`, body);
        expect((await patch({ reset_policy: 'monthly' })).json()).toMatchObject({ reset_policy: 'monthly', reset_day: 1 });
        expect((await patch({ reset_day: 28 })).json()).toMatchObject({ reset_policy: 'monthly', reset_day: 28 });
        expect((await patch({ price: 2 })).json()).toMatchObject({ reset_policy: 'monthly', reset_day: 28 });
        expect((await patch({ reset_policy: 'weekly' })).json()).toMatchObject({ reset_policy: 'weekly', reset_day: null });
        const refused = await patch({ reset_day: 3 });
        expect(refused.statusCode).toBe(400);
        expect(refused.json().message).toBe("body.reset_day: applies only to reset_policy monthly, and this plan's is weekly");
        expect((await patch({ reset_policy: 'yearly' })).json()).toMatchObject({ reset_policy: 'yearly', reset_day: null });
        expect(await ok('GET', `/api/v1/plans/${plan.id}`)).toMatchObject({ reset_policy: 'yearly', reset_day: null });
      });

      it('raises the revisions of the nodes a plan leaves and joins when its tags change, and no others', async () => {
        const plan = await newPlan('Mover', { node_tags: ['hk'] });
        expect(await touchedBy(() => ok('PATCH', `/api/v1/plans/${plan.id}`, { node_tags: ['us'] }))).toEqual({ 'hk-1': 1, 'us-1': 1 });
        expect(await touchedBy(() => ok('PATCH', `/api/v1/plans/${plan.id}`, { node_tags: ['us'], price: 3 }))).toEqual({});
        expect(await touchedBy(() => ok('PATCH', `/api/v1/plans/${plan.id}`, { traffic_limit_bytes: 1 }))).toEqual({});
      });

      it('refuses to delete a plan that has subscriptions', async () => {
        const plan = await newPlan('Kept');
        await subscribe(await newUser('keeper'), plan);
        const res = await call('DELETE', `/api/v1/plans/${plan.id}`);
        expect(res.statusCode).toBe(409);
        expect(res.json().message).toBe('plan Kept has 1 subscription(s), counting ended ones; disable it (is_enabled: false) instead of deleting it');
        expect((await call('GET', `/api/v1/plans/${plan.id}`)).statusCode).toBe(200);
      });
    });

    describe('subscriptions', () => {
      it('assigning a plan creates an active subscription and raises the revision of exactly the nodes its tags reach', async () => {
        const plan = await newPlan('HK monthly', { traffic_limit_bytes: 50 * 2 ** 30, duration_days: 30, node_tags: ['hk'] });
        const user = await newUser('erin');
        let subscription: any;
        const touched = await touchedBy(async () => {
          subscription = await subscribe(user, plan);
        });
        expect(touched).toEqual({ 'hk-1': 1 });
        expect(subscription).toEqual({
          id: expect.any(Number),
          user_id: user.id,
          plan_id: plan.id,
          start_time: new Date(now).toISOString(),
          end_time: new Date(now + 30 * DAY).toISOString(),
          traffic_used_bytes: 0,
          traffic_total_bytes: 50 * 2 ** 30,
          status: 'active',
          suspended_reason: null,
        });
        const detail = await ok('GET', `/api/v1/users/${user.id}`);
        expect(detail.subscription).toEqual(subscription);
        expect(await ok('GET', `/api/v1/subscriptions/${subscription.id}`)).toEqual(subscription);

        const both = await newPlan('Everywhere', { node_tags: ['us', 'hk', 'eu'] });
        const frank = await newUser('frank');
        expect(await touchedBy(() => subscribe(frank, both))).toEqual({ 'hk-1': 1, 'us-1': 1 });
      });

      it('refuses a second live subscription, a disabled plan and unknown ids, and changes nothing', async () => {
        const plan = await newPlan('Solo');
        const user = await newUser('gina');
        const first = await subscribe(user, plan);
        const second = await touchedBy(async () => {
          const res = await call('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id });
          expect(res.statusCode).toBe(409);
          expect(res.json().message).toBe(`user gina already has subscription ${first.id} (active); renew or cancel it first`);
        });
        expect(second).toEqual({});
        await ok('POST', `/api/v1/subscriptions/${first.id}/suspend`);
        expect((await call('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id })).json().message).toBe(
          `user gina already has subscription ${first.id} (suspended (admin)); renew or cancel it first`,
        );

        const off = await newPlan('Retired', { is_enabled: false });
        const disabled = await call('POST', '/api/v1/subscriptions', { user_id: (await newUser('hank')).id, plan_id: off.id });
        expect(disabled.statusCode).toBe(409);
        expect(disabled.json().message).toBe('plan Retired is disabled; enable it or choose another');

        expect((await call('POST', '/api/v1/subscriptions', { user_id: 999999, plan_id: plan.id })).statusCode).toBe(404);
        expect((await call('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: 999999 })).statusCode).toBe(404);
        expect((await call('POST', '/api/v1/subscriptions', { user_id: user.id })).json().message).toBe('body.plan_id: is required');
        expect((await ok('GET', `/api/v1/subscriptions?user_id=${user.id}`)).total).toBe(1);
      });

      it('makes one subscription when two assigns for the same user arrive at once', async () => {
        const plan = await newPlan('Raced');
        const user = await newUser('racer');
        const results = await Promise.all(
          Array.from({ length: 4 }, () => call('POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id })),
        );
        expect(results.map((r) => r.statusCode).sort()).toEqual([201, 409, 409, 409]);
        expect((await ok('GET', `/api/v1/subscriptions?user_id=${user.id}`)).total).toBe(1);
      });

      it('renews from the end time, or from now once it has passed, and an expired one becomes active again', async () => {
        const plan = await newPlan('Renewable', { duration_days: 10 });
        const user = await newUser('ivan');
        const s = await subscribe(user, plan);
        const end = Date.parse(s.end_time);

        let renewed: any;
        expect(await touchedBy(async () => (renewed = await ok('POST', `/api/v1/subscriptions/${s.id}/renew`)))).toEqual({ 'hk-1': 1 });
        expect(renewed).toMatchObject({ status: 'active', end_time: new Date(end + 10 * DAY).toISOString() });
        renewed = await ok('POST', `/api/v1/subscriptions/${s.id}/renew`, { days: 5 });
        expect(renewed.end_time).toBe(new Date(end + 15 * DAY).toISOString());

        // The quota job expires it once the clock passes its end.
        now = end + 40 * DAY;
        await setRow(s.id, { status: 'expired' });
        renewed = await ok('POST', `/api/v1/subscriptions/${s.id}/renew`, { days: 7 });
        expect(renewed).toMatchObject({ status: 'active', end_time: new Date(now + 7 * DAY).toISOString() });

        expect((await call('POST', `/api/v1/subscriptions/${s.id}/renew`, { days: 0 })).json().message).toBe('body.days: must be >= 1');
        expect((await call('POST', `/api/v1/subscriptions/${s.id}/renew`, { months: 1 })).json().message).toBe('body.months: unknown field');
        now = T0;
      });

      it('does not revive an expired subscription while the user has a newer live one', async () => {
        const plan = await newPlan('Overlap');
        const user = await newUser('judy');
        const old = await subscribe(user, plan);
        await setRow(old.id, { status: 'expired' });
        const current = await subscribe(user, plan);
        const res = await call('POST', `/api/v1/subscriptions/${old.id}/renew`);
        expect(res.statusCode).toBe(409);
        expect(res.json().message).toBe(`user judy already has subscription ${current.id} (active); renew or cancel it first`);
        expect((await ok('GET', `/api/v1/subscriptions/${old.id}`)).status).toBe('expired');
        expect((await ok('GET', `/api/v1/users/${user.id}`)).subscription.id).toBe(current.id);
      });

      it('suspends an active subscription and resumes only an admin suspension', async () => {
        const plan = await newPlan('Pausable');
        const s = await subscribe(await newUser('kate'), plan);
        let result: any;
        expect(await touchedBy(async () => (result = await ok('POST', `/api/v1/subscriptions/${s.id}/suspend`)))).toEqual({ 'hk-1': 1 });
        expect(result).toMatchObject({ status: 'suspended', suspended_reason: 'admin' });

        const again = await call('POST', `/api/v1/subscriptions/${s.id}/suspend`);
        expect(again.statusCode).toBe(409);
        expect(again.json().message).toBe(`cannot suspend subscription ${s.id}: it is suspended (admin)`);

        expect(await touchedBy(async () => (result = await ok('POST', `/api/v1/subscriptions/${s.id}/resume`)))).toEqual({ 'hk-1': 1 });
        expect(result).toMatchObject({ status: 'active', suspended_reason: null });
        expect((await call('POST', `/api/v1/subscriptions/${s.id}/resume`)).json().message).toBe(
          `cannot resume subscription ${s.id}: it is active; only a subscription an admin suspended can be resumed`,
        );

        await setRow(s.id, { status: 'suspended', suspended_reason: 'quota' });
        const quota = await call('POST', `/api/v1/subscriptions/${s.id}/resume`);
        expect(quota.statusCode).toBe(409);
        expect(quota.json().message).toBe(
          `cannot resume subscription ${s.id}: it is suspended (quota); it ran out of traffic: reset its traffic to lift that`,
        );
        expect((await call('POST', `/api/v1/subscriptions/${s.id}/suspend`)).statusCode).toBe(409);
      });

      it('resets the traffic used, which lifts a quota suspension but not an admin one, and records each reset', async () => {
        const plan = await newPlan('Metered', { traffic_limit_bytes: 1000 });
        const s = await subscribe(await newUser('liam'), plan);
        await setRow(s.id, { status: 'suspended', suspended_reason: 'quota', traffic_used_bytes: 1000 });
        now = T0 + 3 * DAY;
        let result: any;
        expect(await touchedBy(async () => (result = await ok('POST', `/api/v1/subscriptions/${s.id}/reset-traffic`)))).toEqual({
          'hk-1': 1,
        });
        expect(result).toMatchObject({ status: 'active', suspended_reason: null, traffic_used_bytes: 0, traffic_total_bytes: 1000 });
        expect(Number((await hub.app.db('subscriptions').where({ id: s.id }).first()).last_reset_at)).toBe(now);
        now = T0;

        await setRow(s.id, { traffic_used_bytes: 400 });
        await ok('POST', `/api/v1/subscriptions/${s.id}/suspend`);
        result = await ok('POST', `/api/v1/subscriptions/${s.id}/reset-traffic`);
        expect(result).toMatchObject({ status: 'suspended', suspended_reason: 'admin', traffic_used_bytes: 0 });
        // Both resets are recorded, with the traffic used before each.
        const records = await hub.app.db('subscription_resets').where({ subscription_id: s.id }).orderBy('id').select('at', 'used_bytes', 'strategy');
        expect(records.map((r) => ({ ...r, at: Number(r.at), used_bytes: Number(r.used_bytes) }))).toEqual([
          { at: T0 + 3 * DAY, used_bytes: 1000, strategy: 'manual' },
          { at: T0, used_bytes: 400, strategy: 'manual' },
        ]);
      });

      it('cancels a subscription for good, and the user may then get a new one', async () => {
        const plan = await newPlan('Cancellable');
        const user = await newUser('mona');
        const s = await subscribe(user, plan);
        let result: any;
        expect(await touchedBy(async () => (result = await ok('POST', `/api/v1/subscriptions/${s.id}/cancel`)))).toEqual({ 'hk-1': 1 });
        expect(result.status).toBe('cancelled');
        for (const action of ['renew', 'suspend', 'resume', 'reset-traffic', 'cancel']) {
          const res = await call('POST', `/api/v1/subscriptions/${s.id}/${action}`);
          expect(res.statusCode, action).toBe(409);
          expect(res.json().message, action).toContain(`subscription ${s.id}: it is cancelled`);
        }
        expect((await call('POST', `/api/v1/subscriptions/${s.id}/renew`)).json().message).toBe(
          `cannot renew subscription ${s.id}: it is cancelled; assign a new plan instead`,
        );
        expect((await ok('GET', `/api/v1/users/${user.id}`)).subscription).toBeNull();
        const fresh = await subscribe(user, plan);
        expect((await ok('GET', `/api/v1/users/${user.id}`)).subscription.id).toBe(fresh.id);
        expect((await call('POST', '/api/v1/subscriptions/999999/cancel')).statusCode).toBe(404);
      });

      it('lists subscriptions newest first, filtered by user and status, a page at a time', async () => {
        const plan = await newPlan('Listed');
        const user = await newUser('nina');
        const a = await subscribe(user, plan);
        await ok('POST', `/api/v1/subscriptions/${a.id}/cancel`);
        const b = await subscribe(user, plan);
        await ok('POST', `/api/v1/subscriptions/${b.id}/cancel`);
        const c = await subscribe(user, plan);

        const all = await ok('GET', `/api/v1/subscriptions?user_id=${user.id}`);
        expect(all.items.map((s: { id: number }) => s.id)).toEqual([c.id, b.id, a.id]);
        const cancelled = await ok('GET', `/api/v1/subscriptions?user_id=${user.id}&status=cancelled&per_page=1&page=2`);
        expect(cancelled).toMatchObject({ total: 2, page: 2, per_page: 1 });
        expect(cancelled.items.map((s: { id: number }) => s.id)).toEqual([a.id]);
        expect((await ok('GET', `/api/v1/subscriptions?plan_id=${plan.id}&status=active`)).items.map((s: { id: number }) => s.id)).toEqual([c.id]);
        expect((await call('GET', '/api/v1/subscriptions?status=paused')).json().message).toBe(
          'querystring.status: must be one of active, expired, suspended, cancelled',
        );
      });

      it('raises the revisions of the nodes a user is on when the user is disabled, enabled or deleted', async () => {
        const plan = await newPlan('US only', { node_tags: ['us'] });
        const user = await newUser('oscar');
        await subscribe(user, plan);
        expect(await touchedBy(() => ok('PATCH', `/api/v1/users/${user.id}`, { status: 'disabled' }))).toEqual({ 'us-1': 1 });
        expect(await touchedBy(() => ok('PATCH', `/api/v1/users/${user.id}`, { status: 'disabled', note: 'still off' }))).toEqual({});
        expect(await touchedBy(() => ok('PATCH', `/api/v1/users/${user.id}`, { note: 'just a note' }))).toEqual({});
        expect(await touchedBy(() => ok('PATCH', `/api/v1/users/${user.id}`, { status: 'active' }))).toEqual({ 'us-1': 1 });
        expect(await touchedBy(() => ok('DELETE', `/api/v1/users/${user.id}`))).toEqual({ 'us-1': 1 });
        expect((await call('GET', `/api/v1/users/${user.id}`)).statusCode).toBe(404);
        expect((await ok('GET', `/api/v1/subscriptions?user_id=${user.id}`)).total).toBe(0);
      });
    });

    describe('nodes', () => {
      const OVERRIDES = { 'vless-ws': { host: 'cdn.example.com', port: 443 }, 'hy2-in': { port: 20443 } };
      const clientSide = async (id: string) => {
        const node = await ok('GET', `/api/v1/nodes/${id}`);
        return { name: node.name, address: node.address, public_host: node.public_host, inbound_overrides: node.inbound_overrides };
      };

      it("sets, returns and clears a node's public host and per-inbound overrides, audited, without re-syncing the node", async () => {
        expect(await clientSide('hk-1')).toEqual({ name: 'Hong Kong 1', address: '127.0.0.1:1', public_host: null, inbound_overrides: {} });
        let updated: any;
        const touched = await touchedBy(async () => {
          updated = await ok('PATCH', '/api/v1/nodes/hk-1', { public_host: 'hk1.example.com', inbound_overrides: OVERRIDES });
        });
        // Only clients dial it: the users on the node stay as they are.
        expect(touched).toEqual({});
        expect(updated).toMatchObject({ id: 'hk-1', address: '127.0.0.1:1', public_host: 'hk1.example.com', inbound_overrides: OVERRIDES });
        expect(await clientSide('hk-1')).toMatchObject({ public_host: 'hk1.example.com', inbound_overrides: OVERRIDES });
        const [audited] = await auditEntries('action=node.update&target=hk-1');
        expect(audited).toMatchObject({ admin: 'test-owner', result: 'ok', input: { public_host: 'hk1.example.com', inbound_overrides: OVERRIDES } });

        expect((await ok('PATCH', '/api/v1/nodes/hk-1', { public_host: '2001:db8::10' })).public_host).toBe('2001:db8::10');
        expect((await ok('PATCH', '/api/v1/nodes/hk-1', { public_host: '203.0.113.10' })).inbound_overrides).toEqual(OVERRIDES);
        expect(await ok('PATCH', '/api/v1/nodes/hk-1', { public_host: null, inbound_overrides: {} })).toMatchObject({ public_host: null, inbound_overrides: {} });
        expect((await call('PATCH', '/api/v1/nodes/hk-1', { public_host: 'x.example.com' }, await hub.as('operator'))).statusCode).toBe(403);
      });

      it('refuses a bad public host or override with 400 naming the field, and changes nothing', async () => {
        await ok('PATCH', '/api/v1/nodes/us-1', { public_host: 'us1.example.com', inbound_overrides: OVERRIDES });
        const before = await clientSide('us-1');
        const HOST = 'must be a DNS name or an IP address, without scheme, port, path or brackets';
        const cases: [object, string][] = [
          ...['https://us1.example.com', 'us1.example.com:443', 'us1.example.com/sub', '[2001:db8::1]', '203.0.113.300', '10.1.1', 'fe80::1%eth0', 'bad host', '', '-us1.example.com'].map(
            (host): [object, string] => [{ public_host: host }, `body.public_host: ${HOST}`],
          ),
          [{ public_host: 'a'.repeat(254) }, `body.public_host: must NOT have more than 253 characters`],
          [{ inbound_overrides: { 'vless-ws': { host: 'cdn.example.com:443' } } }, `body.inbound_overrides.vless-ws.host: ${HOST}`],
          [{ inbound_overrides: { 'vless-ws': { port: 0 } } }, 'body.inbound_overrides.vless-ws.port: must be >= 1'],
          [{ inbound_overrides: { 'vless-ws': { port: 65536 } } }, 'body.inbound_overrides.vless-ws.port: must be <= 65535'],
          [{ inbound_overrides: { 'vless-ws': { port: '443' } } }, 'body.inbound_overrides.vless-ws.port: must be integer'],
          [{ inbound_overrides: { 'vless-ws': {} } }, 'body.inbound_overrides.vless-ws: must NOT have fewer than 1 properties'],
          [{ inbound_overrides: { 'vless-ws': { port: 443, weight: 2 } } }, 'body.inbound_overrides.vless-ws.weight: unknown field'],
          [{ inbound_overrides: { ['t'.repeat(65)]: { port: 443 } } }, 'body.inbound_overrides: must NOT have more than 64 characters'],
          [{ inbound_overrides: { '': { port: 443 } } }, 'body.inbound_overrides: must NOT have fewer than 1 characters'],
          [{ inbound_overrides: Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`in-${i}`, { port: 1000 + i }])) }, 'body.inbound_overrides: must NOT have more than 64 properties'],
          [{ inbound_overrides: null }, 'body.inbound_overrides: must be object'],
          // A good field beside a bad one is not applied either.
          [{ name: 'Renamed', public_host: 'http://us1.example.com' }, `body.public_host: ${HOST}`],
        ];
        for (const [body, message] of cases) {
          const res = await call('PATCH', '/api/v1/nodes/us-1', body);
          expect(res.statusCode, JSON.stringify(body)).toBe(400);
          expect(res.json(), JSON.stringify(body)).toEqual({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message });
        }
        expect(await clientSide('us-1')).toEqual(before);
        // Enrolling checks them before it dials the agent.
        const enroll = await call('POST', '/api/v1/nodes', { enrollment: 'boxfleet://203.0.113.5:7443?node=new-1', public_host: 'new-1.example.com:443' });
        expect(enroll.json()).toEqual({ statusCode: 400, code: 'HUB_ERR_BAD_REQUEST', message: `body.public_host: ${HOST}` });
        const enrollOverride = await call('POST', '/api/v1/nodes', { enrollment: 'boxfleet://203.0.113.5:7443?node=new-1', inbound_overrides: { 'ss-in': { port: 70000 } } });
        expect(enrollOverride.json().message).toBe('body.inbound_overrides.ss-in.port: must be <= 65535');
      });
    });

    describe('usage', () => {
      it('answers hourly rows and totals for a user or a node over a range, by default the last 24 hours', async () => {
        const user = await newUser('petra');
        const other = await newUser('quinn');
        const hour = (h: number) => T0 - h * 3_600_000;
        const row = (node_id: string, user_id: number, h: number, up: number, down: number, billed: number) => ({
          node_id,
          user_id,
          hour: hour(h),
          upload_bytes: up,
          download_bytes: down,
          billed_bytes: billed,
        });
        await hub.app.db('usage_hourly').insert([
          row('hk-1', user.id, 1, 100, 1000, 1100),
          row('us-1', user.id, 1, 5, 50, 110),
          row('hk-1', user.id, 30, 7, 7, 14),
          row('hk-1', other.id, 2, 3_000_000_000_000, 4_000_000_000_000, 7_000_000_000_000),
        ]);

        const byUser = await ok('GET', `/api/v1/usage?user_id=${user.id}`);
        expect(byUser).toEqual({
          from: new Date(T0 - DAY).toISOString(),
          to: new Date(T0).toISOString(),
          rows: [
            { hour: new Date(hour(1)).toISOString(), node_id: 'hk-1', user_id: user.id, upload_bytes: 100, download_bytes: 1000, billed_bytes: 1100 },
            { hour: new Date(hour(1)).toISOString(), node_id: 'us-1', user_id: user.id, upload_bytes: 5, download_bytes: 50, billed_bytes: 110 },
          ],
          totals: { upload_bytes: 105, download_bytes: 1050, billed_bytes: 1210 },
        });

        const from = new Date(hour(48)).toISOString();
        const byNode = await ok('GET', `/api/v1/usage?node_id=hk-1&from=${from}`);
        expect(byNode.rows.map((r: { user_id: number; hour: string }) => [r.user_id, r.hour])).toEqual([
          [user.id, new Date(hour(30)).toISOString()],
          [other.id, new Date(hour(2)).toISOString()],
          [user.id, new Date(hour(1)).toISOString()],
        ]);
        expect(byNode.totals.billed_bytes).toBe(7_000_000_000_000 + 1100 + 14);
        const both = await ok('GET', `/api/v1/usage?node_id=us-1&user_id=${user.id}&from=${from}&to=${new Date(hour(1)).toISOString()}`);
        expect(both.rows).toHaveLength(1);

        const neither = await call('GET', '/api/v1/usage');
        expect(neither.statusCode).toBe(400);
        expect(neither.json().message).toBe('querystring.user_id: give user_id or node_id (or both)');
        const backwards = await call('GET', `/api/v1/usage?user_id=${user.id}&from=2031-03-02T00:00:00Z&to=2031-03-01T00:00:00Z`);
        expect(backwards.statusCode).toBe(400);
        expect(backwards.json().message).toBe('querystring.from: must not be after querystring.to (2031-03-01T00:00:00Z)');
        expect((await call('GET', `/api/v1/usage?user_id=${user.id}&from=yesterday`)).json().message).toBe(
          'querystring.from: must match format "date-time"',
        );

        // The fleet per UTC day over the last 7 days (today last), every node and user summed.
        const daily = await ok('GET', '/api/v1/usage/daily?days=7');
        expect(daily.map((d: { day: string }) => d.day)).toEqual(['2031-02-23', '2031-02-24', '2031-02-25', '2031-02-26', '2031-02-27', '2031-02-28', '2031-03-01']);
        expect(daily[4]).toEqual({ day: '2031-02-27', upload_bytes: 7, download_bytes: 7, billed_bytes: 14 });
        expect(daily[5]).toEqual({
          day: '2031-02-28',
          upload_bytes: 3_000_000_000_105,
          download_bytes: 4_000_000_001_050,
          billed_bytes: 7_000_000_001_210,
        });
        expect(daily[6]).toEqual({ day: '2031-03-01', upload_bytes: 0, download_bytes: 0, billed_bytes: 0 });
        expect((await call('GET', '/api/v1/usage/daily?days=0')).statusCode).toBe(400);
      });

      it("takes a deleted user's usage rows with them, on every node, and leaves everyone else's", async () => {
        const gone = await newUser('rhea');
        const kept = await newUser('sven');
        const row = (node_id: string, user_id: number, h: number) => ({ node_id, user_id, hour: T0 - h * 3_600_000, upload_bytes: 1, download_bytes: 2, billed_bytes: 3 });
        await hub.app.db('usage_hourly').insert([row('hk-1', gone.id, 1), row('us-1', gone.id, 1), row('hk-1', gone.id, 2), row('hk-1', kept.id, 1), row('us-1', kept.id, 1)]);
        expect((await ok('GET', `/api/v1/usage?user_id=${gone.id}`)).rows).toHaveLength(3);

        expect((await call('DELETE', `/api/v1/users/${gone.id}`)).statusCode).toBe(204);
        expect(await hub.app.db('usage_hourly').whereIn('user_id', [gone.id, kept.id]).orderBy(['user_id', 'node_id']).select('user_id', 'node_id')).toEqual([
          { user_id: kept.id, node_id: 'hk-1' },
          { user_id: kept.id, node_id: 'us-1' },
        ]);
        expect((await ok('GET', `/api/v1/usage?user_id=${kept.id}`)).totals).toEqual({ upload_bytes: 2, download_bytes: 4, billed_bytes: 6 });
      });
    });

    describe('audit log', () => {
      it('records a user creation with admin, action, target, redacted input, result, duration and IP', async () => {
        const operator = await hub.as('operator');
        const created = await ok('POST', '/api/v1/users', { name: 'audited', note: 'watch me' }, operator);
        const [entry] = await auditEntries('action=user.create&target=user:audited');
        expect(entry).toEqual({
          id: expect.any(Number),
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
          admin: 'test-operator',
          action: 'user.create',
          target: 'user:audited',
          input: { name: 'audited', note: 'watch me' },
          result: 'ok',
          status_code: 201,
          error: null,
          duration_ms: expect.any(Number),
          ip: '127.0.0.1',
          trace_id: null,
        });

        const creds = await ok('GET', `/api/v1/users/${created.id}/credentials`, undefined, operator);
        const [read] = await auditEntries('action=user.credentials&target=user:audited');
        expect(read).toMatchObject({ admin: 'test-operator', result: 'ok', status_code: 200 });
        await ok('POST', '/api/v1/admins', { username: 'auditor', password: 'correct horse battery', role: 'viewer' });
        const [adminCreated] = await auditEntries('action=admin.create&target=admin:auditor');
        expect(adminCreated.input).toEqual({ username: 'auditor', password: '[redacted]', role: 'viewer' });

        const log = JSON.stringify(await auditEntries('per_page=200'));
        for (const secret of [creds.uuid, creds.password, creds.ss_key, creds.sub_token, 'correct horse battery']) {
          expect(log).not.toContain(secret);
        }
      });

      it('records a failed request with its status and error', async () => {
        await call('POST', '/api/v1/plans', { name: 'Broken', traffic_limit_bytes: -5, duration_days: 30 });
        const [invalid] = await auditEntries('action=plan.create&result=error');
        expect(invalid).toMatchObject({
          admin: 'test-owner',
          result: 'error',
          status_code: 400,
          error: 'body.traffic_limit_bytes: must be >= 0',
          input: { name: 'Broken', traffic_limit_bytes: -5, duration_days: 30 },
        });

        await newUser('twice');
        await call('POST', '/api/v1/users', { name: 'twice' });
        const [conflict] = await auditEntries('action=user.create&target=user:twice&result=error');
        expect(conflict).toMatchObject({ status_code: 409, error: 'user twice already exists (names are compared without case)' });

        await call('DELETE', '/api/v1/users/1', undefined, await hub.as('viewer'));
        const [forbidden] = await auditEntries('action=user.delete&admin=test-viewer');
        expect(forbidden).toMatchObject({ result: 'error', status_code: 403, error: 'this needs the operator role; test-viewer is viewer' });
      });

      it('filters by admin, action (or its prefix), target, result and time, newest first, a page at a time', async () => {
        const plan = await newPlan('Audit trail');
        const s = await subscribe(await newUser('rita'), plan);
        await ok('POST', `/api/v1/subscriptions/${s.id}/suspend`);
        await ok('POST', `/api/v1/subscriptions/${s.id}/resume`);
        const entries = await auditEntries(`action=subscription&target=subscription:${s.id}`, (items) => items.length >= 3);
        expect(entries.map((e: { action: string }) => e.action)).toEqual(['subscription.resume', 'subscription.suspend', 'subscription.assign']);
        expect(entries.map((e: { id: number }) => e.id)).toEqual([...entries.map((e: { id: number }) => e.id)].sort((a, b) => b - a));

        const page = await ok('GET', `/api/v1/audit?action=subscription&target=subscription:${s.id}&per_page=1&page=2`);
        expect(page).toMatchObject({ total: 3, page: 2, per_page: 1 });
        expect(page.items[0].action).toBe('subscription.suspend');
        expect((await ok('GET', '/api/v1/audit?action=subscription.res')).total).toBe(0);
        expect((await ok('GET', '/api/v1/audit?action=subscription.resume')).total).toBeGreaterThanOrEqual(1);
        expect((await ok('GET', '/api/v1/audit?admin=nobody-at-all')).total).toBe(0);

        const later = new Date(Date.now() + 60_000).toISOString();
        expect((await ok('GET', `/api/v1/audit?from=${later}`)).total).toBe(0);
        expect((await ok('GET', `/api/v1/audit?to=${later}&action=subscription.assign`)).total).toBeGreaterThanOrEqual(1);
        expect((await call('GET', `/api/v1/audit?from=${later}&to=2000-01-01T00:00:00Z`)).statusCode).toBe(400);
        expect((await call('GET', '/api/v1/audit?result=maybe')).json().message).toBe('querystring.result: must be one of ok, error');
      });
    });

    describe('admins', () => {
      it('creates, lists, updates and deletes admins; a new admin can sign in with the role given', async () => {
        const created = await call('POST', '/api/v1/admins', { username: 'ops-anna', password: 'a long enough secret', role: 'operator' });
        expect(created.statusCode).toBe(201);
        const anna = created.json();
        expect(anna).toMatchObject({ username: 'ops-anna', role: 'operator', disabled: false, last_login_at: null });
        expect(JSON.stringify(await ok('GET', '/api/v1/admins'))).not.toMatch(/password|hash/);

        const login = await call('POST', '/api/v1/auth/login', { username: 'ops-anna', password: 'a long enough secret' });
        expect(login.statusCode).toBe(200);
        const asAnna = { authorization: `Bearer ${login.json().token}` };
        expect((await call('POST', '/api/v1/plans', { name: 'x', traffic_limit_bytes: 1, duration_days: 1 }, asAnna)).statusCode).toBe(403);
        await ok('PATCH', `/api/v1/admins/${anna.id}`, { role: 'admin' });
        // A new role ends the sessions signed in with the old one.
        expect((await call('GET', '/api/v1/auth/me', undefined, asAnna)).statusCode).toBe(401);
        const again = await call('POST', '/api/v1/auth/login', { username: 'ops-anna', password: 'a long enough secret' });
        asAnna.authorization = `Bearer ${again.json().token}`;
        expect((await call('POST', '/api/v1/plans', { name: 'By Anna', traffic_limit_bytes: 1, duration_days: 1 }, asAnna)).statusCode).toBe(201);

        await ok('PATCH', `/api/v1/admins/${anna.id}`, { password: 'another long secret' });
        expect((await call('POST', '/api/v1/auth/login', { username: 'ops-anna', password: 'a long enough secret' })).statusCode).toBe(401);
        expect((await call('POST', '/api/v1/auth/login', { username: 'ops-anna', password: 'another long secret' })).statusCode).toBe(200);

        await ok('PATCH', `/api/v1/admins/${anna.id}`, { disabled: true });
        expect((await call('GET', '/api/v1/auth/me', undefined, asAnna)).statusCode).toBe(401);

        expect((await call('POST', '/api/v1/admins', { username: 'ops-anna', password: 'whatever123', role: 'viewer' })).statusCode).toBe(409);
        expect((await call('POST', '/api/v1/admins', { username: 'short', password: 'short', role: 'viewer' })).json().message).toBe(
          'body.password: must NOT have fewer than 10 characters',
        );
        expect((await call('POST', '/api/v1/admins', { username: 'bossy', password: 'long enough pw', role: 'god' })).json().message).toBe(
          'body.role: must be one of viewer, operator, admin, owner',
        );
        expect((await call('DELETE', `/api/v1/admins/${anna.id}`)).statusCode).toBe(204);
        expect((await ok('GET', '/api/v1/admins')).items.map((a: { username: string }) => a.username)).not.toContain('ops-anna');
      });

      it('ends every session of an admin on sign-out (audited), a new password, a new role, or when disabled', async () => {
        const bob = await ok('POST', '/api/v1/admins', { username: 'ops-bob', password: 'bob first password', role: 'operator' });
        const signIn = async (password: string) => {
          const res = await call('POST', '/api/v1/auth/login', { username: 'ops-bob', password });
          expect(res.statusCode, res.body).toBe(200);
          return { authorization: `Bearer ${res.json().token}` };
        };
        const me = async (headers: { authorization: string }) => (await call('GET', '/api/v1/auth/me', undefined, headers)).statusCode;
        const ENDED = 'this session has ended (signed out, or the account was changed, disabled or removed); sign in again';

        // Sign-out ends this session and every other one of the same admin.
        const [laptop, phone] = [await signIn('bob first password'), await signIn('bob first password')];
        expect(await me(laptop)).toBe(200);
        expect((await call('POST', '/api/v1/auth/logout', undefined, laptop)).statusCode).toBe(204);
        expect((await call('GET', '/api/v1/auth/me', undefined, laptop)).json()).toEqual({ statusCode: 401, code: 'HUB_ERR_UNAUTHORIZED', message: ENDED });
        expect(await me(phone)).toBe(401);
        expect(await me(hub.auth)).toBe(200);
        const [logout] = await auditEntries('action=auth.logout');
        expect(logout).toMatchObject({ admin: 'ops-bob', action: 'auth.logout', result: 'ok' });

        for (const [patch, password] of [
          [{ password: 'bob second password' }, 'bob first password'],
          [{ role: 'viewer' }, 'bob second password'],
          [{ disabled: true }, 'bob second password'],
        ] as const) {
          const session = await signIn(password);
          expect(await me(session)).toBe(200);
          await ok('PATCH', `/api/v1/admins/${bob.id}`, patch);
          expect(await me(session), JSON.stringify(patch)).toBe(401);
        }
        await ok('DELETE', `/api/v1/admins/${bob.id}`);
      });

      it('backs off sign-ins per username, however many addresses they come from, alike for names that do not exist', async () => {
        await ok('POST', '/api/v1/admins', { username: 'ops-carol', password: 'carol right password', role: 'viewer' });
        const login = (username: string, password: string, n = 0) =>
          hub.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { username, password }, remoteAddress: `192.0.2.${n % 5}` });
        for (const username of ['ops-carol', 'no-such-carol']) {
          const codes: number[] = [];
          for (let i = 0; i < 50; i++) codes.push((await login(username, `wrong guess ${i}`, i)).statusCode);
          expect(codes, username).toEqual([...Array(5).fill(401), ...Array(45).fill(429)]);
          const refused = await login(username, 'carol right password');
          expect(refused.statusCode, username).toBe(429);
          expect(refused.headers['retry-after'], username).toBe('30');
          expect(refused.json(), username).toEqual({
            statusCode: 429,
            code: 'HUB_ERR_RATE_LIMITED',
            message: 'too many failed sign-ins for this username; try again in 30 s',
          });
        }
        // Every spelling of the name is the same account to the back-off.
        expect((await login('OPS-Carol', 'carol right password')).statusCode).toBe(429);

        now += 31_000;
        // The next failure doubles the wait; a success once it is over clears the count.
        expect((await login('ops-carol', 'one more wrong guess')).statusCode).toBe(401);
        expect((await login('ops-carol', 'carol right password')).headers['retry-after']).toBe('60');
        now += 61_000;
        expect((await login('ops-carol', 'carol right password')).statusCode).toBe(200);
        for (let i = 0; i < 4; i++) expect((await login('ops-carol', `wrong again ${i}`)).statusCode).toBe(401);
        expect((await login('ops-carol', 'carol right password')).statusCode).toBe(200);
      });

      it('never removes the last enabled owner, and nobody deletes their own account', async () => {
        const admins = (await ok('GET', '/api/v1/admins')).items as { id: number; username: string; role: string; disabled: boolean }[];
        const me = admins.find((a) => a.username === 'test-owner')!;
        expect(admins.filter((a) => a.role === 'owner' && !a.disabled)).toHaveLength(1);

        const self = await call('DELETE', `/api/v1/admins/${me.id}`);
        expect(self.statusCode).toBe(409);
        expect(self.json().message).toBe('you cannot delete your own account; another owner can');
        for (const [patch, verb] of [[{ role: 'admin' }, 'demote'], [{ disabled: true }, 'disable']] as const) {
          const res = await call('PATCH', `/api/v1/admins/${me.id}`, patch);
          expect(res.statusCode).toBe(409);
          expect(res.json().message).toBe(`cannot ${verb} test-owner: it is the last enabled owner; make another admin owner first`);
        }

        // A change of role ends the admin's sessions: each one changed signs in again.
        const signIn = async (username: string, password: string, headers: { authorization: string }) => {
          const res = await call('POST', '/api/v1/auth/login', { username, password });
          expect(res.statusCode, res.body).toBe(200);
          headers.authorization = `Bearer ${res.json().token}`;
          return headers;
        };
        await ok('PATCH', `/api/v1/admins/${me.id}`, { password: 'test owner password' });
        await signIn('test-owner', 'test owner password', hub.auth);
        const second = await ok('POST', '/api/v1/admins', { username: 'owner-two', password: 'second owner pw', role: 'owner' });
        const asSecond = await signIn('owner-two', 'second owner pw', { authorization: '' });
        // Two owners demoting each other at once: one wins, one enabled owner is left.
        const crossed = await Promise.all([
          call('PATCH', `/api/v1/admins/${second.id}`, { role: 'admin' }),
          call('PATCH', `/api/v1/admins/${me.id}`, { role: 'admin' }, asSecond),
        ]);
        expect(crossed.map((r) => r.statusCode).sort()).toEqual([200, 409]);
        const owners = ((await ok('GET', '/api/v1/admins', undefined, crossed[0]!.statusCode === 200 ? hub.auth : asSecond)).items as typeof admins)
          .filter((a) => a.role === 'owner' && !a.disabled);
        expect(owners).toHaveLength(1);
        if (crossed[0]!.statusCode !== 200) {
          // test-owner was demoted: the second owner restores it so the rest reads the same either way.
          await ok('PATCH', `/api/v1/admins/${me.id}`, { role: 'owner' }, asSecond);
          await signIn('test-owner', 'test owner password', hub.auth);
        }
        await ok('PATCH', `/api/v1/admins/${second.id}`, { role: 'owner' });
        // With two owners one may step down, which leaves the other the last one again.
        await ok('PATCH', `/api/v1/admins/${second.id}`, { role: 'admin' });
        await signIn('owner-two', 'second owner pw', asSecond);
        expect((await call('GET', '/api/v1/admins', undefined, asSecond)).statusCode).toBe(403);
        expect((await call('PATCH', `/api/v1/admins/${me.id}`, { disabled: true })).statusCode).toBe(409);
        await ok('PATCH', `/api/v1/admins/${second.id}`, { role: 'owner' });
        await signIn('owner-two', 'second owner pw', asSecond);
        await ok('DELETE', `/api/v1/admins/${me.id}`, undefined, asSecond);
        // The only owner left cannot leave either: no one else may delete it, and it may not delete itself.
        const last = await call('DELETE', `/api/v1/admins/${second.id}`, undefined, asSecond);
        expect(last.json()).toMatchObject({ statusCode: 409, message: 'you cannot delete your own account; another owner can' });
        // Restore the suite's owner for any test that follows.
        const restored = await ok('POST', '/api/v1/admins', { username: 'test-owner', password: 'restored owner pw', role: 'owner' }, asSecond);
        expect(restored.role).toBe('owner');
        const again = await call('POST', '/api/v1/auth/login', { username: 'test-owner', password: 'restored owner pw' });
        hub.auth.authorization = `Bearer ${again.json().token}`;
      });
    });

    it('publishes every route with its schemas in the OpenAPI document', async () => {
      const doc = (await hub.app.inject({ method: 'GET', url: '/docs/json' })).json();
      for (const path of [
        '/api/v1/admins/',
        '/api/v1/users/',
        '/api/v1/users/{id}/credentials',
        '/api/v1/plans/{id}',
        '/api/v1/subscriptions/{id}/renew',
        '/api/v1/usage/',
        '/api/v1/audit/',
      ]) {
        expect(Object.keys(doc.paths), path).toContain(path);
      }
      const create = doc.paths['/api/v1/plans/'].post;
      expect(create.requestBody.content['application/json'].schema.properties.traffic_limit_bytes).toMatchObject({ type: 'integer', minimum: 0 });
      expect(create.responses['201']).toBeDefined();
      expect(create.requestBody.content['application/json'].schema.properties.reset_policy).toMatchObject({
        enum: ['none', 'daily', 'weekly', 'monthly', 'rolling_30d', 'yearly'],
        description: expect.stringContaining('reset_timezone'),
      });
      expect(create.requestBody.content['application/json'].schema.properties.reset_day).toMatchObject({ type: 'integer', minimum: 1, maximum: 28 });
      const nodeBody = doc.paths['/api/v1/nodes/{id}'].patch.requestBody.content['application/json'].schema.properties;
      expect(nodeBody.public_host).toMatchObject({ description: expect.stringContaining('clients dial'), example: 'hk1.example.com' });
      expect(nodeBody.inbound_overrides).toMatchObject({ type: 'object', maxProperties: 64, example: { 'vless-ws': { host: 'cdn.example.com', port: 443 } } });
      expect(doc.paths['/api/v1/nodes/'].post.requestBody.content['application/json'].schema.properties).toHaveProperty('public_host');
      const list = doc.paths['/api/v1/users/'].get;
      expect(list.parameters.map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['q', 'page', 'per_page']));
    });
  });
}
