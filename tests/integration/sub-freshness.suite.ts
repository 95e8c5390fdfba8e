// /sub serves rendered bodies from a cache; this proves no change is ever served late. Every
// change that alters what a user's client gets shows on the very next request after it, whether it
// went through this hub's API or straight into the database from elsewhere (another hub, a job):
// those writes go through a second connection pool here, as another hub's would. Each step first
// fetches the subscription, so the body before the change is the cached one. Run on SQLite by
// sub-freshness.test.ts and on MariaDB by sub-freshness.mariadb.test.ts.
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connectDatabase } from '../../hub/db/database.js';
import { Node } from '../../hub/db/models.js';
import { FORMATS } from '../../hub/subscriptions/format.js';
import { DEFAULT_CLASH_TEMPLATE } from '../../hub/subscriptions/formats/clash.js';
import { type DatabaseKind, ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { dialed, makeFixture, parseLink } from '../unit/hub/subscription.helpers.js';

const GiB = 2 ** 30;

export function subFreshnessSuite(kind: DatabaseKind): void {
  describe(`GET /sub/:token shows every change on the next request, hub on ${kind}`, { timeout: 60_000 }, () => {
    let hub: TestHub;
    /** Another writer on the same database, as another hub or a job would be. */
    let other: Knex;
    let now = Date.now();
    let token: string;
    let userId: number;
    let planId: number;
    let subscriptionId: number;
    let versions: number[];

    const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => ownerApi(hub, method, url, payload);
    const fetchSub = async (format = 'links') => {
      const res = await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=${format}` });
      expect(res.statusCode, res.body).toBe(200);
      return res;
    };
    /** What a client of the links format gets: each entry's name, host, port and credential, and the profile title. */
    const seen = async () => {
      const res = await fetchSub();
      const links = res.body.split('\n').map(parseLink);
      const title = Buffer.from(String(res.headers['profile-title']).replace(/^base64:/, ''), 'base64').toString();
      return { links, names: links.map((l) => l.name), title, userinfo: String(res.headers['subscription-userinfo']) };
    };
    /** The node names the profile reaches (the first word pair of each entry name). */
    const nodesSeen = async () => [...new Set((await seen()).names.map((n) => n.split(' ').slice(0, 2).join(' ')))].sort();
    const standIn = async () => {
      const { names, title } = await seen();
      expect(names).toHaveLength(1);
      return { entry: names[0]!, title };
    };

    beforeAll(async () => {
      hub = await startTestHub(kind, { clock: () => now });
      other = await connectDatabase(hub.config);
      const { base } = await makeFixture();
      // A second version: the same inbounds on other ports, as a config an admin applies.
      const moved = { ...base, inbounds: (base.inbounds as { listen_port: number }[]).map((i) => ({ ...i, listen_port: i.listen_port + 10_000 })) };
      versions = [(await api('POST', '/api/v1/configs', { config: base, comment: 'v1' })).id, (await api('POST', '/api/v1/configs', { config: moved, comment: 'v2' })).id];
      const node = { address: '203.0.113.10:50051', token: 'x', multiplier: 1, enabled: true, health: 'online' as const, applied_config_version: versions[0] };
      await Node.query(hub.app.db).insert({ ...node, id: 'hk-1', name: 'HK 1', tags: ['hk'] });
      await Node.query(hub.app.db).insert({ ...node, id: 'us-1', name: 'US 1', tags: ['us'], address: '198.51.100.20:50051' });
      planId = (await api('POST', '/api/v1/plans', {
        name: 'hk', traffic_limit_bytes: 10 * GiB, duration_days: 30, price: 1, is_enabled: true, node_tags: ['hk'], reset_policy: 'none',
      })).id;
      userId = (await api('POST', '/api/v1/users', { name: 'fresh' })).id;
      subscriptionId = (await api('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: planId })).id;
      token = (await api('GET', `/api/v1/users/${userId}/credentials`)).sub_token;
    });

    afterAll(async () => {
      await other?.destroy();
      await hub?.close();
    });

    it("shows the plan's new node tags, and a node once it is disabled no more", async () => {
      expect(await nodesSeen()).toEqual(['HK 1']);
      await api('PATCH', `/api/v1/plans/${planId}`, { node_tags: ['hk', 'us'] });
      expect(await nodesSeen()).toEqual(['HK 1', 'US 1']);
      await api('PATCH', '/api/v1/nodes/us-1', { enabled: false });
      expect(await nodesSeen()).toEqual(['HK 1']);
    });

    it('drops a node that went offline or drifted, and brings it back, as another writer records it', async () => {
      expect(await nodesSeen()).toEqual(['HK 1']);
      await other('nodes').where({ id: 'hk-1' }).update({ health: 'offline' });
      expect(await standIn()).toEqual({ entry: '⛔ no node available right now', title: 'boxfleet · fresh (no node available)' });
      await other('nodes').where({ id: 'hk-1' }).update({ health: 'online' });
      expect(await nodesSeen()).toEqual(['HK 1']);
      await other('nodes').where({ id: 'hk-1' }).update({ config_drift_since: now, served_config_hash: 'f'.repeat(64) });
      expect((await standIn()).entry).toBe('⛔ no node available right now');
      await other('nodes').where({ id: 'hk-1' }).update({ config_drift_since: null });
      expect(await nodesSeen()).toEqual(['HK 1']);
    });

    it('drops a node the inbound check found unhealthy, and brings it back when it is healthy again, as another writer records it', async () => {
      expect(await nodesSeen()).toEqual(['HK 1']);
      await other('nodes').where({ id: 'hk-1' }).update({ inbound_unhealthy_since: now, inbound_failed_checks: 3 });
      expect((await standIn()).entry).toBe('⛔ no node available right now');
      await other('nodes').where({ id: 'hk-1' }).update({ inbound_unhealthy_since: null, inbound_failed_checks: 0 });
      expect(await nodesSeen()).toEqual(['HK 1']);
    });

    it('dials the ports of a newly applied config version and the public host an admin sets', async () => {
      const ports = async () => (await seen()).links.map((l) => l.port).sort((a, b) => a - b);
      expect(await ports()).toEqual([10001, 10002, 10003, 10004, 10005, 10006, 10443]);
      await other('nodes').where({ id: 'hk-1' }).update({ applied_config_version: versions[1] });
      expect(await ports()).toEqual([20001, 20002, 20003, 20004, 20005, 20006, 20443]);
      await api('PATCH', '/api/v1/nodes/hk-1', { public_host: 'edge.example.org' });
      expect(new Set((await seen()).links.map((l) => l.host))).toEqual(new Set(['edge.example.org']));
    });

    it('gives out rotated credentials at once, and answers a rotated-away token as unknown', async () => {
      const credential = async (scheme: string) => (await seen()).links.find((l) => l.scheme === scheme)!.credential;
      expect(await credential('vless')).toBe((await api('GET', `/api/v1/users/${userId}/credentials`)).uuid);
      // No route rotates these one by one: another writer (an operator's SQL, a future route) does.
      await other('users').where({ id: userId }).update({ uuid: '00000000-0000-4000-8000-00000000abcd' });
      expect(await credential('vless')).toBe('00000000-0000-4000-8000-00000000abcd');
      await other('users').where({ id: userId }).update({ password: 'rotated-password' });
      expect(await credential('trojan')).toBe('rotated-password');
      const ss = await credential('ss');
      await other('users').where({ id: userId }).update({ ss_key: Buffer.alloc(32, 7).toString('base64') });
      expect(await credential('ss')).not.toBe(ss);
      expect(await credential('ss')).toContain(`:${Buffer.alloc(16, 7).toString('base64')}`);

      const old = token;
      token = (await api('POST', `/api/v1/users/${userId}/token/rotate`, {})).sub_token;
      expect((await hub.app.inject({ method: 'GET', url: `/sub/${old}?format=links` })).statusCode).toBe(404);
      expect(await credential('vless')).toBe('00000000-0000-4000-8000-00000000abcd');
    });

    it('shows the current usage and expiry in the headers while the body stays the same', async () => {
      const before = await seen();
      await other('subscriptions').where({ id: subscriptionId }).update({ traffic_used_bytes: 3 * GiB });
      const { end_time } = await api('POST', `/api/v1/subscriptions/${subscriptionId}/renew`, { days: 10 });
      const after = await seen();
      expect(after.userinfo).toBe(`upload=0; download=${3 * GiB}; total=${10 * GiB}; expire=${Math.floor(Date.parse(end_time) / 1000)}`);
      expect(after.userinfo).not.toBe(before.userinfo);
      expect(after.links).toEqual(before.links);
    });

    it('serves the stand-in as soon as the user is suspended, runs out of quota, expires or is disabled, and the nodes again after', async () => {
      await api('POST', `/api/v1/subscriptions/${subscriptionId}/suspend`, {});
      expect(await standIn()).toEqual({ entry: '⛔ subscription suspended', title: 'boxfleet · fresh (subscription suspended)' });
      await api('POST', `/api/v1/subscriptions/${subscriptionId}/resume`, {});
      expect(await nodesSeen()).toEqual(['HK 1']);

      // The quota job suspends by SQL.
      await other('subscriptions').where({ id: subscriptionId }).update({ status: 'suspended', suspended_reason: 'quota' });
      expect((await standIn()).entry).toBe('⛔ traffic quota used up');
      await api('POST', `/api/v1/subscriptions/${subscriptionId}/reset-traffic`, {});
      expect(await nodesSeen()).toEqual(['HK 1']);

      // Past end_time counts as expired at once, before the quota job marks it.
      const { end_time } = await api('GET', `/api/v1/subscriptions/${subscriptionId}`);
      const was = now;
      now = Date.parse(end_time) + 1;
      expect((await standIn()).entry).toBe('⛔ subscription expired');
      now = was;
      expect(await nodesSeen()).toEqual(['HK 1']);

      await api('PATCH', `/api/v1/users/${userId}`, { status: 'disabled' });
      expect(await standIn()).toEqual({ entry: '⛔ account disabled', title: 'boxfleet · fresh (account disabled)' });
      await api('PATCH', `/api/v1/users/${userId}`, { status: 'active' });
      expect(await nodesSeen()).toEqual(['HK 1']);
    });

    it('renders each format afresh after a change, not only the one asked before', async () => {
      const hosts = async () => Object.fromEntries(await Promise.all(FORMATS.map(async (f) => [f, new Set(Object.values(dialed(f, (await fetchSub(f)).body)).map((d) => d.host))])));
      expect(await hosts()).toEqual(Object.fromEntries(FORMATS.map((f) => [f, new Set(['edge.example.org'])])));
      await other('nodes').where({ id: 'hk-1' }).update({ public_host: 'moved.example.org' });
      expect(await hosts()).toEqual(Object.fromEntries(FORMATS.map((f) => [f, new Set(['moved.example.org'])])));
    });

    it("serves a profile template another hub saved, its name pattern, and the default again after a reset, each on the next request", async () => {
      const clashBody = async () => parse((await fetchSub('clash')).body) as { rules: string[]; proxies: { name: string }[] };
      expect((await clashBody()).rules[0]).toBe('IP-CIDR,127.0.0.0/8,DIRECT,no-resolve');
      const row = { format: 'clash', created_at: now, created_by: 'other-hub' };
      const shaped = DEFAULT_CLASH_TEMPLATE.replace('rules:\n', 'rules:\n  - DOMAIN-SUFFIX,ads.example,REJECT\n');
      await other('profile_templates').insert({ ...row, body: shaped, name_pattern: '{node} · {type}' });
      const body = await clashBody();
      expect(body.rules[0]).toBe('DOMAIN-SUFFIX,ads.example,REJECT');
      expect(body.proxies.map((p) => p.name)).toContain('HK 1 · vless');
      // The other formats keep their defaults and the usual names.
      expect((await seen()).names).toContain('HK 1 hk vless');
      await other('profile_templates').insert({ ...row, body: null });
      expect((await clashBody()).rules[0]).toBe('IP-CIDR,127.0.0.0/8,DIRECT,no-resolve');
    });
  });
}
