// The hub side of health-probe: the `probes` job reads a real agent's scheduled probe results,
// unlock report and inventory into the database; GET /api/v1/nodes/:id/probes serves them; the
// unlock marks appear in /sub entry names through sub_entry_name_template and change on the next
// request after the node's unlock results change (the /sub body cache must not keep old names).
// Real agent process (the ledger and singbox-config doubles), loopback services standing in for
// Netflix and OpenAI, hub on SQLite.
import http from 'node:http';
import type net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAgentProcess, type AgentProcess } from '../support/agent-process.js';
import { startTestHub, type TestHub } from '../support/hub.js';
import { until } from '../support/until.js';
import { makeFixture, parseLink } from '../unit/hub/subscription.helpers.js';
import { enroll, fixture, nodeCommand, seedPlan, seedUser } from './jobs.suite.js';

const NODE = 'probe-node';
let serving = true;
const services = http.createServer((req, res) => {
  if (req.url === '/ok') return res.writeHead(200).end('ok');
  if (req.url === '/netflix') return serving ? res.writeHead(200).end('<meta property="og:video">') : res.writeHead(404).end();
  if (req.url === '/openai/api') return res.writeHead(serving ? 200 : 403).end(serving ? '{}' : '{"cancelled":"unsupported_country"}');
  if (req.url === '/openai/ios') return res.writeHead(403).end('{"cf_details":"Request is not allowed."}');
  if (req.url === '/openai/trace') return res.writeHead(200).end('loc=HK\n');
  res.writeHead(404).end();
});

