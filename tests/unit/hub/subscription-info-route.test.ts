// GET /sub/:token/info on a hub with SQLite (no network): the profile as JSON with a status code for
// every reason the hub does not serve a user, the links at the hub's public URL, the share links as
// ?format=links gives them; an unknown token, caching, security headers and the rate limit as /sub.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node, Subscription, User } from '../../../hub/db/models.js';
import { STATUSES, type Status } from '../../../hub/subscriptions/profile.js';
import { ownerApi, startTestHub, type TestHub } from '../../support/hub.js';
import { makeFixture } from './subscription.helpers.js';

const GB = 2 ** 30;

describe('GET /sub/:token/info', () => {
  let hub: TestHub;
  let hkPlan: number;
  let emptyPlan: number;

  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => ownerApi(hub, method, url, payload);
  const info = (token: string, headers: Record<string, string> = {}) => hub.app.inject({ method: 'GET', url: `/sub/${token}/info`, headers });

  /** A user, on the plan if one is given; returns the token and the subscription's id. */
  const user = async (name: string, planId?: number) => {
    const id = (await api('POST', '/api/v1/users', { name })).id as number;
    const subscriptionId = planId ? ((await api('POST', '/api/v1/subscriptions', { user_id: id, plan_id: planId })).id as number) : 0;
    return { id, subscriptionId, token: (await api('GET', `/api/v1/users/${id}/credentials`)).sub_token as string };
  };

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { public_url: 'https://panel.example.com' } });
    const { base } = await makeFixture();
    const version = await api('POST', '/api/v1/configs', { config: base, comment: 'all protocols' });
    await Node.query(hub.app.db).insert({
      id: 'hk-1', name: 'HK 1', tags: ['hk'], address: '203.0.113.10:50051', token: 'x', multiplier: 2, enabled: true, health: 'online', applied_config_version: version.id,
    });
    const plan = (name: string, tag: string) =>
      api('POST', '/api/v1/plans', { name, traffic_limit_bytes: 10 * GB, duration_days: 30, price: 1, is_enabled: true, node_tags: [tag], reset_policy: 'none' });
    hkPlan = (await plan('hk 10 GB', 'hk')).id;
    emptyPlan = (await plan('nowhere', 'mars')).id;
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('gives a served user status, usage, plan, links at the public URL and the share links of ?format=links', async () => {
    const alice = await user('alice', hkPlan);
    await Subscription.query(hub.app.db).patch({ traffic_used_bytes: 3 * GB }).findById(alice.subscriptionId);
    const res = await info(alice.token);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    const body = res.json();
    const { end_time } = await api('GET', `/api/v1/subscriptions/${alice.subscriptionId}`);
    const sub = `https://panel.example.com/sub/${alice.token}`;
    const links = (await hub.app.inject({ method: 'GET', url: `/sub/${alice.token}?format=links` })).body.split('\n');
    expect(body).toEqual({
      user: { name: 'alice' },
      status: 'active',
      status_text: 'active',
      usage: { upload_bytes: 0, download_bytes: 3 * GB, total_bytes: 10 * GB, expires_at: new Date(Math.floor(Date.parse(end_time) / 1000) * 1000).toISOString() },
      plan: { name: 'hk 10 GB' },
      links: {
        subscription: sub,
        portal: `https://panel.example.com/portal/${alice.token}`,
        formats: { singbox: `${sub}?format=singbox`, clash: `${sub}?format=clash`, base64: `${sub}?format=base64`, links: `${sub}?format=links` },
      },
      entries: expect.any(Array),
      update_interval_hours: 12,
    });
    expect(body.entries.map((e: { link: string }) => e.link)).toEqual(links);
    expect(body.entries).toHaveLength(7);
    for (const entry of body.entries) expect(entry.name).toMatch(/^HK 1 hk ×2 /);
  });

  it('says with a code why a user is not served, with the phrase profile-title carries and no stand-in entry', async () => {
    const seen = new Map<Status, { status_text: string; plan: unknown; entries: unknown[] }>();
    const check = async (token: string) => {
      const res = await info(token);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json();
      seen.set(body.status, body);
      const title = Buffer.from(String((await hub.app.inject({ method: 'GET', url: `/sub/${token}` })).headers['profile-title']).slice(7), 'base64').toString();
      expect(title).toBe(body.status === 'active' ? `boxfleet · ${body.user.name}` : `boxfleet · ${body.user.name} (${body.status_text})`);
    };
    await check((await user('active-user', hkPlan)).token);
    await check((await user('no-node', emptyPlan)).token);
    await check((await user('no-plan')).token);
    const disabled = await user('disabled', hkPlan);
    await User.query(hub.app.db).patch({ status: 'disabled' }).findById(disabled.id);
    await check(disabled.token);
    const quota = await user('over-quota', hkPlan);
    await Subscription.query(hub.app.db).patch({ status: 'suspended', suspended_reason: 'quota' }).findById(quota.subscriptionId);
    await check(quota.token);
    const suspended = await user('suspended', hkPlan);
    await api('POST', `/api/v1/subscriptions/${suspended.subscriptionId}/suspend`, {});
    await check(suspended.token);
    const expired = await user('expired', hkPlan);
    await Subscription.query(hub.app.db).patch({ end_time: Date.now() - 1000 }).findById(expired.subscriptionId);
    await check(expired.token);

    expect([...seen.keys()].sort()).toEqual([...STATUSES].sort());
    expect(Object.fromEntries([...seen].map(([code, body]) => [code, body.status_text]))).toEqual({
      active: 'active',
      no_node: 'no node available',
      disabled: 'account disabled',
      no_plan: 'no active plan',
      suspended_quota: 'traffic quota used up',
      suspended: 'subscription suspended',
      expired: 'subscription expired',
    });
    for (const [code, body] of seen) {
      if (code !== 'active') expect(body.entries, code).toEqual([]);
      expect(body.plan, code).toEqual(code === 'no_plan' ? null : { name: code === 'no_node' ? 'nowhere' : 'hk 10 GB' });
    }
  });

  it('answers an unknown token exactly like an unknown path, and like /sub', async () => {
    const other = randomBytes(32).toString('base64url');
    for (const url of [`/sub/${other}/info`, '/sub/short/info']) {
      const res = await hub.app.inject({ method: 'GET', url });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no route GET ${url}` });
    }
  });

  it('is never cached and carries the security headers of every answer', async () => {
    const { token } = await user('headers', hkPlan);
    const served = await info(token);
    expect(served.headers['cache-control']).toBe('no-store');
    for (const res of [served, await info(randomBytes(32).toString('base64url'))]) {
      expect(res.headers).toMatchObject({
        'content-security-policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        'x-content-type-options': 'nosniff',
        'x-frame-options': 'DENY',
        'referrer-policy': 'no-referrer',
      });
    }
  });

  it('shares the per-token rate limit with /sub', async () => {
    const { token } = await user('limited', hkPlan);
    const codes: number[] = [];
    for (let i = 0; i < 60; i++) codes.push((await hub.app.inject({ method: 'GET', url: i % 2 ? `/sub/${token}` : `/sub/${token}/info` })).statusCode);
    expect(codes.every((c) => c === 200)).toBe(true);
    const limited = await info(token);
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('HUB_ERR_RATE_LIMITED');
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.body).not.toContain(token);
    expect((await hub.app.inject({ method: 'GET', url: `/sub/${token}` })).statusCode).toBe(429);
  });
});
