// GET /sub/:token and its QR codes, on a hub with SQLite (no network): only the nodes the user's
// plan reaches that are enabled and online, every format with its headers, the public host and
// per-inbound overrides an admin sets on a node, a stand-in profile for a suspended user, no hint
// for an unknown token, the per-token rate limit.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import winston from 'winston';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../hub/app.js';
import { resolveHubConfig } from '../../../hub/config.js';
import { Node, User } from '../../../hub/db/models.js';
import { newCredentials } from '../../../hub/users.js';
import { FORMATS } from '../../../hub/subscriptions/format.js';
import { ownerApi, startTestHub, type TestHub } from '../../support/hub.js';
import { dialed, makeFixture } from './subscription.helpers.js';

describe('GET /sub/:token', () => {
  let hub: TestHub;
  let token: string;
  let subscriptionId: number;
  let userId: number;

  const api = (method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object) => ownerApi(hub, method, url, payload);
  const sub = (query = '', headers: Record<string, string> = {}) => hub.app.inject({ method: 'GET', url: `/sub/${token}${query}`, headers });

  beforeAll(async () => {
    hub = await startTestHub('sqlite');
    const { base } = await makeFixture();
    const version = await api('POST', '/api/v1/configs', { config: base, comment: 'all protocols' });
    const node = { address: '203.0.113.10:50051', token: 'x', multiplier: 2, enabled: true, health: 'online' as const, applied_config_version: version.id };
    for (const row of [
      { ...node, id: 'hk-1', name: 'HK 1', tags: ['hk'] },
      { ...node, id: 'hk-2', name: 'HK 2', tags: ['hk'], health: 'offline' as const },
      { ...node, id: 'hk-3', name: 'HK 3', tags: ['hk'], enabled: false },
      { ...node, id: 'hk-4', name: 'HK 4', tags: ['hk'], applied_config_version: null },
      { ...node, id: 'us-1', name: 'US 1', tags: ['us'] },
    ]) {
      await Node.query(hub.app.db).insert(row);
    }
    const plan = await api('POST', '/api/v1/plans', {
      name: 'hk', traffic_limit_bytes: 10 * 2 ** 30, duration_days: 30, price: 1, is_enabled: true, node_tags: ['hk'], reset_policy: 'none',
    });
    userId = (await api('POST', '/api/v1/users', { name: 'alice' })).id;
    subscriptionId = (await api('POST', '/api/v1/subscriptions', { user_id: userId, plan_id: plan.id })).id;
    token = (await api('GET', `/api/v1/users/${userId}/credentials`)).sub_token;
  });

  afterAll(async () => {
    await hub?.close();
  });

  it('answers base64 share links by default, for the enabled online nodes the plan reaches only', async () => {
    const res = await sub();
    expect(res.statusCode, res.body).toBe(200);
    const links = Buffer.from(res.body, 'base64').toString('utf8').split('\n');
    expect(links).toHaveLength(7);
    const names = links.map((l) => (l.startsWith('vmess://') ? JSON.parse(Buffer.from(l.slice(8), 'base64').toString()).ps : decodeURIComponent(l.split('#')[1]!)));
    expect(names.every((n) => n.startsWith('HK 1 hk ×2 '))).toBe(true);
    const { end_time } = await api('GET', `/api/v1/subscriptions/${subscriptionId}`);
    expect(res.headers['subscription-userinfo']).toBe(`upload=0; download=0; total=${10 * 2 ** 30}; expire=${Math.floor(Date.parse(end_time) / 1000)}`);
    expect(res.headers['profile-update-interval']).toBe('12');
    expect(res.headers['content-disposition']).toBe(`attachment; filename="boxfleet-alice.txt"; filename*=UTF-8''boxfleet-alice.txt`);
    expect(Buffer.from(String(res.headers['profile-title']).replace(/^base64:/, ''), 'base64').toString()).toBe('boxfleet · alice');
  });

  it('answers sing-box JSON and Clash.Meta YAML by ?format and by User-Agent', async () => {
    for (const res of [await sub('?format=singbox'), await sub('', { 'user-agent': 'SFA/1.11.0 (1; sing-box 1.11.0)' })]) {
      expect(res.headers['content-type']).toContain('application/json');
      const config = res.json();
      expect(config.outbounds.filter((o: { server?: string }) => o.server)).toHaveLength(7);
    }
    for (const res of [await sub('?format=clash'), await sub('', { 'user-agent': 'clash.meta/1.19.2' })]) {
      expect(res.headers['content-type']).toContain('yaml');
      expect(parse(res.body).proxies).toHaveLength(7);
      expect(res.headers['content-disposition']).toContain('boxfleet-alice.yaml');
    }
    expect((await sub('?format=links')).body.split('\n')[0]).toMatch(/^vless:\/\//);
    expect((await sub('?format=nope')).statusCode).toBe(400);
  });

  it("dials the node's public host and per-inbound overrides in every format, and the agent's host once they are cleared", async () => {
    await api('PATCH', '/api/v1/nodes/hk-1', { public_host: '2001:db8::10', inbound_overrides: { 'trojan-in': { host: 'cdn.example.org', port: 8443 } } });
    for (const format of FORMATS) {
      const res = await sub(`?format=${format}`);
      const targets = Object.entries(dialed(format, res.body));
      expect(targets, format).toHaveLength(7);
      for (const [name, { host, port }] of targets) {
        if (name.endsWith(' trojan')) expect({ host, port }, `${format} ${name}`).toEqual({ host: 'cdn.example.org', port: 8443 });
        else expect(host, `${format} ${name}`).toBe('2001:db8::10');
      }
      // The portal lists these links as they are.
      if (format === 'links') expect(res.body).toContain('@[2001:db8::10]:10443?');
    }
    await api('PATCH', '/api/v1/nodes/hk-1', { public_host: null, inbound_overrides: {} });
    for (const format of FORMATS) {
      const targets = Object.values(dialed(format, (await sub(`?format=${format}`)).body));
      expect(new Set(targets.map((t) => t.host)), format).toEqual(new Set(['203.0.113.10']));
      expect(targets.map((t) => t.port).sort(), format).toEqual([10001, 10002, 10003, 10004, 10005, 10006, 10443]);
    }
  });

  it('answers an unknown token exactly like an unknown path', async () => {
    const other = randomBytes(32).toString('base64url');
    const res = await hub.app.inject({ method: 'GET', url: `/sub/${other}` });
    expect(res.statusCode).toBe(404);
    expect(res.json()).toEqual({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no route GET /sub/${other}` });
    for (const url of [`/sub/${other}/qr.svg`, `/sub/${other}/qr.png`, '/sub/short']) {
      const r = await hub.app.inject({ method: 'GET', url });
      expect(r.json()).toEqual({ statusCode: 404, code: 'HUB_ERR_NOT_FOUND', message: `no route GET ${url}` });
    }
  });

  it('draws QR codes of the subscription URL and of each link', async () => {
    const svg = await sub('/qr.svg');
    expect(svg.statusCode).toBe(200);
    expect(svg.headers['content-type']).toBe('image/svg+xml');
    expect(svg.body).toContain('<svg');
    const png = await sub('/qr.png?link=0');
    expect(png.headers['content-type']).toBe('image/png');
    expect(png.rawPayload.subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    expect((await sub('/qr.svg?link=99')).statusCode).toBe(404);
  });

  it('gives a suspended user 200 with a stand-in entry that says why, and no node', async () => {
    await api('POST', `/api/v1/subscriptions/${subscriptionId}/suspend`, {});
    const res = await sub('?format=singbox');
    expect(res.statusCode).toBe(200);
    const config = res.json();
    const servers = config.outbounds.filter((o: { server?: string }) => o.server);
    expect(servers).toEqual([expect.objectContaining({ server: '127.0.0.1', server_port: 1, tag: '⛔ subscription suspended' })]);
    expect(config.outbounds.find((o: { tag: string }) => o.tag === 'proxy').outbounds).toEqual(['⛔ subscription suspended']);
    expect(Buffer.from(String(res.headers['profile-title']).replace(/^base64:/, ''), 'base64').toString()).toBe('boxfleet · alice (subscription suspended)');
    expect(parse((await sub('?format=clash')).body).proxies).toHaveLength(1);
    expect(Buffer.from((await sub()).body, 'base64').toString()).toMatch(/^ss:\/\/[^\n]*@127\.0\.0\.1:1#/);
    await api('POST', `/api/v1/subscriptions/${subscriptionId}/resume`, {});
    expect(Buffer.from((await sub()).body, 'base64').toString().split('\n')).toHaveLength(7);
  });

  it('stops answering the old token once it is rotated', async () => {
    const old = token;
    token = (await api('POST', `/api/v1/users/${userId}/token/rotate`, {})).sub_token;
    expect((await hub.app.inject({ method: 'GET', url: `/sub/${old}` })).statusCode).toBe(404);
    expect((await sub()).statusCode).toBe(200);
  });

  it('limits requests per token', async () => {
    const other = randomBytes(32).toString('base64url');
    const codes: number[] = [];
    for (let i = 0; i < 61; i++) codes.push((await hub.app.inject({ method: 'GET', url: `/sub/${other}` })).statusCode);
    expect(codes.slice(0, 60).every((c) => c === 404)).toBe(true);
    const limited = await hub.app.inject({ method: 'GET', url: `/sub/${other}` });
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('HUB_ERR_RATE_LIMITED');
    expect(limited.body).not.toContain(other);
    // Another token from the same address is still served.
    expect((await sub()).statusCode).toBe(200);
  });
});

describe('GET /sub/:token in the request log', () => {
  it('names the route pattern, never the token', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = winston.createLogger({ level: 'debug', format: winston.format.json(), transports: [new winston.transports.Stream({ stream })] });
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxfleet-sub-log-'));
    const config = resolveHubConfig({ data_dir: dataDir, jobs_enabled: false, log_level: 'debug' }, {});
    const app = await buildApp({ config, logger });
    try {
      const user = await User.query(app.db).insertAndFetch({ name: 'bob', note: '', status: 'active', ...newCredentials() });
      const unknown = randomBytes(32).toString('base64url');
      for (const url of [`/sub/${user.sub_token}`, `/sub/${user.sub_token}/qr.svg`, `/sub/${unknown}`, `/sub/${unknown}/qr.png`]) {
        expect((await app.inject({ method: 'GET', url })).statusCode).toBeLessThan(500);
      }
      const log = lines.join('');
      expect(log).toContain('/sub/:token');
      expect(log).not.toContain(user.sub_token);
      expect(log).not.toContain(unknown);
    } finally {
      await app.close();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