describe('probe results on the hub: storage, API, entry names', () => {
  const clock = { now: Date.UTC(2031, 4, 6, 10, 30) };
  let agent: AgentProcess;
  let hub: TestHub;
  let base: string;
  let token: string;

  const runProbes = async () => {
    clock.now += 301_000;
    const run = await hub.app.jobs.run('probes');
    expect(run.ran).toBe(true);
    return (run as { result: Record<string, number> }).result;
  };
  const stored = async (role: 'viewer' | 'admin' = 'viewer') => {
    const res = await hub.app.inject({ method: 'GET', url: `/api/v1/nodes/${NODE}/probes`, headers: await hub.as(role) });
    expect(res.statusCode, res.body).toBe(200);
    return res.json();
  };
  const entryNames = async () => {
    const res = await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=links` });
    expect(res.statusCode, res.body).toBe(200);
    return res.body.split('\n').map((link) => parseLink(link).name);
  };

  beforeAll(async () => {
    await new Promise<void>((resolve) => services.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(services.address() as net.AddressInfo).port}`;
    [agent, hub] = await Promise.all([
      startAgentProcess({
        nodeId: NODE,
        configure: (config) => {
          config.plugins = {
            'clash-stats': { module: fixture('fake-ledger.js') },
            'singbox-config': { module: fixture('fake-singbox.js') },
            'health-probe': {
              probes: [{ name: 'web', kind: 'http', url: `${base}/ok`, expect_status: [200], interval_s: 1 }],
              inventory_at_start: false,
              unlock: {
                first_run_s: 0,
                checks: {
                  netflix: { requests: [{ url: `${base}/netflix` }] },
                  openai: { requests: [{ url: `${base}/openai/api` }, { url: `${base}/openai/ios` }, { url: `${base}/openai/trace` }] },
                  disney: null,
                  youtube_premium: null,
                  claude: null,
                },
              },
            },
          };
          config.reload_on_change = false;
        },
      }),
      startTestHub('sqlite', { clock: () => clock.now, config: { sub_entry_name_template: '{node} | {unlock}' } }),
    ]);
    await enroll(hub, agent, { tags: ['hk'] });
    await until('the first unlock run', async () => (await nodeCommand(hub, NODE, 'health-probe.results')).unlock ?? undefined);

    // The node serves a config, and a user's plan reaches it.
    const { base: config } = await makeFixture();
    const version = await hub.app.inject({ method: 'POST', url: '/api/v1/configs', headers: hub.auth, payload: { config, comment: 'v1' } });
    await hub.app.db('nodes').where({ id: NODE }).update({ applied_config_version: version.json().id, health: 'online' });
    const planId = await seedPlan(hub.app.db, 'hk', { tags: ['hk'] });
    const { userId } = await seedUser(hub.app.db, 'reader', { planId, now: clock.now });
    token = (await hub.app.db('users').where({ id: userId }).first('sub_token')).sub_token;
  }, 60_000);

  afterAll(async () => {
    await hub?.close();
    await agent?.stop();
    services.close();
  });

  it('stores what the node reports and serves it to viewers: probes with history, unlock results with evidence, inventory', async () => {
    expect(await stored()).toMatchObject({ probes: [], unlock: null, inventory: null, unlock_marks: null, checked_at: null });
    expect(await runProbes()).toEqual({ nodes: 1, answered: 1, failed: 0 });
    const probes = await stored();
    expect(probes.probes).toEqual([
      expect.objectContaining({ name: 'web', kind: 'http', target: `${base}/ok`, interval_s: 1, latest: expect.objectContaining({ ok: true, status: 200 }) }),
    ]);
    expect(probes.probes[0].history.length).toBeGreaterThanOrEqual(1);
    expect(probes.unlock.results.map((r: { id: string; result: string; region: string | null }) => [r.id, r.result, r.region])).toEqual([
      ['netflix', 'available', null],
      ['openai', 'available', 'HK'],
    ]);
    expect(probes.unlock.results[0].evidence).toMatchObject({ rule: 'licensed title page served', requests: [{ url: `${base}/netflix`, status: 200 }] });
    expect(probes.unlock_marks).toBe('NF GPT');
    expect(probes.inventory).toMatchObject({ os: { platform: 'linux' }, cpu: { cores: expect.any(Number) } });
    expect(probes).toMatchObject({ error: null, probes_at: new Date(clock.now).toISOString(), inventory_at: new Date(clock.now).toISOString() });
  });

  it('reads the inventory again only once a day', async () => {
    const before = (await stored()).inventory_at;
    await runProbes();
    expect((await stored()).inventory_at).toBe(before);
  });

  it('names subscription entries by the template, and renames them on the next request once the unlock results change', async () => {
    const names = await entryNames();
    expect(names.every((n) => n.startsWith('probe-node | NF GPT'))).toBe(true);

    serving = false;
    await nodeCommand(hub, NODE, 'health-probe.unlock', {});
    await runProbes();
    expect((await stored()).unlock_marks).toBeNull();
    const after = await entryNames();
    expect(after).toHaveLength(names.length);
    // "{node} | {unlock}" with no marks: the dangling separator goes.
    expect(after.every((n) => n.startsWith('probe-node') && !n.includes('|'))).toBe(true);
  });

  it('lets viewers read but not probe: the probe commands need the operator role', async () => {
    const res = await hub.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${NODE}/commands/health-probe.tcp`,
      headers: await hub.as('viewer'),
      payload: { host: '127.0.0.1', port: 22 },
    });
    expect(res.statusCode).toBe(403);
    // An operator is refused too, by the node: its own loopback is not a target.
    const operator = await hub.app.inject({
      method: 'POST',
      url: `/api/v1/nodes/${NODE}/commands/health-probe.tcp`,
      headers: await hub.as('operator'),
      payload: { host: 'localhost', port: 22 },
    });
    expect(operator.statusCode).toBe(403);
    expect(operator.body).toMatch(/loopback, link-local or private/);
  });

  it('keeps what a node reported before when it stops answering, with the error', async () => {
    const before = await stored();
    await agent.stop();
    expect(await runProbes()).toEqual({ nodes: 1, answered: 0, failed: 1 });
    const after = await stored();
    expect(after.error).toMatch(/unreachable|ECONNREFUSED|UNAVAILABLE/i);
    expect(after.unlock).toEqual(before.unlock);
    expect(after.probes).toEqual(before.probes);
  });
});
