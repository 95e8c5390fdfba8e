// A sing-box profile template checked by the real `sing-box check` on the hub: a template adding a
// DNS rule and an ad-blocking rule set is saved, and /sub serves it, and that very profile passes
// sing-box check; a template sing-box refuses is refused with sing-box's own message and the line.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Node } from '../../hub/db/models.js';
import { DEFAULT_SINGBOX_TEMPLATE } from '../../hub/subscriptions/formats/singbox.js';
import { singboxBin } from '../support/real-components.js';
import { ownerApi, startTestHub, type TestHub } from '../support/hub.js';
import { makeFixture } from '../unit/hub/subscription.helpers.js';

const run = promisify(execFile);

describe('sing-box profile templates, checked by sing-box', () => {
  let hub: TestHub;
  let token: string;

  beforeAll(async () => {
    hub = await startTestHub('sqlite', { config: { sub_singbox_binary: singboxBin() } });
    const { base } = await makeFixture();
    const version = (await ownerApi(hub, 'POST', '/api/v1/configs', { config: base })).id;
    await Node.query(hub.app.db).insert({ id: 'hk-1', name: 'HK 1', tags: ['hk'], address: '203.0.113.10:50051', token: 'x', multiplier: 1, enabled: true, health: 'online', applied_config_version: version });
    const plan = await ownerApi(hub, 'POST', '/api/v1/plans', { name: 'hk', traffic_limit_bytes: 2 ** 30, duration_days: 30, node_tags: ['hk'] });
    const user = await ownerApi(hub, 'POST', '/api/v1/users', { name: 'sb' });
    await ownerApi(hub, 'POST', '/api/v1/subscriptions', { user_id: user.id, plan_id: plan.id });
    token = (await ownerApi(hub, 'GET', `/api/v1/users/${user.id}/credentials`)).sub_token;
  });
  afterAll(async () => {
    await hub?.close();
  });

  it('saves a template adding a DNS rule and an ad-blocking rule set; /sub serves it and it passes sing-box check', async () => {
    const doc = JSON.parse(DEFAULT_SINGBOX_TEMPLATE);
    doc.dns.rules = [{ domain_suffix: ['corp.example'], server: 'local' }];
    doc.route.rule_set = [{ type: 'remote', tag: 'ads', format: 'binary', url: 'https://rules.example/ads.srs', download_detour: 'proxy' }];
    doc.route.rules.push({ rule_set: 'ads', action: 'reject' });
    const saved = await ownerApi(hub, 'PUT', '/api/v1/profile-templates/singbox', { template: JSON.stringify(doc, null, 2) });
    expect(saved.check).toEqual({ ok: true, checker: 'sing-box check' });

    const body = (await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=singbox` })).body;
    const profile = JSON.parse(body);
    expect(profile.dns.rules).toEqual([{ domain_suffix: ['corp.example'], server: 'local' }]);
    expect(profile.route.rules.at(-1)).toEqual({ rule_set: 'ads', action: 'reject' });
    expect(profile.outbounds.filter((o: { server?: string }) => o.server)).toHaveLength(7);
    // The served body itself, through sing-box check on its own.
    const child = run(singboxBin(), ['check', '-c', 'stdin']);
    child.child.stdin!.end(body);
    await expect(child).resolves.toMatchObject({ stderr: '' });
  });

  it("refuses a template sing-box check refuses, with sing-box's message and the line, and keeps serving the saved one", async () => {
    const before = (await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=singbox` })).body;
    const template = DEFAULT_SINGBOX_TEMPLATE.replace('{ "type": "local", "tag": "local" }', '{ "type": "local", "tag": "local", "strategy": "prefer_ipv4" }');
    const res = await hub.app.inject({ method: 'PUT', url: '/api/v1/profile-templates/singbox', headers: hub.auth, payload: { template } });
    expect(res.statusCode).toBe(400);
    const line = template.split('\n').findIndex((l) => l.includes('prefer_ipv4')) + 1;
    expect(res.json().message).toMatch(new RegExp(`^the singbox template is refused: line ${line}: sing-box check: decode config at stdin: dns\\.servers\\[1\\]\\.strategy: json: unknown field "strategy"$`));
    expect((await hub.app.inject({ method: 'GET', url: `/sub/${token}?format=singbox` })).body).toBe(before);
  });
});
